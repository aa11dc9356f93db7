"""A real tiny simulated deliberation on the embedded local model (SmolLM2-135M-Instruct, CPU).

One honest persona (played by the model) and one member of the coordinated bloc deliberate on one prompt. The graph must validate and
carry cards, votes and wisdom edges with provenance; a rerun must recompute nothing; deleted units must be the only
ones recomputed; a run stopped part way must resume to the same graph.
"""
import json
from pathlib import Path
import pytest
from wisemodel.deliberate import (deliberate, deliberate_stage, load_deliberation_config, load_personas, load_prompts,
                                  choose_participants, StopDeliberation)
from wisemodel.graph import MoralGraph, VERDICTS

PROMPT = load_prompts()[0]          # the first shipped prompt


def _config(tmp):
    # A fresh LLM call cache, so the first run really generates with the model. The interview is kept short (no lint
    # revision, no second guess, no retries of the card writer) so the run takes minutes on a shared CPU.
    return {"n_personas": 2, "n_prompts": 1, "adversarial_fraction": 0.5, "pairs_per_participant": 2, "seed": 0,
            "articulate": {"lint_rounds": 0, "max_revisions": 0},
            "llm": {"default": {"cache_path": str(tmp / "calls.sqlite")}, "interviewer": {"structured_retries": 0}}}


def _comparable(graph: MoralGraph) -> dict:
    "The graph as JSON, without the wall-clock `created` times and the units folder."
    data = json.loads(json.dumps(graph.to_json(), default=str))   # a deep copy: to_json shares the graph's meta
    for table in data.values():
        if isinstance(table, list):
            for row in table:
                if isinstance(row, dict): row.pop("created", None)
    data.get("meta", {}).pop("units", None)
    return data


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deliberate")
    config = _config(tmp)
    metrics = deliberate_stage(config, tmp / "run", progress=False)
    return tmp, config, metrics, MoralGraph.load(tmp / "run" / "graph")


def test_graph_has_cards_votes_edges_with_provenance(run):
    tmp, config, metrics, g = run
    g.validate()
    participants = set(g.participants.participant_id)
    assert participants == {"amara", "adv-rhea"}
    assert len(g.cards) == 2 and set(g.cards.prompt_id) == {PROMPT.id}
    assert all(a == [c.split("--")[1]] for a, c in zip(g.cards.authors, g.cards.card_id))
    assert g.cards.created.notna().all()
    honest_cards = g.cards[g.cards.card_id != f"{PROMPT.id}--adv-rhea"]
    assert honest_cards.source.str.contains("SmolLM2-135M-Instruct").all()
    assert set(g.cards.canonical_id) <= set(g.cards.card_id)
    # votes: every participant at least endorses their own (canonical) card
    assert set(g.votes.participant_id) == participants and (g.votes["count"] == 1).all()
    # edges: real verdicts, stories and reasons from named participants, each with its relate impression
    assert len(g.edges) >= 1 and set(g.edges.verdict) <= set(VERDICTS)
    assert g.edges.participant_id.notna().all() and (g.edges.story.str.len() > 0).all()
    assert len(g.impressions[g.impressions.stage == "relate"]) == len(g.edges)
    context_id = PROMPT.context_id or f"ctx-{PROMPT.id}"
    assert set(g.edges.context_id) == {context_id} and set(g.contexts.context_id) == {context_id}
    demo = json.loads(g.participants.set_index("participant_id").demographics["amara"])
    assert demo["simulated"] and demo["played_by"] == "SmolLM2-135M-Instruct"
    assert g.meta["llms"]["participant"]["model"] == "SmolLM2-135M-Instruct"
    # the interview transcripts are kept beside the graph
    unit = json.loads((tmp / "run" / "deliberate" / "articulate" / PROMPT.id / "amara.json").read_text())
    assert len(unit["result"]["transcript"]) >= 2
    # metrics
    saved = json.loads((tmp / "run" / "deliberate" / "metrics.json").read_text())
    assert saved["n_edges"] == len(g.edges) and saved["n_cards"] == 2 and saved["n_votes"] == len(g.votes)
    assert saved["llm_calls_total"] > 0 and saved["tokens"] > 0 and saved["wall_time_s"] > 0
    assert saved["units_resumed"] == {}


def test_rerun_recomputes_nothing(run):
    tmp, config, metrics, g = run
    again = deliberate_stage(config, tmp / "run", progress=False)
    assert again["llm_calls_total"] == 0 and again["units_computed"] == {}
    assert sum(again["units_resumed"].values()) == sum(metrics["units_computed"].values())
    assert MoralGraph.load(tmp / "run" / "graph").equals(g)


def test_deleted_units_are_the_only_ones_recomputed(run):
    tmp, config, metrics, g = run
    units = tmp / "run" / "deliberate"
    (units / "select" / PROMPT.id / "amara.json").unlink()
    judged = sorted((units / "relate" / PROMPT.id / "amara").glob("*.json"))
    assert judged, "amara judged no hypothesis"
    judged[0].unlink()
    again = deliberate_stage(config, tmp / "run", progress=False)
    assert again["units_computed"] == {"select": 1, "relate": 1}
    assert again["llm_calls"] == {"participant": 2}
    # the LLM cache replays the same answers, so only the timestamps of the redone units differ
    assert _comparable(MoralGraph.load(tmp / "run" / "graph")) == _comparable(g)


def test_stopped_run_resumes_to_the_same_graph(run):
    tmp, config, metrics, g = run
    cfg = load_deliberation_config(config)
    personas = choose_participants(load_personas(), cfg.n_personas, cfg.adversarial_fraction)
    prompts = load_prompts()[:cfg.n_prompts]
    out = tmp / "stopped"
    with pytest.raises(StopDeliberation):
        deliberate(prompts, personas, cfg, out, progress=False, stop_after=4)
    done = [p for p in out.rglob("*.json") if p.name not in ("config.json", "metrics.json")]
    assert len(done) == 4
    graph = deliberate(prompts, personas, cfg, out, progress=False)
    resumed = json.loads((out / "metrics.json").read_text())
    assert sum(resumed["units_resumed"].values()) == 4
    assert sum(resumed["units_computed"].values()) == sum(metrics["units_computed"].values()) - 4
    assert _comparable(graph) == _comparable(g)
