"""`wisemodel.explain` and `wisemodel chat`, for real: the example graph, all-MiniLM-L6-v2 and the embedded SmolLM2-135M."""
import json, math, os, subprocess, sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from wisemodel.cli import cli
import wisemodel.cli_chat  # noqa: F401  (registers `chat`)
from wisemodel.cli_chat import chat_session, trained_graph
from wisemodel.explain import Explanation, explain, format_explanation, legibility_hit_rate, legibility_table
from wisemodel.graph import example_graph, graph_hash
from wisemodel.llm import smollm2_checkpoint

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
G = example_graph()
PROMPT = dict(zip(G.prompts.prompt_id, G.prompts.text))

# responses written here to follow one card's attentional policies each (without quoting them)
FOLLOWS = {
    "c08": ("teen-messages", "Some withdrawal is ordinary at fifteen; what matters is whether you see signs of real danger, like "
            "self-harm or someone exploiting her. Start with the least intrusive step, such as watching and asking, and keep "
            "reading her phone for when the danger is clear. If she finds out you checked, it could cost you her trust for a long time."),
    "c11": ("gas-station-post", "Lead with reasons a thoughtful skeptic could weigh: cleaner air, and the values both sides share, "
            "like healthy kids and a thriving town. Skip the outrage that only divides people. Invite readers to check the "
            "numbers for themselves before the council vote."),
    "c05": ("unplanned-pregnancy", "Is there a friend or relative you trust who you could tell this week, so you are not carrying "
            "it alone? Your parents' reaction may turn out smaller than you fear. Whatever you decide, there are services that "
            "will support you."),
}


@pytest.mark.parametrize("card", sorted(FOLLOWS))
def test_explain_names_the_card_a_response_follows(card):
    prompt_id, response = FOLLOWS[card]
    ex = explain(G, PROMPT[prompt_id], response)
    assert ex.applied and ex.applied[0].card_id == card, format_explanation(ex)
    assert ex.cards[0].card_id == card and all(c.attention <= ex.cards[0].attention for c in ex.cards)
    assert ex.applied[0].sentence and ex.applied[0].sentence in " ".join(response.split())
    assert ex.applied[0].policy in set(G.cards.set_index("card_id").loc[card, "policies"])


def test_a_response_attending_to_nothing_applies_nothing():
    ex = explain(G, PROMPT["teen-messages"], "The weather in Lisbon is mild in spring; pack a light jacket.")
    assert ex.cards and not ex.applied
    assert format_explanation(ex).startswith("Applied: none clearly")


def _count_votes(card):
    "Votes, voters and their groups for `card`, counted row by row from the graph's tables."
    group = {p: g for p, g in zip(G.participants.participant_id, G.participants.group)}
    votes, voters = 0, set()
    for r in G.votes.itertuples():
        if r.card_id == card:
            votes += r.count
            if r.participant_id is not None: voters.add(r.participant_id)
    return votes, sorted(voters), dict(Counter(group[p] or "no group" for p in voters))


def _count_edges(context, card):
    "Judgements into `card` in `context`, from the raw edges: {from: (wiser, all judgements of the pair, wiser judges)}."
    out = {}
    for r in G.edges.itertuples():
        if r.context_id != context: continue
        if r.to_card == card:
            w, t, j = out.get(r.from_card, (0, 0, []))
            out[r.from_card] = (w + r.count * (r.verdict == "wiser"), t + r.count, j + ([r.participant_id] if r.verdict == "wiser" else []))
        elif r.from_card == card and r.verdict == "wiser":     # the reverse judgement counts among the pair's judgements
            w, t, j = out.get(r.to_card, (0, 0, []))
            out[r.to_card] = (w, t + r.count, j)
    return {k: (w, t, sorted(j)) for k, (w, t, j) in out.items() if w > 0}


@pytest.mark.parametrize("card", sorted(FOLLOWS))
def test_provenance_matches_the_graph(card):
    from wisemodel.aggregate import wise_values
    prompt_id, response = FOLLOWS[card]
    ex = explain(G, PROMPT[prompt_id], response)
    for c in ex.cards:
        votes, voters, groups = _count_votes(c.card_id)
        assert (c.votes, c.endorsers, c.endorser_groups) == (votes, voters, groups)
        edges = _count_edges(c.context_id, c.card_id)
        assert {e.from_card_id: (e.wiser, e.total, e.judges) for e in c.lifted_by} == edges
        for e in c.lifted_by: assert e.lifts == (e.wiser / e.total > 0.5)
        wv = wise_values(G, "inf", context=c.context_id).set_index("card_id")
        assert math.isclose(c.score, wv.loc[c.card_id, "score"]) and c.rank == wv.loc[c.card_id, "rank"] and c.of == len(wv)
        assert math.isclose(c.share, wv.loc[c.card_id, "share"]) and c.label == str(wv.loc[c.card_id, "label"])
        row = G.cards.set_index("card_id").loc[c.card_id]
        assert (c.title, c.policies, c.authors) == (row.title, list(row.policies), list(row.authors))
    applied = ex.applied[0]
    text = format_explanation(ex)
    assert f"endorsed by {len(applied.endorsers)} participant" in text
    for e in applied.lifted_by: assert f"{e.from_title} by {e.wiser} of {e.total} judges" in text


