"MoralGraph: the example data, lossless storage, validation messages, edge statistics and MAI summary interop."
import json, math, re, shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wisemodel.cards import lint, ValuesCard
from wisemodel.core import InputError
from wisemodel.graph import (MoralGraph, TABLES, GRAPH_SCHEMA, edge_stats, example_graph, from_mai_summary,
                             graph_summary, mai_edge_summary, read_graph, to_mai_summary, entropy_bits, MAI_COUNT_KEYS)

ROOT = Path(__file__).resolve().parents[1]
MAI_FILE = ROOT / "data" / "mai" / "example_summary.json"
EXAMPLE_JSON = ROOT / "data" / "example_graph.json"


def error(f, *args, **kw) -> InputError:
    with pytest.raises(InputError) as info: f(*args, **kw)
    return info.value


def assert_same_tables(a: MoralGraph, b: MoralGraph):
    for name in TABLES: pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.meta == b.meta


# ---------------------------------------------------------------- the example graph

def test_example_folder_is_built_from_the_readable_json():
    "data/example_graph/ holds exactly what data/example_graph.json builds (regenerate: wisemodel graph import ... --from json)."
    assert_same_tables(example_graph(), MoralGraph.from_json(EXAMPLE_JSON))


def test_example_graph_has_the_promised_shape():
    g = example_graph()
    s = graph_summary(g)
    assert s["prompts"] == 3 and 8 <= s["participants"] <= 12 and 4 <= s["contexts"] <= 6 and 10 <= s["cards"] <= 15
    assert s["judgements"] >= 25 and s["votes"] > 0 and s["impressions"] > 0
    assert g.participants.group.nunique() == 2
    assert (g.cards.canonical_id != g.cards.card_id).sum() == 1  # one card merged into another
    stats = edge_stats(g).set_index(["context_id", "from_card", "to_card"])
    # a genuine two-way conflict in one context, split by group
    a, b = stats.loc[("worried-parent", "c06", "c07")], stats.loc[("worried-parent", "c07", "c06")]
    assert a.wiser > 0 and b.wiser > 0 and a.less_wise == b.wiser
    who = g.edges.merge(g.participants, on="participant_id")
    forward = set(who.group[(who.from_card == "c06") & (who.to_card == "c07") & (who.verdict == "wiser")])
    backward = set(who.group[(who.from_card == "c07") & (who.to_card == "c06") & (who.verdict == "wiser")])
    assert forward == {"progressive"} and backward == {"conservative"}
    # chains A -> B -> C in one context, each link judged wiser on balance
    for ctx, chain in [("political-advocacy", ["c12", "c09", "c11"]), ("frightened-person", ["c01", "c03", "c05"])]:
        for x, y in zip(chain, chain[1:]): assert stats.loc[(ctx, x, y)].wiser_likelihood > 0


def test_example_cards_have_attentional_policies():
    "Each policy is led by an upper-case plural noun phrase (the lint of wisemodel.cards checks more when present)."
    g = example_graph()
    for row in g.cards.itertuples():
        assert 3 <= len(row.policies) <= 7, row.card_id
        for p in row.policies:
            lead = re.match(r"^([A-Z][A-Z'-]*(?: [A-Z][A-Z'-]*)*)\b", p)
            assert lead and lead.group(1).endswith("S") and p[len(lead.group(1)):][:1] in (" ", ","), (row.card_id, p)
    for graph in (g, from_mai_summary(MAI_FILE)):
        for cid in graph.cards.card_id:
            assert lint(graph.card(cid)) == [], (cid, lint(graph.card(cid)))


# ---------------------------------------------------------------- storage

