"""Aggregation end to end: Γ_h per context on saved and MAI graphs, baselines against networkx, cycles, unwinding, CLI."""
import json, subprocess, sys
from pathlib import Path
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import wisemodel.cli_aggregate  # noqa: F401  (registers the commands)
from wisemodel.aggregate import (_tables, wise_values, rank, find_cycles, unwind, manipulation_study, gamma_networkx, random_graph,
                                 bench_aggregate, LABELS)
from wisemodel.cli import cli
from wisemodel.core import InputError
from wisemodel.graph import MoralGraph, example_graph, read_graph, edge_stats

ROOT = Path(__file__).resolve().parents[1]
MAI = ROOT / "data" / "mai" / "example_summary.json"
EXAMPLE = ROOT / "data" / "example_graph"


def chain_graph() -> MoralGraph:
    "Alice judged Betty's card wiser than hers, Betty judged Carla's wiser than hers."
    g = MoralGraph()
    for p in ("alice", "betty", "carla"): g.add_participant(p, group="g")
    g.add_prompt("p", "A hard question.")
    g.add_context("x", "When someone asks a hard question")
    for c, who in (("a", "alice"), ("b", "betty"), ("c", "carla")):
        g.add_card(c, title=f"Card {c}", description="d", policies=["THINGS to notice"], contexts=["x"], prompt="p")
        g.add_vote(who, "p", c)
    g.add_edge("alice", "x", "a", "b")
    g.add_edge("betty", "x", "b", "c")
    return g


def test_alice_support_reaches_carla_with_two_hops():
    g = chain_graph()
    share = {h: wise_values(g, h).assign(card_id=lambda d: d.card_id.astype(str)).set_index("card_id").share for h in (0, 1, 2, "inf")}
    assert share[0]["c"] == pytest.approx(1 / 3)          # Carla's own vote
    assert share[1]["c"] == pytest.approx(2 / 3)          # + Betty, one hop
    assert share[2]["c"] == pytest.approx(1.0)            # + Alice, two hops
    assert share["inf"]["c"] == pytest.approx(1.0)
    top = wise_values(g, "inf")
    assert top.card_id.iloc[0] == "c" and top.label.iloc[0] == "broadly supported"
    assert top.score.iloc[0] == pytest.approx(1 + 0.85 + 0.85 ** 2)


def test_example_graph_ranked_per_context():
    g = example_graph()
    wv = wise_values(g, "inf")
    assert set(wv.context_id.astype(str)) == set(g.contexts.context_id)
    assert wv.share.between(0, 1).all() and (wv.propagated >= -1e-12).all()
    assert set(wv.label.astype(str)) <= set(LABELS)
    for _, grp in wv.groupby(wv.context_id.astype(str)):
        assert list(grp["rank"]) == list(range(1, len(grp) + 1)) and grp.score.is_monotonic_decreasing
    # h = 0 is the raw vote count
    h0, votes = wise_values(g, 0), rank(g, "votes")
    assert np.allclose(h0.score.to_numpy(), votes.score.to_numpy()) and list(h0.card_id) == list(votes.card_id)


def test_gamma_matches_networkx_katz():
    for g in (example_graph(), random_graph(3000, seed=3), read_graph(MAI)):
        for h in (2, "inf"):
            wv = wise_values(g, h, share=False, labels=False)
            ref = gamma_networkx(g, h)
            ctx = wv.context_id.astype(object).where(wv.context_id.notna(), "(no context)")
            theirs = np.array([ref[(x, c)] for x, c in zip(ctx, wv.card_id.astype(object))])
            assert np.allclose(wv.score.to_numpy(), theirs, rtol=1e-6)


def test_pagerank_matches_networkx_per_context():
    g = example_graph()
    pr = rank(g, "pagerank")
    stats = edge_stats(g)
    stats["agreement"] = stats.wiser / (stats.wiser + stats.not_wiser + stats.unsure + stats.less_wise)
    votes = _tables(g).votes.groupby("card_id")["count"].sum()     # merged cards' votes count on their canonical card
    for x, grp in pr.groupby(pr.context_id.astype(str)):
        G = nx.DiGraph()
        G.add_nodes_from(grp.card_id.astype(str))
        for r in stats[(stats.context_id == x) & (stats.agreement > 0.5)].itertuples():
            G.add_edge(r.from_card, r.to_card, weight=r.agreement)
        ref = nx.pagerank(G, alpha=0.85, personalization={c: votes.get(c, 0) for c in G}, weight="weight", tol=1e-13)
        mine = grp.set_index(grp.card_id.astype(str)).score
        assert mine.sum() == pytest.approx(1.0)
        for c in G: assert mine[c] == pytest.approx(ref[c], abs=1e-8)


