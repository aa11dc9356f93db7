"`wisemodel graph ...`: import/export round trips, summaries, edge lists, and one-line errors with exit status 2."
import json, math, subprocess, sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import wisemodel.cli_graph, wisemodel.cli_aggregate  # noqa: F401  (registers the commands)
from wisemodel.cli import cli
from wisemodel.graph import example_graph, graph_summary, from_mai_summary

ROOT = Path(__file__).resolve().parents[1]
MAI_FILE = ROOT / "data" / "mai" / "example_summary.json"
EXAMPLE = ROOT / "data" / "example_graph"


def run(*args):
    return CliRunner().invoke(cli, ["graph", *map(str, args)])


def ok(*args):
    res = run(*args)
    assert res.exit_code == 0, res.output
    return res


def fails(*args, words=()):
    "The command fails as the CLI promises: exit 2, one line on stderr, no traceback."
    res = run(*args)
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for w in words: assert w in lines[0], lines[0]
    return lines[0]


def test_mai_import_export_round_trip(tmp_path):
    out = tmp_path / "graph"
    res = json.loads(ok("import", MAI_FILE, "--from", "mai", "--out", out, "--json").output)
    assert res["out"] == str(out) and res["cards"] == 12 and (out / "manifest.json").exists()
    ok("export", out, "--to", "mai", "--out", tmp_path / "back.json")
    back, doc = json.loads((tmp_path / "back.json").read_text()), json.loads(MAI_FILE.read_text())
    assert back["values"] == doc["values"]
    for ours, theirs in zip(back["edges"], doc["edges"], strict=True):
        assert {k: ours[k] for k in ("sourceValueId", "wiserValueId", "contexts", "counts")} == \
               {k: theirs[k] for k in ("sourceValueId", "wiserValueId", "contexts", "counts")}
        for k in ("wiserLikelihood", "entropy"): assert abs(ours["summary"][k] - theirs["summary"][k]) < 1e-9


def test_native_json_import_and_export(tmp_path):
    ok("import", ROOT / "data" / "example_graph.json", "--from", "json", "--out", tmp_path / "g")
    ok("export", tmp_path / "g", "--to", "json", "--out", tmp_path / "g.json")
    ok("import", tmp_path / "g.json", "--from", "json", "--out", tmp_path / "g2")
    s1 = json.loads(ok("summary", tmp_path / "g2", "--json").output)
    assert s1 == graph_summary(example_graph())
    res = json.loads(ok("export", EXAMPLE, "--to", "mai", "--out", tmp_path / "m.json", "--json").output)
    assert res["values"] == 13 and res["edges"] == 15


def test_summary_is_the_same_for_a_folder_and_the_mai_file(tmp_path):
    ok("import", MAI_FILE, "--out", tmp_path / "g")
    a = json.loads(ok("summary", tmp_path / "g", "--json").output)
    b = json.loads(ok("summary", MAI_FILE, "--json").output)
    assert a == b
    for k in ("participants", "prompts", "contexts", "cards", "votes", "edges"): assert type(a[k]) is int
    assert (a["cards"], a["contexts"], a["votes"], a["participants"]) == (12, 6, 0, 0)
    # edges = distinct (context, from, to) wisdom edges: each MAI edge once per context, plus the reverse pairs
    # that exist only through markedLessWise
    doc = json.loads(MAI_FILE.read_text())
    assert a["edges"] >= sum(len(e["contexts"]) for e in doc["edges"])
    assert a["edge_groups"] == len(doc["edges"])
    assert a["edges"] == len(json.loads(ok("edges", MAI_FILE, "--json").output))
    text = ok("summary", EXAMPLE).output
    assert "participants: 10" in text and "edges: 15" in text


def test_edges_json_and_the_mai_entropy_option():
    doc = json.loads(MAI_FILE.read_text())
    plain = json.loads(ok("edges", MAI_FILE, "--json").output)
    compat = json.loads(ok("edges", MAI_FILE, "--json", "--mai-entropy").output)
    assert list(plain[0]) == ["from_card", "to_card", "context_id", "wiser", "not_wiser", "unsure", "less_wise", "impressions",
                              "wiser_likelihood", "entropy"]
    by_key = {(r["context_id"], r["from_card"], r["to_card"]): r for r in compat}
    plain_by_key = {(r["context_id"], r["from_card"], r["to_card"]): r for r in plain}
    for e in doc["edges"]:
        for ctx in e["contexts"]:
            key = (ctx, str(e["sourceValueId"]), str(e["wiserValueId"]))
            assert abs(by_key[key]["entropy"] - e["summary"]["entropy"]) < 1e-9
            assert abs(by_key[key]["wiser_likelihood"] - e["summary"]["wiserLikelihood"]) < 1e-9
            assert by_key[key]["wiser"] == e["counts"]["markedWiser"] and by_key[key]["less_wise"] == e["counts"]["markedLessWise"]
            assert plain_by_key[key]["entropy"] != by_key[key]["entropy"]
    assert "wiser_likelihood" in ok("edges", EXAMPLE).output


def test_validate(tmp_path):
    assert "valid moral graph" in ok("validate", EXAMPLE).output
    assert json.loads(ok("validate", MAI_FILE, "--json").output)["valid"] is True
    bad = json.loads(MAI_FILE.read_text()); bad["edges"][6]["wiserValueId"] = 4242
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    fails("validate", tmp_path / "bad.json", words=(str(tmp_path / "bad.json"), "edges[6].wiserValueId", "4242"))
    res = run("validate", tmp_path / "bad.json", "--json")
    assert res.exit_code == 2
    report = json.loads(res.stdout)
    assert report["valid"] is False and report["field"] == "edges[6].wiserValueId" and report["file"] == str(tmp_path / "bad.json")


