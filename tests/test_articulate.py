"""Articulation end to end with the embedded SmolLM2 model: a short real interview gives a valid card and its transcript."""
import json, subprocess, sys, textwrap
from pathlib import Path

import pytest

from wisemodel.articulate import (Articulation, ScriptedParticipant, SimulatedParticipant, Stage, articulate, start,
                                  step)
from wisemodel.cards import ValuesCard, lint
from wisemodel.llm import get_llm

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "My 10-year-old son refuses to do his homework. How can I make him behave?"
ANSWERS = ["When my daughter failed a test I sat down with her instead of shouting, and she told me she felt stupid.",
           "That she could tell me the truth without being afraid of me.",
           "Her face when she is ashamed, the moments she starts to explain, my own urge to lecture her."]
SHORT = dict(max_turns=5, max_revisions=0, lint_rounds=0, max_tokens=160)


@pytest.fixture(scope="module")
def interview():
    return articulate(PROMPT, ScriptedParticipant(ANSWERS, name="alice"), llm=get_llm("interviewer"), **SHORT)


def test_real_interview_gives_a_valid_card_with_transcript(interview):
    a = interview
    card = ValuesCard.model_validate(a.card.model_dump())          # schema-valid
    assert 3 <= len(card.policies) <= 7 and card.title.strip() and card.description.strip()
    assert not [f for f in lint(card) if f.severity == "error"], lint(card)   # repairs leave no lint errors
    assert a.lint_after == lint(card)
    assert all("meaningful" not in p.lower() for p in card.policies)
    assert card.provenance.authors == ["alice"] and card.provenance.prompt == PROMPT
    assert card.provenance.source == "articulate"
    stages = [t.stage for t in a.transcript]
    assert stages[0] is Stage.STORY and stages[-1] is Stage.SUBMIT
    assert [t.text for t in a.transcript if t.role == "participant"][:3] == ANSWERS
    assert {Stage.ZOOM, Stage.POLICIES, Stage.CONFIRM} <= set(stages)
    assert a.drafts and a.drafts[-1].policies == card.policies


def test_same_interview_same_card(interview):
    "Greedy decoding, a fixed seed and the call cache: rerunning the interview gives the same card."
    again = articulate(PROMPT, ScriptedParticipant(ANSWERS, name="alice"), llm=get_llm("interviewer"), **SHORT)
    assert again.card == interview.card and again.transcript == interview.transcript


def test_articulation_round_trips_with_transcript(interview, tmp_path):
    path = interview.save(tmp_path / "alice.json")
    data = json.loads(path.read_text())
    assert {"card", "transcript", "lint_before", "lint_after", "repairs", "drafts"} <= set(data)
    assert set(data["transcript"][0]) == {"role", "stage", "text"}
    assert Articulation.load(path) == interview


def test_a_person_in_a_terminal(interview):
    "A HumanParticipant reading answers from stdin in a terminal goes through the same interview."
    code = textwrap.dedent(f"""
        from wisemodel.articulate import HumanParticipant, articulate
        from wisemodel.llm import get_llm
        a = articulate({PROMPT!r}, HumanParticipant(name="alice"), llm=get_llm("interviewer"), **{SHORT!r})
        print("CARD " + a.card.model_dump_json())""")
    res = subprocess.run([sys.executable, "-c", code], input="\n".join(ANSWERS + ["yes"]) + "\n",
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "What happened" in res.stdout and "Does this capture it?" in res.stdout
    card = ValuesCard.model_validate_json(res.stdout.split("CARD ", 1)[1])
    assert card == interview.card


def test_simulated_participant_sees_the_interview_from_its_side():
    sp = SimulatedParticipant("a nurse who raised three children alone", llm=get_llm("participant"))
    state, q = start(PROMPT)
    state, q2 = step(state, "I once stayed up all night with my son.")
    msgs = sp.messages(q2, state.transcript)
    assert msgs[0]["role"] == "system" and "a nurse who raised three children alone" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user"] and msgs[-1]["content"] == q2