def test_mai_graph_without_votes_ranks_on_uniform_prior():
    g = read_graph(MAI)
    assert len(g.votes) == 0 and len(g.participants) == 0
    wv = wise_values(g, "inf")
    assert (wv.unit.astype(str) == "card").all() and (wv.direct == 1).all()
    x = "When someone is grieving"
    one = wise_values(g, "inf", context=x)
    assert set(one.context_id.astype(str)) == {x}
    assert one.card_id.iloc[0] == "23"                        # Calm Attention: where the context's gradient flows
    with pytest.raises(InputError, match="participant groups"): rank(g, "bridging")


def _inject_conflict(tmp_path) -> Path:
    "The MAI example with a two-way conflict added on a pair that had none: 14 <-> 17 in 'creative work'."
    doc = json.loads(MAI.read_text())
    e = next(e for e in doc["edges"] if (e["sourceValueId"], e["wiserValueId"]) == (14, 17))
    n = e["counts"]["markedWiser"]
    e["counts"]["markedLessWise"] = n
    doc["edges"].append({"sourceValueId": 17, "wiserValueId": 14, "contexts": e["contexts"],
                         "counts": {"markedWiser": n, "markedNotWiser": 0, "markedLessWise": n, "markedUnsure": 0, "impressions": n}})
    path = tmp_path / "conflict.json"
    path.write_text(json.dumps(doc))
    return path