@pytest.mark.parametrize("content, words", [
    (None, ("file not found",)),
    ("", ("the file is empty",)),
    ("{\"values\": [1,}", ("invalid JSON at line 1",)),
    ('{"values": [], "edges": [{"sourceValueId": 1, "wiserValueId": 2, "contexts": ["x"]}]}', ("edges[0].sourceValueId", "not the id")),
    ('{"values": {"id": 1}, "edges": []}', ("field 'values'", "expected a list")),
    ('[1, 2]', ("expected a JSON object",)),
    ('{"values": [{"id": 1, "title": "A", "instructionsShort": "a", "evaluationCriteria": ["MOMENTS a"]}, '
     '{"id": 2, "title": "B", "instructionsShort": "b", "evaluationCriteria": ["MOMENTS b"]}], '
     '"edges": [{"sourceValueId": 1, "wiserValueId": 2, "contexts": ["x"], "counts": {"markedWiser": "three"}}]}',
     ("edges[0].counts.markedWiser", "whole number")),
], ids=["missing", "empty", "invalid-json", "unknown-id", "wrong-type", "not-an-object", "count-type"])
def test_failed_import_writes_nothing(tmp_path, content, words):
    src = tmp_path / "summary.json"
    if content is not None: src.write_text(content)
    out = tmp_path / "out"
    fails("import", src, "--from", "mai", "--out", out, words=(str(src),) + words)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["summary.json"])


def test_failed_import_keeps_the_previous_graph(tmp_path):
    out = tmp_path / "g"
    ok("import", MAI_FILE, "--out", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (tmp_path / "bad.json").write_text('{"values": [], "edges": {}}')
    fails("import", tmp_path / "bad.json", "--out", out, words=("field 'edges'",))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (tmp_path / "notes.txt").write_text("mine")
    fails("import", MAI_FILE, "--out", tmp_path / "notes.txt", words=("not a saved graph folder",))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_broken_graph_folders_are_one_line_errors(tmp_path):
    folder = example_graph().save(tmp_path / "g")
    (folder / "edges.parquet").write_bytes(b"PAR1 truncated")
    fails("summary", folder, words=("edges.parquet", "cannot read"))
    fails("edges", tmp_path / "no-such-graph", words=("no-such-graph: file not found",))
    (tmp_path / "plain").mkdir()
    fails("validate", tmp_path / "plain", words=("manifest.json",))
    fails("export", folder, "--out", tmp_path, words=("is a folder",))
    assert not (tmp_path / "m.json").exists()


def test_the_installed_entry_point(tmp_path):
    "Once for real, through the console-script entry point in a fresh interpreter."
    cmd = [sys.executable, "-c", "from wisemodel.cli import main; main()", "graph"]
    res = subprocess.run(cmd + ["summary", str(MAI_FILE), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["cards"] == 12
    res = subprocess.run(cmd + ["import", str(tmp_path / "nope.json"), "--out", str(tmp_path / "g")], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "nope.json: file not found." in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize("args, words", [
    (["rank", EXAMPLE, "--damping", "-3"], "--damping"), (["rank", EXAMPLE, "--damping", "2"], "--damping"),
    (["rank", EXAMPLE, "--threshold", "7"], "--threshold"), (["rank", EXAMPLE, "--top", "-1"], "--top"),
    (["cycles", EXAMPLE, "--threshold", "-0.5"], "--threshold"),
])
def test_options_out_of_range_are_refused(args, words):
    res = run(*args)
    assert res.exit_code == 2 and words in res.output and "range" in res.output, res.output


def test_the_library_refuses_out_of_range_knobs_too():
    from wisemodel.aggregate import wise_values
    from wisemodel.core import InputError
    for kw, field in (({"damping": -3}, "damping"), ({"damping": 2}, "damping"), ({"threshold": 7}, "threshold")):
        with pytest.raises(InputError, match=field): wise_values(example_graph(), "inf", **kw)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", '{"cards": [{"title": "Caf\u00e9"}]}'.encode("latin-1")])
@pytest.mark.parametrize("command", [["graph", "summary"], ["cards", "lint"]])
def test_files_that_are_not_utf8_are_one_line_errors(tmp_path, content, command):
    import wisemodel.cli_cards  # noqa: F401
    f = tmp_path / "input.json"; f.write_bytes(content)
    res = CliRunner().invoke(cli, [*command, str(f)])
    assert res.exit_code == 2 and "is not UTF-8 text" in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_a_utf8_byte_order_mark_is_read(tmp_path):
    f = tmp_path / "mai.json"; f.write_bytes(b"\xef\xbb\xbf" + MAI_FILE.read_bytes())
    assert json.loads(ok("summary", f, "--json").output) == json.loads(ok("summary", MAI_FILE, "--json").output)


def test_an_unknown_prompt_is_an_error_not_a_uniform_ranking():
    res = run("rank", EXAMPLE, "--prompt", "nosuchprompt")
    assert res.exit_code == 2 and "unknown prompt 'nosuchprompt'" in res.output and "teen-messages" in res.output, res.output