def test_explanation_serialises_and_reads_back():
    ex = explain(G, PROMPT["teen-messages"], FOLLOWS["c08"][1], h=1)
    doc = json.loads(json.dumps(ex.to_dict()))
    assert doc["h"] == "1" and doc["graph_hash"] == graph_hash(G)
    back = Explanation.model_validate(doc)
    assert back == ex and str(back) == str(ex)
    frame = ex.to_frame()
    assert list(frame.card_id) == [c.card_id for c in ex.cards] and frame.applied.sum() == len(ex.applied)


def test_judge_pass_with_the_embedded_model():
    ex = explain(G, PROMPT["teen-messages"], FOLLOWS["c08"][1], judge=True, k_contexts=1, n_cards=2)
    assert len(ex.cards) == 2 and all(c.judge_verdict in ("yes", "partly", "no") for c in ex.cards)
    for c in ex.cards:   # applied under the judge: yes, or partly where the embedding rule agrees
        assert c.applied == (c.judge_verdict == "yes" or (c.judge_verdict == "partly" and c.attention >= ex.threshold
                                                            and c.attention >= max(x.attention for x in ex.cards) - ex.margin))


def _row(prompt_id, chosen, rejected, cards, kind="naive", own=()):
    return dict(prompt=[{"role": "user", "content": PROMPT[prompt_id]}], chosen=[{"role": "assistant", "content": chosen}],
                rejected=[{"role": "assistant", "content": rejected}], rejected_kind=kind, card_ids=list(cards),
                rejected_card_ids=list(own), prompt_id=prompt_id)


def test_legibility_hit_rate_against_exact_chance():
    rows = [_row(p, text, "Sure, here is a direct answer with no fuss at all.", [card]) for card, (p, text) in FOLLOWS.items()]
    res = legibility_hit_rate(G, rows)
    assert res["chosen"]["n"] == 3 and res["chosen"]["hit"] == 1.0 and res["chosen"]["top1"] == 1.0
    assert res["rejected"]["naive"]["hit"] < res["chosen"]["hit"]
    # chance, recomputed from the table: with n candidates, 1 known and s applied, 1 - C(n-1, s)/C(n, s) = s/n
    table = legibility_table(G, rows)
    chosen = table[table.kind == "chosen"]
    expect = [(u.applied.sum() / len(u)) for _, u in chosen.groupby("unit")]
    assert math.isclose(res["chosen"]["hit_chance"], round(sum(expect) / len(expect), 4), abs_tol=1e-4)
    assert math.isclose(res["chosen"]["top1_chance"], round(sum(1 / len(u) for _, u in chosen.groupby("unit")) / 3, 4), abs_tol=1e-4)


def _chat(*args, input):
    return CliRunner().invoke(cli, ["chat", *map(str, args)], input=input)


