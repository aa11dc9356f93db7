"""`wisemodel run` end to end on the tiny config: the run folder, its metrics and provenance, resume, bad configs."""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
WISEMODEL = Path(sys.executable).parent / "wisemodel"
FAST = ROOT / "papers/dft/configs/example.yaml"   # the shipped example graph, no LLM


def wm(*args, cwd=ROOT):
    return subprocess.run([str(WISEMODEL), *map(str, args)], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def statistics_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    res = wm("run", "--config", FAST, "--runs-dir", runs, "--run-id", "t1", "--stages", "statistics,aggregate", "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    return runs / "t1", json.loads(res.stdout)


def test_run_folder_holds_everything(statistics_run):
    run_dir, out = statistics_run
    assert out["run_dir"] == str(run_dir)
    for f in ["config.yaml", "provenance.json", "metrics.json", "notebooks/02_statistics.ipynb",
              "figures/edge_stats.png", "statistics/edge_stats.csv", "statistics/metrics.json",
              "notebooks/03_aggregate.ipynb", "aggregate/rankings.csv", "aggregate/cycles.json",
              "aggregate/moral_graph.html", "figures/top_values.png"]:
        assert (run_dir / f).is_file(), f
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["status"] == "done" and prov["seed"] == 0 and prov["config"]["name"] == "example"
    assert prov["packages"]["torch"].startswith("2.13") and prov["git_sha"]
    assert prov["stages"]["statistics"]["status"] == "done"


def test_statistics_metrics_match_the_graph(statistics_run):
    from wisemodel.graph import example_graph, edge_stats
    run_dir, out = statistics_run
    m = out["metrics"]["statistics"]
    g = example_graph()
    assert m["cards"] == len(g.cards) and m["participants"] == len(g.participants)
    assert m["edge_pairs"] == len(edge_stats(g)) > 0
    assert -1 <= m["mean_wiser_likelihood"] <= 1


def test_rerun_resumes_without_redoing_finished_stages(statistics_run):
    run_dir, _ = statistics_run
    before = (run_dir / "notebooks/02_statistics.ipynb").stat().st_mtime_ns
    res = wm("run", "--config", FAST, "--runs-dir", run_dir.parent, "--run-id", run_dir.name, "--stages", "statistics")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (run_dir / "notebooks/02_statistics.ipynb").stat().st_mtime_ns == before
    assert json.loads((run_dir / "provenance.json").read_text())["stages"]["statistics"]["skipped"] is True


@pytest.mark.parametrize("text,expect", [
    ("name: x\nstages: [statistics]\nsede: 1\n", "field 'sede'"),
    ("name: x\nstages: [nosuchstage]\n", "no notebook for stage 'nosuchstage'"),
    ("name: [x\n", "invalid YAML"),
    ("", "the file is empty"),
])
def test_bad_config_is_one_clear_line(tmp_path, text, expect):
    cfg = tmp_path / "bad.yaml"; cfg.write_text(text)
    res = wm("run", "--config", cfg, "--runs-dir", tmp_path / "runs")
    assert res.returncode == 2, res.stderr
    assert expect in res.stderr and str(cfg) in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_failing_stage_names_the_notebook_and_how_to_resume(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: broken\nstages: [statistics]\ngraph:\n  source: no/such/graph\n")
    res = wm("run", "--config", cfg, "--runs-dir", tmp_path / "runs", "--run-id", "b1")
    assert res.returncode == 1
    assert "stage 'statistics' failed" in res.stderr and "wisemodel run --run-id b1" in res.stderr
    prov = json.loads((tmp_path / "runs/b1/provenance.json").read_text())
    assert prov["status"] == "failed" and prov["stages"]["statistics"]["status"] == "failed"


def test_aggregate_metrics_agree_with_the_library(statistics_run):
    from wisemodel.graph import example_graph
    from wisemodel.aggregate import rank, find_cycles
    run_dir, out = statistics_run
    m = out["metrics"]["aggregate"]
    g = example_graph()
    gamma = rank(g, method="gamma", h="inf")
    top = {str(c): str(t.sort_values("score", ascending=False).iloc[0]["card"]) for c, t in gamma.groupby("context")}
    assert m["top_card_per_context"] == top
    assert m["cycles"] == len(find_cycles(g)) >= 1      # the example graph holds a two-way conflict
    html = (run_dir / "aggregate/moral_graph.html").read_text()
    import re
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)   # nothing loaded from a CDN


def test_the_main_job_on_the_embedded_default(tmp_path):
    "`wisemodel run` with no arguments: a simulated deliberation with SmolLM2, then statistics and aggregation of its graph."
    from wisemodel.graph import read_graph, graph_summary
    res = wm("run", "--runs-dir", tmp_path, "--run-id", "main", "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    run_dir = tmp_path / "main"
    metrics = json.loads(res.stdout)["metrics"]
    assert list(metrics) == ["deliberate", "statistics", "aggregate"]
    graph = read_graph(run_dir / "graph").validate()
    summary = graph_summary(graph)
    assert summary["cards"] >= 2 and summary["votes"] >= 2 and summary["edges"] >= 1
    assert metrics["statistics"]["cards"] == summary["cards"] and metrics["statistics"]["votes"] == summary["votes"]
    assert set(graph.cards["source"].dropna()) and graph.participants["group"].notna().any()   # provenance kept
    for f in ["notebooks/01_deliberate.ipynb", "figures/edge_stats.png", "figures/top_values.png", "aggregate/moral_graph.html"]:
        assert (run_dir / f).is_file(), f