def test_injected_two_way_conflict_is_reported(tmp_path):
    before = {c for c in find_cycles(read_graph(MAI)).cards.map(tuple)}
    assert ("14", "17") not in before
    path = _inject_conflict(tmp_path)
    cy = find_cycles(read_graph(path))
    hit = cy[cy.cards.map(lambda c: {"14", "17"} <= set(c))]
    assert len(hit) == 1 and hit.context_id.iloc[0] == "When someone shares creative work"
    edges = pd.DataFrame(hit.edges.iloc[0])
    assert {("14", "17"), ("17", "14")} <= set(zip(edges["from_card"], edges["to_card"]))
    res = CliRunner().invoke(cli, ["graph", "cycles", str(path), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert any({"14", "17"} <= set(r["cards"]) and r["context_id"] == "When someone shares creative work" and r["edges"] for r in rows)


def test_unwind_never_changes_the_raw_graph():
    g = example_graph()
    raw = g.copy()
    assert len(find_cycles(g)) > 0
    for policy in ("drop_balanced", "drop_edges_and_votes", "flag"):
        derived, log = unwind(g, policy)
        assert g.equals(raw) if hasattr(g, "equals") else all(getattr(g, t).equals(getattr(raw, t)) for t in ("edges", "votes"))
        assert len(log) > 0
        if policy != "flag":
            assert len(find_cycles(derived)) == 0 and len(derived.edges) < len(g.edges)
            assert set(log.reason.astype(str)) and log.action.iloc[0] == "dropped wiser judgements"
        else:
            assert {"cycle", "suspect"} <= set(derived.edges.columns) and len(derived.edges) == len(g.edges)
    with pytest.raises(InputError): unwind(g, "nope")


def test_manipulation_study_shapes_and_detector():
    ms = manipulation_study(example_graph(), qs=(0, 0.1, 0.5), seed=1)
    assert {"q", "method", "kendall_tau", "top1_unchanged", "topk_overlap", "injected_top1",
            "detector_precision", "detector_recall"} <= set(ms.columns)
    assert (ms[ms.q == 0].kendall_tau == 1).all()
    assert ms[ms.q == 0.1].detector_recall.iloc[0] > 0
    assert ms[(ms.q == 0.5) & (ms.method == "votes")].injected_top1.item() == 1


def test_cli_rank_json_and_errors():
    r = CliRunner().invoke(cli, ["graph", "rank", str(MAI), "--context", "When someone is grieving", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[0]["card_id"] == "23" and rows[0]["rank"] == 1 and {"score", "direct", "propagated", "share", "title"} <= set(rows[0])
    r = CliRunner().invoke(cli, ["graph", "rank", str(EXAMPLE), "--method", "pagerank", "--hops", "3", "--json"])
    assert r.exit_code == 0 and {row["method"] for row in json.loads(r.output)} == {"pagerank"}
    r = CliRunner().invoke(cli, ["graph", "rank", str(MAI), "--context", "When nobody asked"])
    assert r.exit_code == 2 and "When someone is grieving" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["graph", "rank", str(EXAMPLE), "--hops", "many"])
    assert r.exit_code == 2 and "inf" in r.output


def test_cli_for_real_and_bench(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-c", "from wisemodel.cli import main; main()", *a], cwd=ROOT,
                                    capture_output=True, text=True)
    r = run("graph", "rank", str(EXAMPLE), "--hops", "inf", "--top", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == len(example_graph().contexts)
    r = run("graph", "rank", str(EXAMPLE), "--context", "nowhere")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "frightened-person" in r.stderr
    r = run("bench", "aggregate", "--edges", "5000", "--nx-max-edges", "2000", "--json")
    assert r.returncode == 0, r.stderr
    b = json.loads(r.stdout)
    assert b["edges"] == 5000 and b["networkx_extrapolated"] and b["speedup_vs_networkx"] > 1
    assert b["max_rel_diff_vs_networkx"] < 1e-6 and b["peak_rss_mb"] > 0 and b["peak_traced_mb"] > 0


def test_conflict_injected_as_a_bare_reverse_edge_is_reported_as_a_cycle(tmp_path):
    "A hand-edited MAI summary: someone adds the reverse of an existing edge, without touching its markedLessWise."
    import json, warnings
    from wisemodel.graph import from_mai_summary, MAIInconsistencyWarning
    from wisemodel.aggregate import find_cycles
    doc = json.loads((Path(__file__).resolve().parents[1] / "data/mai/example_summary.json").read_text())
    listed = {(x["sourceValueId"], x["wiserValueId"]) for x in doc["edges"]}
    e = next(e for e in doc["edges"] if len(e["contexts"]) == 1 and e["counts"]["markedWiser"] >= 3
             and (e["wiserValueId"], e["sourceValueId"]) not in listed)
    a, b = e["sourceValueId"], e["wiserValueId"]
    doc["edges"].append({"sourceValueId": b, "wiserValueId": a, "contexts": e["contexts"],
                         "counts": {"markedWiser": e["counts"]["markedWiser"], "markedNotWiser": 0, "markedLessWise": 0,
                                    "markedUnsure": 0, "impressions": e["counts"]["markedWiser"]}})
    path = tmp_path / "injected.json"; path.write_text(json.dumps(doc))
    with pytest.warns(MAIInconsistencyWarning, match="markedLessWise"):
        g = from_mai_summary(path)
    cycles = find_cycles(g)
    assert any({str(a), str(b)} <= set(map(str, c)) and ctx == e["contexts"][0] for c, ctx in zip(cycles["cards"], cycles["context_id"]))


def test_a_graph_without_votes_is_never_called_supported():
    "A graph with counts only (an MAI import; cards nobody voted for) ranks on a prior and says so (#10 item 7)."
    for g in (read_graph(MAI), example_graph()):
        g.votes = g.votes.iloc[0:0]
        sl = wise_values(g, "inf")
        assert (sl.unit.astype(str) == "card").all()
        assert "broadly supported" not in set(sl.label.astype(str)) and "some support" not in set(sl.label.astype(str))
        assert "no votes" in set(sl.label.astype(str))
    res = CliRunner().invoke(cli, ["graph", "rank", str(MAI)])
    assert res.exit_code == 0, res.output
    assert "no votes: ranked on a uniform prior" in res.output and "broadly supported" not in res.output


def test_fractional_counts_weigh_like_scaled_whole_counts():
    "Counts of 0.5 (a discounted participant) rank as the whole counts do, at half the score; no judgement is lost in packing."
    import copy
    g = example_graph()
    whole = wise_values(g, "inf", share=False, labels=False)
    half = copy.copy(g)
    half.edges, half.votes = g.edges.assign(count=g.edges["count"] * 0.5), g.votes.assign(count=g.votes["count"] * 0.5)
    halved = wise_values(half, "inf", share=False, labels=False)
    assert list(halved.card_id.astype(str)) == list(whole.card_id.astype(str))
    assert np.allclose(halved.score, whole.score * 0.5) and whole.propagated.sum() > 0


def test_bridging_mf_needs_no_groups_and_is_seeded():
    from wisemodel.aggregate import endorsement_factors
    from wisemodel.simulate import simulate
    s = simulate(n_participants=200, n_cards=30, n_contexts=3, seed=5, as_graph=False)
    a, b = endorsement_factors(s.graph, seed=0), endorsement_factors(s.graph, seed=1)
    assert a.loss == pytest.approx(b.loss, rel=1e-6)                                 # the best of 4 starts: the same fit from either seed
    assert np.allclose(a.cards.intercept, b.cards.intercept, atol=1e-4)
    assert endorsement_factors(s.graph, seed=0).cards.intercept.equals(a.cards.intercept)
    r = rank(s.graph, "bridging_mf")
    assert set(r.method) == {"bridging_mf"} and r.groupby(r.context_id.astype(str)).card_id.size().eq(10).all()
    mai = rank(read_graph(MAI), "bridging_mf")                                       # counts only: nobody to factorise, every score 0
    assert (mai.score == 0).all()