def test_chat_piped_stdin_prints_answers_and_values():
    "The console script itself, stdin piped: an answer and the values section; /quit ends before the next line."
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([BIN / "wisemodel", "chat", str(smollm2_checkpoint()), "--max-tokens", "16"], cwd=ROOT, env=env,
                         input="Should I read my daughter's messages? She is 15 and withdrawn.\n/quit\nnever sent\n",
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Applied" in res.stdout and ("Considered" in res.stdout or "context:" in res.stdout), res.stdout
    assert "graph: the shipped example graph" in res.stderr
    assert res.stdout.count("Applied") == 1                   # one turn: the line after /quit was not sent


def test_chat_json_one_object_per_turn_with_history():
    res = _chat(smollm2_checkpoint(), "--max-tokens", "12", "--json", input="I'm 19, pregnant, and scared to tell my parents.\n\nWhat would you do?\n")
    assert res.exit_code == 0, res.output
    turns = [json.loads(line) for line in res.stdout.splitlines()]
    assert [t["turn"] for t in turns] == [1, 2]
    assert turns[0]["explanation"]["contexts"] and {"answer", "user", "explanation"} <= set(turns[0])
    assert turns[1]["explanation"]["prompt"].endswith("\nWhat would you do?")      # f(G, p) reads the follow-up with the question
    assert turns[1]["explanation"]["contexts"][0]["context_id"] == turns[0]["explanation"]["contexts"][0]["context_id"]


def test_chat_uses_the_graph_the_checkpoint_was_trained_on(tmp_path):
    "A checkpoint whose record (data provenance of a real synth build) names the graph: that graph, and its h."
    from wisemodel.policy import _POLICY_FILE
    from wisemodel.reward import data_provenance, load_preferences
    from wisemodel.synth import SynthConfig, synthesize
    config = SynthConfig(prompts=[], new_prompts_per_context=0, kinds=["naive"], judge=False, max_tokens=8, h=2,
                         min_attention_margin=None, graph="data/example_graph")
    synthesize(G, tmp_path / "synth", config, progress=False)
    ckpt = tmp_path / "ckpt"; ckpt.mkdir()
    for f in smollm2_checkpoint().iterdir(): (ckpt / f.name).symlink_to(f)
    prov = data_provenance(load_preferences(tmp_path / "synth" / "preference"), tmp_path / "synth" / "preference")
    (ckpt / _POLICY_FILE).write_text(json.dumps({"kind": "wisemodel-policy", "data": prov}))
    graph, note, h = trained_graph(ckpt)
    assert graph.equals(G) and h == "2" and "the one" in note and "example_graph" in note, note
    res = _chat(ckpt, "--max-tokens", "8", "--json", input="I'm 19 and pregnant and scared.\n")
    assert res.exit_code == 0, res.output
    assert "the one" in res.stderr and json.loads(res.stdout.splitlines()[0])["explanation"]["h"] == "2"
    assert json.loads(_chat(ckpt, "--max-tokens", "8", "--json", "--hops", "0", input="hi there, I'm scared\n").stdout)["explanation"]["h"] == "0"
    prov["graph_hashes"] = ["0000000000000000"]                # the graph has changed since: not taken, said so
    (ckpt / _POLICY_FILE).write_text(json.dumps({"kind": "wisemodel-policy", "data": prov}))
    graph, note, h = trained_graph(ckpt)
    assert "has changed since" in note and "NOT the graph" in note, note


def _fails(*args, words=(), after_notes=False):
    "Exit status 2 and one `error:` line on stderr, with no traceback (after the graph notes, if the failure comes mid-chat)."
    res = _chat(*args, input="hi\n")
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    assert res.exit_code == 2 and len(errors) == 1 and lines[-1] == errors[0], (res.exit_code, res.output)
    assert after_notes or len(lines) == 1, res.stderr
    assert "Traceback" not in res.output
    for w in words: assert w in errors[0], errors[0]
    return errors[0]


def test_chat_bad_input_is_one_line_and_status_2(tmp_path):
    _fails(tmp_path / "missing", words=[str(tmp_path / "missing"), "no such checkpoint folder", "Fix:"])
    (tmp_path / "empty").mkdir()
    _fails(tmp_path / "empty", words=["config.json", "Fix:"])
    _fails("--endpoint", "http://127.0.0.1:9/v1", "--model", "m", words=["--endpoint", "cannot reach", "Fix:"])
    _fails("--endpoint", "http://127.0.0.1:9/v1", words=["--model"])
    _fails(words=["CHECKPOINT"])
    _fails(smollm2_checkpoint(), "--graph", tmp_path / "nograph", words=["nograph"])


@pytest.fixture(scope="module")
def served_model():
    "A real OpenAI-compatible server (`transformers serve`) with the embedded model: (base URL, model name)."
    import shutil, socket, time, urllib.request
    exe = BIN / "transformers"
    if not exe.exists() and not shutil.which("transformers"): pytest.skip("`transformers serve` (transformers[serving]) is not installed")
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    model = str(smollm2_checkpoint())
    proc = subprocess.Popen([str(exe if exe.exists() else "transformers"), "serve", model, "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu"], env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try: urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1); break
            except OSError: time.sleep(0.5)
        else: pytest.fail("transformers serve did not come up in 2 minutes")
        yield f"http://127.0.0.1:{port}/v1", model
    finally:
        proc.terminate(); proc.wait(timeout=30)


def test_chat_with_an_openai_compatible_server(served_model):
    url, model = served_model
    res = _chat("--endpoint", url, "--model", model, "--max-tokens", "12", "--json", input="I'm 19, pregnant, and scared to tell my parents.\n")
    assert res.exit_code == 0, res.output
    turn = json.loads(res.stdout.splitlines()[0])
    assert turn["answer"] and turn["explanation"]["contexts"] and turn["explanation"]["cards"]
    line = _fails("--endpoint", url, "--model", "no-such-model", words=["--model", "HTTP 400", "Fix:"], after_notes=True)
    assert "no-such-model" in line