@pytest.mark.parametrize("make", [example_graph, lambda: from_mai_summary(MAI_FILE)], ids=["example", "mai"])
def test_save_load_and_json_are_lossless(tmp_path, make):
    g = make()
    back = MoralGraph.load(g.save(tmp_path / "g"))
    assert_same_tables(back, g)
    for name, schema in GRAPH_SCHEMA.items():
        for col, kind in schema.items():
            if kind == "count": assert getattr(back, name)[col].dtype == np.int64
            if kind == "time": assert str(getattr(back, name)[col].dtype) == "datetime64[us, UTC]"
    again = MoralGraph.from_json(json.loads(json.dumps(g.to_json())))
    assert_same_tables(again, g)
    manifest = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["tables"]["edges"]["rows"] == len(g.edges)


def _saved(tmp_path) -> Path:
    return example_graph().save(tmp_path / "g")


def test_load_names_the_broken_file_and_field(tmp_path):
    folder = _saved(tmp_path)
    e = error(MoralGraph.load, tmp_path / "nowhere")
    assert "no such graph folder" in e.message
    # a dangling id inside a Parquet table: the table file, the row and the column
    edges = pd.read_parquet(folder / "edges.parquet"); edges.loc[5, "to_card"] = "c99"; edges.to_parquet(folder / "edges.parquet", index=False)
    e = error(MoralGraph.load, folder)
    assert (e.file, e.field) == (str(folder / "edges.parquet"), "edges[5].to_card") and "'c99'" in e.message
    # a count that is not a whole number
    folder = _saved(tmp_path)
    t = pq.read_table(folder / "votes.parquet")
    t = t.set_column(t.schema.get_field_index("count"), "count", pa.array([1.5] * len(t)))
    pq.write_table(t, folder / "votes.parquet")
    e = error(MoralGraph.load, folder)
    assert e.file == str(folder / "votes.parquet") and e.field == "count"
    # a missing column, a truncated table, an unreadable file, a missing file, a missing manifest, a future schema
    folder = _saved(tmp_path)
    pq.write_table(pq.read_table(folder / "cards.parquet").drop(["title"]), folder / "cards.parquet")
    e = error(MoralGraph.load, folder); assert (e.file, e.field) == (str(folder / "cards.parquet"), "title")
    folder = _saved(tmp_path)
    pd.read_parquet(folder / "votes.parquet").head(3).to_parquet(folder / "votes.parquet", index=False)
    assert "manifest says" in error(MoralGraph.load, folder).message
    folder = _saved(tmp_path)
    (folder / "edges.parquet").write_text("garbage")
    e = error(MoralGraph.load, folder); assert e.file == str(folder / "edges.parquet") and "cannot read" in e.message
    (folder / "edges.parquet").unlink()
    e = error(MoralGraph.load, folder); assert e.file == str(folder / "edges.parquet") and "missing" in e.message
    folder = _saved(tmp_path)
    m = json.loads((folder / "manifest.json").read_text()); m["schema_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(m))
    e = error(MoralGraph.load, folder); assert e.field == "schema_version" and "upgrade" in e.fix
    (folder / "manifest.json").unlink()
    assert error(MoralGraph.load, folder).file == str(folder / "manifest.json")


def test_failed_save_leaves_the_old_folder(tmp_path):
    g = example_graph()
    folder = g.save(tmp_path / "g")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    bad = g.copy(); bad.edges.loc[0, "verdict"] = "much wiser"
    error(bad.save, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["g"]  # no temporary folder left behind


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("break_it, field, words", [
    (lambda g: g.edges.__setitem__("verdict", g.edges.verdict.replace({"unsure": "maybe"})), "edges[", "is not one of"),
    (lambda g: g.edges.loc.__setitem__((3, "count"), -2), "edges[3].count", "negative"),
    (lambda g: g.edges.loc.__setitem__((4, "to_card"), g.edges.from_card[4]), "edges[4].to_card", "self-edge"),
    (lambda g: g.edges.loc.__setitem__((2, "context_id"), "moon-landing"), "edges[2].context_id", "unknown context id 'moon-landing'"),
    (lambda g: g.edges.loc.__setitem__((2, "participant_id"), "p99"), "edges[2].participant_id", "unknown participant id 'p99'"),
    (lambda g: g.votes.loc.__setitem__((1, "prompt_id"), "other"), "votes[1].prompt_id", "unknown prompt id 'other'"),
    (lambda g: g.votes.loc.__setitem__((1, "card_id"), "c77"), "votes[1].card_id", "unknown card id 'c77'"),
    (lambda g: g.impressions.loc.__setitem__((0, "stage"), "vote"), "impressions[0].stage", "is not one of"),
    (lambda g: g.cards.loc.__setitem__((2, "card_id"), "c01"), "cards[2].card_id", "appears more than once (rows 0, 2)"),
    (lambda g: g.participants.loc.__setitem__((4, "participant_id"), None), "participants[4].participant_id", "has no participant_id"),
    (lambda g: g.cards.loc.__setitem__((0, "canonical_id"), "c13"), "cards[", "itself merged into"),
], ids=["verdict", "negative", "self-edge", "context", "participant", "prompt", "card", "stage", "duplicate", "missing-id", "canonical"])
def test_validate_reports_table_row_id_and_fix(break_it, field, words):
    g = example_graph()
    break_it(g)
    e = error(g.validate)
    assert e.field.startswith(field) and words in e.message and e.fix, str(e)


def test_builders_write_contract_rows():
    g = (MoralGraph().add_participant("u1", group="a", country="NZ").add_prompt("p", "Hi").add_context("x")
         .add_card("c1", "One", policies=["MOMENTS of one"]).add_card("c2", "Two", policies=["MOMENTS of two"])
         .add_vote("u1", "p", "c1", count=3).add_impression("u1", "relate", context="x", from_card="c1", to_card="c2")
         .add_edge("u1", "x", "c1", "c2", "not_wiser", reason="no").validate())
    assert g.contexts.text.tolist() == ["x"] and json.loads(g.participants.demographics[0]) == {"country": "NZ"}
    assert g.votes["count"].tolist() == [3] and g.edges.verdict.tolist() == ["not_wiser"]
    assert list(g.edges.columns) == ["participant_id", "context_id", "from_card", "to_card", "verdict", "story", "reason",
                                     "count", "created", "group_id"]


# ---------------------------------------------------------------- edge statistics

def _reference_stats(g: MoralGraph, mai_entropy=False) -> dict:
    "A plain loop over edges, written independently of the vectorised edge_stats."
    out = {}
    for ctx, a, b in set(zip(g.edges.context_id, g.edges.from_card, g.edges.to_card)):
        def n(frm, to, verdict):
            return sum(c for x, f, t, v, c in zip(g.edges.context_id, g.edges.from_card, g.edges.to_card, g.edges.verdict, g.edges["count"])
                       if (x, f, t, v) == (ctx, frm, to, verdict))
        W, N, U, L = n(a, b, "wiser"), n(a, b, "not_wiser"), n(a, b, "unsure"), n(b, a, "wiser")
        imp = g.impressions
        I = sum(c for s, x, f, t, c in zip(imp.stage, imp.context_id, imp.from_card, imp.to_card, imp["count"]) if (s, x, f, t) == ("relate", ctx, a, b))
        ks = [W, N, U, L] + ([I] if mai_entropy else [])
        tot = sum(ks)
        H = -sum(k / tot * math.log2(k / tot) for k in ks if k) if tot else 0.0
        out[(ctx, a, b)] = (W, N, U, L, I, (W - L) / (W + N + U + L) if W + N + U + L else math.nan, H)
    return out


@pytest.mark.parametrize("mai_entropy", [False, True])
def test_edge_stats_matches_a_plain_loop(mai_entropy):
    rng = np.random.default_rng(7)
    g = MoralGraph().add_prompt("p", "?")
    for c in "abcde": g.add_card(c, c.upper(), policies=[f"MOMENTS of {c}"])
    for x in ("x1", "x2"): g.add_context(x)
    edges, imps = [], []
    for _ in range(120):
        a, b = rng.choice(list("abcde"), 2, replace=False)
        x = str(rng.choice(["x1", "x2"]))
        edges.append(dict(context_id=x, from_card=str(a), to_card=str(b), verdict=str(rng.choice(["wiser", "not_wiser", "unsure"])),
                          count=int(rng.integers(0, 4))))
        imps.append(dict(stage="relate", context_id=x, from_card=str(a), to_card=str(b), count=int(rng.integers(0, 3))))
    g = MoralGraph(prompts=g.prompts, contexts=g.contexts, cards=g.cards, edges=edges, impressions=imps).validate()
    got = edge_stats(g, mai_entropy=mai_entropy)
    ref = _reference_stats(g, mai_entropy)
    assert len(got) == len(ref)
    for r in got.itertuples(index=False):
        W, N, U, L, I, wl, H = ref[(r.context_id, r.from_card, r.to_card)]
        assert (r.wiser, r.not_wiser, r.unsure, r.less_wise, r.impressions) == (W, N, U, L, I)
        assert (math.isnan(wl) and math.isnan(r.wiser_likelihood)) or abs(r.wiser_likelihood - wl) < 1e-12
        assert abs(r.entropy - H) < 1e-12


def test_edge_stats_columns_and_types():
    s = edge_stats(example_graph())
    assert list(s.columns) == ["context_id", "from_card", "to_card", "wiser", "not_wiser", "unsure", "less_wise", "impressions", "wiser_likelihood", "entropy"]
    assert all(s[c].dtype == np.int64 for c in ["wiser", "not_wiser", "unsure", "less_wise", "impressions"])
    assert s.entropy.between(0, 2).all() and s.wiser_likelihood.between(-1, 1).all()


# ---------------------------------------------------------------- views

def test_subgraph_and_networkx():
    g = example_graph()
    left = g.subgraph(group="progressive")
    assert set(left.participants.group) == {"progressive"}
    assert set(left.edges.participant_id) <= set(left.participants.participant_id) and len(left.edges) < len(g.edges)
    teen = g.subgraph(prompt="teen-messages")
    assert set(teen.edges.context_id) == {"worried-parent"} and set(teen.votes.prompt_id) == {"teen-messages"}
    both = g.subgraph(prompt="unplanned-pregnancy", context="frightened-person", group="conservative")
    assert set(both.edges.context_id) == {"frightened-person"} and set(both.edges.participant_id) <= {"p06", "p07", "p08", "p09", "p10"}
    G = g.to_networkx()
    assert G.number_of_nodes() == len(g.cards) and G.number_of_edges() == len(edge_stats(g))
    assert set(G["c06"]["c07"]) == {"worried-parent"} and G["c06"]["c07"]["worried-parent"]["less_wise"] == 3


def test_subgraph_by_context_narrows_imported_edge_groups():
    m = from_mai_summary(MAI_FILE)
    sub = m.subgraph(context="When someone is grieving")
    groups = sub.edge_groups.set_index("group_id")
    assert all(cs == ["When someone is grieving"] for cs in groups.contexts)
    back = to_mai_summary(sub)
    assert {(e["sourceValueId"], e["wiserValueId"]) for e in back["edges"]} == {(11, 23), (52, 23), (11, 17)}


# ---------------------------------------------------------------- MAI interop

def _mai():
    return json.loads(MAI_FILE.read_text())


def test_mai_example_round_trips_exactly():
    doc = _mai()
    assert 10 <= len(doc["values"]) <= 14 and 13 <= len(doc["edges"]) <= 18
    assert any(len(e["contexts"]) > 1 for e in doc["edges"]) and all(isinstance(v["id"], int) for v in doc["values"])
    back = to_mai_summary(from_mai_summary(MAI_FILE))
    assert back["values"] == doc["values"]
    assert [(e["sourceValueId"], e["wiserValueId"], e["contexts"], e["counts"]) for e in back["edges"]] == \
           [(e["sourceValueId"], e["wiserValueId"], e["contexts"], e["counts"]) for e in doc["edges"]]
    for ours, theirs in zip(back["edges"], doc["edges"]):
        for k in ("wiserLikelihood", "entropy"): assert abs(ours["summary"][k] - theirs["summary"][k]) < 1e-9


def test_mai_numbers_reproduced_per_context_in_compatibility_mode():
    doc = _mai()
    m = from_mai_summary(doc)
    compat = edge_stats(m, mai_entropy=True).set_index(["context_id", "from_card", "to_card"])
    correct = edge_stats(m).set_index(["context_id", "from_card", "to_card"])
    for e in doc["edges"]:
        for ctx in e["contexts"]:
            key = (ctx, str(e["sourceValueId"]), str(e["wiserValueId"]))
            row = compat.loc[key]
            c = e["counts"]
            assert (row.wiser, row.not_wiser, row.unsure, row.less_wise, row.impressions) == \
                   (c["markedWiser"], c["markedNotWiser"], c["markedUnsure"], c["markedLessWise"], c["impressions"])
            assert abs(row.wiser_likelihood - e["summary"]["wiserLikelihood"]) < 1e-9
            assert abs(row.entropy - e["summary"]["entropy"]) < 1e-9
            # the default is the entropy of the verdicts alone
            expected = entropy_bits([[c["markedWiser"], c["markedNotWiser"], c["markedUnsure"], c["markedLessWise"]]])[0]
            assert abs(correct.loc[key].entropy - expected) < 1e-12 and abs(correct.loc[key].entropy - row.entropy) > 1e-6


def test_mai_less_wise_is_not_double_counted():
    doc = _mai()
    m = from_mai_summary(doc)
    D = "When someone is in distress"
    e = m.edges
    # 25 -> 23 and 23 -> 25 are both listed: each one's markedLessWise is the other's markedWiser, stored once
    assert e[(e.context_id == D) & (e.from_card == "23") & (e.to_card == "25") & (e.verdict == "wiser")]["count"].sum() == 1
    assert e[(e.context_id == D) & (e.from_card == "25") & (e.to_card == "23") & (e.verdict == "wiser")]["count"].sum() == 9
    # judgements counted once: every verdict plus the markedLessWise of edges whose reverse is not listed
    pairs = {(x["sourceValueId"], x["wiserValueId"]) for x in doc["edges"]}
    expected = sum(x["counts"]["markedWiser"] + x["counts"]["markedNotWiser"] + x["counts"]["markedUnsure"]
                   + (0 if (x["wiserValueId"], x["sourceValueId"]) in pairs else x["counts"]["markedLessWise"]) for x in doc["edges"])
    assert graph_summary(m)["judgements"] == expected


def test_mai_import_tolerates_the_real_files_quirks():
    doc = _mai()
    doc["generatedAt"] = "2023-10-20"                       # extra top-level key
    doc["values"][0]["embedding"] = [0.1, 0.2]               # extra value keys
    doc["values"][1]["id"] = "14"                            # ids as text
    del doc["values"][2]["createdAt"], doc["values"][2]["updatedAt"]   # missing times
    v = doc["values"][3]                                     # the later spelling of a card
    v["description"], v["policies"] = v.pop("instructionsShort"), v.pop("evaluationCriteria")
    del v["instructionsDetailed"]
    del doc["edges"][0]["summary"]                           # no summary: it is recomputed
    del doc["edges"][2]["counts"]["markedUnsure"]             # a missing count is 0
    doc["edges"][4]["id"] = 123
    m = from_mai_summary(doc)
    assert m.cards.title[3] == "Calm Attention" and len(m.cards.policies[3]) == 3
    back = to_mai_summary(m)
    assert back["edges"][2]["counts"]["markedUnsure"] == 0 and back["values"][1]["id"] == 14
    assert "createdAt" not in back["values"][2] and back["values"][3]["instructionsShort"] == v["description"]


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d["edges"][3].__setitem__("wiserValueId", 999), "edges[3].wiserValueId", "not the id of any entry of 'values'"),
    (lambda d: d["edges"][1].__setitem__("sourceValueId", True), "edges[1].sourceValueId", "integer or text id"),
    (lambda d: d["edges"][2]["counts"].__setitem__("markedWiser", -1), "edges[2].counts.markedWiser", "whole number"),
    (lambda d: d["edges"][2]["counts"].__setitem__("impressions", "12"), "edges[2].counts.impressions", "whole number"),
    (lambda d: d["edges"][5].__setitem__("contexts", []), "edges[5].contexts", "no context"),
    (lambda d: d["edges"][5].__setitem__("wiserValueId", d["edges"][5]["sourceValueId"]), "edges[5].wiserValueId", "self-edge"),
    (lambda d: d["edges"].append(dict(d["edges"][0])), "edges[16].wiserValueId", "already edges[0]"),
    (lambda d: d["values"][4].__setitem__("id", d["values"][0]["id"]), "values[4].id", "already the id of values[0]"),
    (lambda d: d["values"][4].pop("title"), "values[4].title", "required"),
    (lambda d: d["values"][4].__setitem__("evaluationCriteria", []), "values[4].evaluationCriteria", "at least one"),
    (lambda d: d["values"][4].__setitem__("createdAt", "last tuesday"), "values[4].createdAt", "datetime"),
    (lambda d: d.__setitem__("values", {}), "values", "expected a list"),
    (lambda d: d.pop("edges"), "edges", "missing"),
], ids=["unknown-wiser", "bool-id", "negative", "text-count", "no-context", "self-edge", "duplicate-pair", "duplicate-id",
        "no-title", "no-policies", "bad-time", "values-type", "no-edges"])
def test_mai_import_errors_name_the_field(change, field, words):
    doc = _mai()
    change(doc)
    e = error(from_mai_summary, doc, file="summary.json")
    assert (e.file, e.field) == ("summary.json", field) and words in e.message, str(e)


def test_native_graph_exports_to_mai_and_back():
    g = example_graph()
    doc = to_mai_summary(g)
    assert {v["id"] for v in doc["values"]} == set(g.cards.card_id)
    assert len(doc["edges"]) == len(g.edges[["from_card", "to_card"]].drop_duplicates())
    e = {(x["sourceValueId"], x["wiserValueId"]): x for x in doc["edges"]}
    assert e[("c06", "c07")]["counts"]["markedLessWise"] == e[("c07", "c06")]["counts"]["markedWiser"] == 3
    assert e[("c06", "c07")]["contexts"] == ["When a parent fears for their child's safety and the child wants privacy"]
    assert to_mai_summary(from_mai_summary(doc)) == doc


def test_read_graph_detects_the_kind(tmp_path):
    g = example_graph()
    assert read_graph(g.save(tmp_path / "g")).equals(g)
    assert read_graph(EXAMPLE_JSON).equals(g)
    assert len(read_graph(MAI_FILE).edge_groups) == 16
    (tmp_path / "bad.json").write_text('{"values": [}')
    assert "invalid JSON at line 1" in error(read_graph, tmp_path / "bad.json").message


def test_card_returns_a_values_card():
    g = example_graph()
    c = g.card("c13")
    assert isinstance(c, ValuesCard) and c.canonical_id == "c01" and c.provenance.prompt == "unplanned-pregnancy"
    assert MoralGraph().add_card(c).cards.iloc[0].to_dict() == g.cards.iloc[12].to_dict()
    m = from_mai_summary(MAI_FILE)
    assert m.card("23").details.startswith("When someone is struggling")
