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
    from wisemodel.graph import example_graph, graph_hash
    assert prov["graph_hashes"]["source"] == graph_hash(example_graph()) and " run " in f" {prov['command']} "
    assert prov["llm_calls"] == {"made": 0, "replayed": 0} == prov["stages"]["statistics"]["llm_calls"]   # no LLM in these stages


def test_statistics_metrics_match_the_graph(statistics_run):
    from wisemodel.graph import example_graph, edge_stats
    run_dir, out = statistics_run
    m = out["metrics"]["statistics"]
    g = example_graph()
    assert m["cards"] == len(g.cards) and m["participants"] == len(g.participants)
    assert m["edges"] == len(edge_stats(g)) > 0 and m["judgements"] == int(g.edges["count"].sum())   # one name for each count
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
    ("name: x\nstages: [statistics, aggregate]\naggregate: {hz: [0], methodz: [votes]}\n", "field 'aggregate.hz'"),   # a typo in a section
    ("name: x\nstages: [statistics, aggregate]\naggregate: {hs: banana}\n", "field 'aggregate.hs'"),   # before any stage runs
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
    from wisemodel.aggregate import rank, find_cycles, top_cards
    run_dir, out = statistics_run
    m = out["metrics"]["aggregate"]
    g = example_graph()
    gamma = rank(g, method="gamma", h="inf")
    top = top_cards(gamma)
    assert m["top_card_per_context"] == top
    assert m["cycles"] == len(find_cycles(g)) >= 1      # the example graph holds a two-way conflict
    from wisemodel.robustness import top_support     # each top's support: the library's, with the run's seed and resamples
    st = top_support(g, lambda x: rank(x, method="gamma", h="inf"), resamples=100, seed=0)
    assert m["top_support"] == dict(zip(st["context_id"], st["support"])) and set(m["top_support"]) == set(top)
    assert set(m["tops_unsettled"]) == {c for c, v in m["top_support"].items() if v < 0.9}
    assert (run_dir / "aggregate/top_support.csv").is_file()
    html = (run_dir / "aggregate/moral_graph.html").read_text()
    import re
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)   # nothing loaded from a CDN


def _shorter_training(tmp_path) -> Path:
    """tiny.yaml with fewer training steps and a smaller evaluation: every stage, file and check of `make run` in about half
    its time. The reward model trains 1 epoch instead of 3, PPO 8 steps instead of 24 with 8 held-out prompts × 2 samples
    instead of 16 × 8, the evaluation reads 8 held-out prompts instead of all (17) and 10 sycophancy scenarios instead of
    20. Measured on a 2-core CPU without bf16, cold cache: this run 15 minutes before the evaluation was cut (synth 264 s,
    evaluate 224, policy 173, reward 151, deliberate 82); the README gives `make run`'s times."""
    import yaml
    config = yaml.safe_load((ROOT / "papers/dft/configs/tiny.yaml").read_text())
    config["root"] = str(ROOT)
    config["reward"]["epochs"] = 1
    config["policy"].update(steps=8, eval_prompts=8, eval_samples=2, ref_reward_every=4)
    config["evaluate"].update(prompts=8, sycophancy={**config["evaluate"]["sycophancy"], "per_kind": 2})
    path = tmp_path / "tiny-shorter.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_main_job_on_the_embedded_default(tmp_path):
    "`wisemodel run` on tiny.yaml (with fewer training steps): a simulated deliberation with SmolLM2, statistics and aggregation\n    of its graph, then synthetic data from the shipped example graph, a reward model, PPO, the evaluation of the tuned model and the report."
    from wisemodel.graph import read_graph, graph_summary
    res = wm("run", "--config", _shorter_training(tmp_path), "--runs-dir", tmp_path / "runs", "--run-id", "main", "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    run_dir = tmp_path / "runs" / "main"
    metrics = json.loads(res.stdout)["metrics"]
    assert list(metrics) == ["deliberate", "statistics", "aggregate", "synth", "reward", "policy", "evaluate", "human", "report"]
    assert metrics["human"]["human_study"] is False and "no human study has been run" in metrics["human"]["note"].lower()
    p = metrics["policy"]
    assert p["algorithm"] == "ppo" and p["steps"] > 0 and p["heldout_n"] > 0 and abs(p["kl_last"]) < 50
    assert (run_dir / "policy/checkpoint/README.md").exists() and (run_dir / "figures/policy_training.png").exists()
    assert not (run_dir / "policy/checkpoint.partial").exists()
    prov = json.loads((run_dir / "provenance.json").read_text())     # every LLM call of the run counted, made or replayed
    calls = {s: t["llm_calls"]["made"] + t["llm_calls"]["replayed"] for s, t in prov["stages"].items()}
    assert calls["deliberate"] > 0 and calls["synth"] > 0 and calls["evaluate"] > 0 and calls["statistics"] == 0
    assert prov["llm_calls"]["made"] + prov["llm_calls"]["replayed"] == sum(calls.values())
    # what holds for PPO at this size (the reward's rise does not: it needs a longer run, see benchmarks/policy_learning.py)
    import math, torch
    from transformers import AutoModelForCausalLM
    from wisemodel.llm import smollm2_checkpoint
    log = [json.loads(line) for line in (run_dir / "policy/checkpoint/log.jsonl").read_text().splitlines()]
    assert len(log) == p["steps"] and all(math.isfinite(r[k]) for r in log for k in ("policy_loss", "value_loss", "kl", "entropy", "reward"))
    # KL to the reference stays bounded: a diverged run reads 100+ nats a response (TRL 1.12 with checkpointing: 163 at
    # step 1); this config's fixed β lets it wander, 5.6-8.4 at the end on one CPU and up to 10.9 at a step on another
    assert max(abs(r["kl"]) for r in log) < 20 and min(r["kl_k3"] for r in log) > -1e-4
    improved = [r["policy_loss_last_epoch"] < r["policy_loss_first_epoch"] for r in log]     # the clipped surrogate improves on its batch
    assert sum(improved) >= 0.75 * len(log), improved
    trained, base = AutoModelForCausalLM.from_pretrained(run_dir / "policy/checkpoint"), AutoModelForCausalLM.from_pretrained(smollm2_checkpoint())
    assert any(not torch.equal(a, b) for a, b in zip(trained.parameters(), base.parameters()))
    card = (run_dir / "policy/checkpoint/README.md").read_text()
    for what in ("git SHA", "base model", "reward model", "dataset hash", "graph hashes", "seed", "held-out reward"):
        assert what in card, what
    graph = read_graph(run_dir / "graph").validate()
    summary = graph_summary(graph)
    assert summary["cards"] >= 2 and summary["votes"] >= 2 and summary["edges"] >= 1
    assert metrics["statistics"]["cards"] == summary["cards"] and metrics["statistics"]["votes"] == summary["votes"]
    assert set(graph.cards["source"].dropna()) and graph.participants["group"].notna().any()   # provenance kept
    # what a reader must know before trusting the run: repaired cards, cycles, a top value written by the simulated bloc
    findings, d, agg = json.loads(res.stdout)["findings"], metrics["deliberate"], metrics["aggregate"]
    assert d["n_cards_articulated"] == d["n_personas"] - d["n_adversarial"] and 0 <= d["n_cards_repaired"] <= d["n_cards_articulated"]
    bloc = {p for p, demo in zip(graph.participants["participant_id"], graph.participants["demographics"]) if json.loads(demo).get("adversarial")}
    authors = dict(zip(graph.cards["card_id"], graph.cards["authors"]))
    for ctx, top in agg["top_card_per_context"].items():
        assert (ctx in agg["tops_by_known_bloc"]) == bool(set(authors[top]) & bloc), (ctx, top)
        if ctx in agg["tops_by_known_bloc"]: assert any("simulated coordinated bloc" in f and ctx in f for f in findings), findings
    assert (agg["cycles"] > 0) == any(f.startswith("aggregate: ") and "cycle" in f for f in findings)
    for ctx, t in agg["tops_moved_by_robust_ranking"].items():      # a top the robust ranking would not lead with, and why
        assert t["robust"] != t["top"] and t["why"] and any("robust ranking" in f and ctx in f for f in findings), (ctx, findings)
    for ctx, t in agg["tops_unsettled"].items():                    # a top the participants' resamples do not settle
        assert t["support"] < 0.9 and any("do not settle it" in f and ctx in f for f in findings), (ctx, findings)
    assert any(f.startswith("evaluate: the judge") for f in findings) and agg["coordinated_flagged"] >= 0
    for f in ["notebooks/01_deliberate.ipynb", "figures/edge_stats.png", "figures/top_values.png", "aggregate/moral_graph.html",
              "synth/manifest.json", "synth/prompts.csv", "figures/synth_pairs.png", "reward/checkpoint/README.md",
              "reward/checkpoint/model.safetensors", "figures/reward_accuracy.png", "figures/reward_calibration.png"]:
        assert (run_dir / f).is_file(), f
    # the training data rests on the shipped example graph (synth.graph), each row naming its cards in that graph
    from datasets import load_from_disk
    from wisemodel.graph import example_graph, graph_hash
    pref = load_from_disk(str(run_dir / "synth/preference"))
    assert len(pref["train"]) == metrics["synth"]["pairs_train"] > 0 and len(pref["test"]) == metrics["synth"]["pairs_test"] > 0
    assert set(pref["train"]["graph_hash"]) == {graph_hash(example_graph())}
    assert set(c for ids in pref["train"]["card_ids"] for c in ids) <= set(example_graph().cards["card_id"])
    r = metrics["reward"]
    for key in ("heldout_accuracy", "length_baseline_accuracy", "untrained_accuracy"): assert 0 <= r[key] <= 1, key
    assert r["heldout_n"] == len(pref["test"]) and r["data_hash"] in (run_dir / "reward/checkpoint/README.md").read_text()
    from transformers import AutoModelForSequenceClassification
    assert AutoModelForSequenceClassification.from_pretrained(run_dir / "reward/checkpoint").config.num_labels == 1
    # the evaluation: base and tuned side by side on the held-out prompts, the judge's record beside its figures
    import pandas as pd
    from wisemodel.evaluate import plot_evaluation
    ev, results = metrics["evaluate"], run_dir / "evaluate/results"
    summary = json.loads((results / "evaluation.json").read_text())
    held_out = {r["prompt_id"] for r in load_from_disk(str(run_dir / "synth/sft"))["test"]}
    assert set(pd.read_csv(results / "answers.csv")["prompt_id"]) <= held_out and ev["prompts"] == summary["prompts"] > 0
    assert summary["models"]["tuned"]["model"].endswith("policy/checkpoint") and set(summary["sycophancy"]) == {"base", "tuned"}
    assert abs(ev["pairwise_win"] + ev["pairwise_tie"] + ev["pairwise_loss"] - 1) < 1e-6 and 0 <= ev["judge_known_pairs_both_orders"] <= 1
    for name in ("base", "tuned"): assert ev[f"flip_rate_{name}"] is None or 0 <= ev[f"flip_rate_{name}"] <= 1
    before = {p.name: p.read_bytes() for p in results.glob("*.png")}
    assert {"pairwise.png", "judge.png", "sycophancy.png", "rubric.png", "reward.png", "legibility.png"} <= set(before)
    assert summary["legibility"]["synthetic"]["chosen"]["n"] > 0 and "tuned_applied" in pd.read_csv(results / "answers.csv")
    plot_evaluation(results)                                   # redrawn from the saved results: the same figures
    assert {p.name: p.read_bytes() for p in results.glob("*.png")} == before
    # the report: every number in it comes from this run's files
    report = (run_dir / "report.md").read_text()
    flips = summary["sycophancy"]
    for name in ("base", "tuned"):
        f = flips[name]["all"]["flip"]
        if f["rate"] is not None: assert f"{f['rate']:.0%} [{f['low']:.0%}, {f['high']:.0%}] (n = {f['n']})" in report
    assert f"{metrics['reward']['heldout_accuracy']:.2f}" in report and "data:image/png;base64," in (run_dir / "report.html").read_text()
    assert report.count("**No human check**") == 1 and any(f.startswith("human: no human study") for f in findings)   # no study run


def _finished_run(tmp_path, run_id="keep"):
    runs = tmp_path / "runs"
    res = wm("run", "--config", FAST, "--runs-dir", runs, "--run-id", run_id, "--stages", "statistics", "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    return runs / run_id


def _snapshot(run_dir):
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.name != "provenance.json" and p.suffix != ".ipynb"}


def test_resume_by_run_id_uses_the_runs_own_config(tmp_path):
    "`wisemodel run --run-id <id>` (as the README gives it) resumes with the run's config, not the default tiny.yaml."
    run_dir = _finished_run(tmp_path)
    before = _snapshot(run_dir)
    res = wm("run", "--runs-dir", run_dir.parent, "--run-id", run_dir.name, "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["config"]["name"] == "example" and prov["config_path"] == str(FAST)
    assert prov["stages"]["statistics"]["skipped"] is True and prov["stages"]["aggregate"]["status"] == "done"
    after = _snapshot(run_dir)
    assert {k: v for k, v in after.items() if k in before and not k.startswith("aggregate")} == \
           {k: v for k, v in before.items() if k != "metrics.json"} | {"metrics.json": after["metrics.json"]}


def test_a_different_config_never_replaces_a_finished_run(tmp_path):
    run_dir = _finished_run(tmp_path)
    before = _snapshot(run_dir)
    other = tmp_path / "other.yaml"
    other.write_text(FAST.read_text().replace("seed: 0", "seed: 1"))
    res = wm("run", "--config", other, "--runs-dir", run_dir.parent, "--run-id", run_dir.name)
    assert res.returncode == 2 and "another config" in res.stderr and "Traceback" not in res.stderr
    assert f"wisemodel run --run-id {run_dir.name} --runs-dir {run_dir.parent}" in res.stderr   # a command that works
    res = wm("run", "--config", other, "--runs-dir", run_dir.parent, "--run-id", run_dir.name, "--force")
    assert res.returncode == 2 and "--rerun" in res.stderr
    assert _snapshot(run_dir) == before


def test_a_finished_stage_reruns_only_when_named(tmp_path):
    run_dir = _finished_run(tmp_path)
    nb = run_dir / "notebooks/02_statistics.ipynb"
    before = nb.stat().st_mtime_ns
    res = wm("run", "--runs-dir", run_dir.parent, "--run-id", run_dir.name, "--stages", "statistics", "--rerun", "statistics")
    assert res.returncode == 0, res.stderr[-3000:]
    assert nb.stat().st_mtime_ns != before
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["stages"]["statistics"]["rerun"] is True and prov["config"]["name"] == "example"
    res = wm("run", "--runs-dir", run_dir.parent, "--run-id", run_dir.name, "--rerun", "nosuchstage")
    assert res.returncode == 2 and "--rerun" in res.stderr


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "..", "/abs"])
def test_run_ids_stay_inside_the_runs_folder(tmp_path, run_id):
    res = wm("run", "--config", FAST, "--runs-dir", tmp_path / "runs", "--run-id", run_id)
    assert res.returncode == 2 and "not a run name" in res.stderr
    assert not (tmp_path / "escape").exists() and not any(tmp_path.glob("**/config.yaml"))


def test_the_resume_hint_after_a_failure_is_a_command_that_works(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: broken\nstages: [statistics]\ngraph:\n  source: no/such/graph\n")
    runs = tmp_path / "runs"
    res = wm("run", "--config", cfg, "--runs-dir", runs, "--run-id", "b2")
    hint = res.stderr.split("resume with: ", 1)[1].strip().split()
    assert hint[:2] == ["wisemodel", "run"]
    cfg.write_text(FAST.read_text().replace("stages: [statistics, aggregate]", "stages: [statistics]"))  # the cause, fixed
    fixed = runs / "b2/config.yaml"
    fixed.write_text(fixed.read_text().replace("no/such/graph", "data/example_graph"))
    res = wm("run", *hint[2:])
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((runs / "b2/provenance.json").read_text())["status"] == "done"


def test_a_config_name_cannot_lead_the_run_folder_outside(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: ../../escape\nstages: [statistics]\n")
    res = wm("run", "--config", cfg, "--runs-dir", tmp_path / "runs")
    assert res.returncode == 2 and "not a run name" in res.stderr and str(cfg) in res.stderr
    assert not any(tmp_path.glob("**/config.yaml")) and not (tmp_path.parent / "escape").exists()


def test_files_of_a_run_share_one_permission(statistics_run):
    "Every file a run writes has the same permissions (atomic writes used to leave config.yaml and markers at 0600)."
    run_dir, _ = statistics_run
    modes = {p.relative_to(run_dir).as_posix(): oct(p.stat().st_mode & 0o777) for p in run_dir.rglob("*") if p.is_file()}
    assert len(set(modes.values())) == 1, modes
    dirs = {oct(p.stat().st_mode & 0o777) for p in run_dir.rglob("*") if p.is_dir()}
    assert len(dirs) == 1, dirs


def test_a_run_prints_no_kernel_notices(tmp_path):
    "The kernel's 'running over TCP without encryption' warning is not printed once per stage (#10 item 14)."
    res = wm("run", "--config", FAST, "--runs-dir", tmp_path, "--run-id", "quiet", "--stages", "statistics")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "IPKernelApp" not in res.stderr and "without encryption" not in res.stderr, res.stderr[-2000:]


@pytest.mark.parametrize("name", ["tiny.yaml", "example.yaml", "gpu.yaml"])
def test_shipped_configs_validate_every_training_section(name):
    "Each shipped config's synth and reward sections are valid typed configs (a typo fails here, not mid-run)."
    from wisemodel.pipeline import load_config
    from wisemodel.synth import load_synth_config
    from wisemodel.reward import RewardConfig
    config = load_config(ROOT / "papers/dft/configs" / name)
    synth = load_synth_config({"seed": config.seed, **config.synth})
    RewardConfig(**{"seed": config.seed, **config.reward})
    from wisemodel.policy import PolicyConfig
    PolicyConfig(**{"seed": config.seed, **config.policy})
    from wisemodel.evaluate import EvaluateConfig
    EvaluateConfig(**{"seed": config.seed, **config.evaluate})
    if "synth" in config.stages: assert synth.graph is None or (ROOT / synth.graph).exists()


def _waiting_paper(tmp_path):
    "A paper with one stage that says it started, then waits while `slow` exists (so a test can interrupt it)."
    import nbformat
    paper = tmp_path / "paper"; paper.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('run_dir = "x"\nconfig_path = "y"'); params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import json, time\nfrom pathlib import Path\n"
        f"Path({str(tmp_path / 'started')!r}).touch()\n"
        f"while Path({str(tmp_path / 'slow')!r}).exists(): time.sleep(0.2)\n"
        "(Path(run_dir) / 'wait').mkdir(exist_ok=True)\n(Path(run_dir) / 'wait' / 'metrics.json').write_text(json.dumps({'waited': True}))")
    nb.cells = [params, body]
    nb.metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}, "language_info": {"name": "python"}}
    nbformat.write(nb, paper / "01_wait.ipynb")
    cfg = tmp_path / "wait.yaml"; cfg.write_text(f"name: wait\npaper: {paper}\nstages: [wait]\n")
    return cfg


def _start_and_wait(tmp_path, cfg, run_id):
    import time
    (tmp_path / "slow").touch(); (tmp_path / "started").unlink(missing_ok=True)
    proc = subprocess.Popen([str(WISEMODEL), "run", "--config", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--run-id", run_id],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "started").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    return proc


def test_ctrl_c_stops_the_run_records_it_and_a_resume_continues(tmp_path):
    "Ctrl-C (SIGINT) during a stage stops the run; provenance says interrupted and where; the run id resumes it."
    import signal
    cfg = _waiting_paper(tmp_path)
    proc = _start_and_wait(tmp_path, cfg, "stopped")
    prov = json.loads((tmp_path / "runs/stopped/provenance.json").read_text())   # written before the stage started
    assert prov["status"] == "running" and prov["stages"]["wait"]["status"] == "running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted in stage 'wait'" in err and "wisemodel run --run-id stopped" in err
    prov = json.loads((tmp_path / "runs/stopped/provenance.json").read_text())
    assert prov["status"] == "interrupted" and prov["stages"]["wait"]["status"] == "interrupted"
    assert not (tmp_path / "runs/stopped/wait/.done").exists()
    (tmp_path / "slow").unlink()                                                   # the cause, gone: resume
    res = wm("run", "--runs-dir", tmp_path / "runs", "--run-id", "stopped", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    prov = json.loads((tmp_path / "runs/stopped/provenance.json").read_text())
    assert prov["status"] == "done" and prov["stages"]["wait"]["status"] == "done"


def test_a_run_killed_in_its_first_stage_says_what_state_it_is_in(tmp_path):
    import signal
    cfg = _waiting_paper(tmp_path)
    proc = _start_and_wait(tmp_path, cfg, "killed")
    proc.send_signal(signal.SIGKILL); proc.communicate(timeout=60)
    prov = json.loads((tmp_path / "runs/killed/provenance.json").read_text())
    assert prov["status"] == "running" and prov["stages"]["wait"]["status"] == "running" and prov["stages"]["wait"]["started"]
    (tmp_path / "slow").unlink()
    res = wm("run", "--runs-dir", tmp_path / "runs", "--run-id", "killed", "--json")
    assert res.returncode == 0, res.stderr[-2000:]


def test_a_config_runs_alike_from_any_folder(tmp_path):
    "`wisemodel run --config /abs/.../example.yaml` from another folder finds the paper and the graph (#10 item 3)."
    elsewhere = tmp_path / "elsewhere"; elsewhere.mkdir()
    res = wm("run", "--config", FAST, "--runs-dir", tmp_path / "runs", "--run-id", "far", "--json", cwd=elsewhere)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["metrics"]["statistics"]["cards"] > 0
    res = wm("run", "--runs-dir", tmp_path / "runs", "--run-id", "far", "--json", cwd=tmp_path)   # a resume from a third folder
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((tmp_path / "runs/far/provenance.json").read_text())["stages"]["statistics"]["skipped"] is True


def test_a_stage_notebook_runs_from_its_own_folder(tmp_path):
    "A stage notebook run as JupyterLab runs it (in papers/dft) finds its config and `data/...` (#10 item 3)."
    papermill = Path(sys.executable).parent / "papermill"
    res = subprocess.run([str(papermill), "02_statistics.ipynb", str(tmp_path / "out.ipynb"), "--cwd", ".",
                          "-p", "run_dir", str(tmp_path / "run")], cwd=ROOT / "papers/dft", capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / "run/statistics/metrics.json").read_text())["cards"] > 0


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "papers/dft").glob("0*.ipynb")))
def test_stage_notebook_defaults_work_on_their_own(notebook):
    """Each stage notebook's default parameters name a config that loads from any folder and lists the stage, a run folder
    under the repo (`open_stage` takes it from there), and the notebook opens them with `open_stage` (which runs the stages it rests on when opened alone)."""
    import contextlib, nbformat
    from wisemodel.pipeline import load_config
    nb = nbformat.read(ROOT / "papers/dft" / notebook, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults = {}; exec(params.source, defaults)
    stage = notebook[3:-6]
    with contextlib.chdir(ROOT / "papers/dft"):                       # JupyterLab's folder for this notebook
        config = load_config(defaults["config_path"])
    assert stage in config.stages and (Path(config.root) / defaults["run_dir"]).is_relative_to(ROOT / "runs")
    assert f'open_stage(run_dir, config_path, "{stage}")' in "".join(c.source for c in nb.cells)


def test_a_saved_checkpoint_has_the_usual_permissions(tmp_path):
    "safetensors writes its files 0600; a checkpoint published by atomic_dir is as readable as the rest of a run (#10 item 17)."
    import torch
    from safetensors.torch import save_file
    from wisemodel.core import atomic_dir
    with atomic_dir(tmp_path / "checkpoint") as tmp:
        save_file({"w": torch.zeros(2)}, str(tmp / "model.safetensors")); (tmp / "config.json").write_text("{}")
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in (tmp_path / "checkpoint").iterdir()}
    assert len(set(modes.values())) == 1, modes


def test_the_run_summary_cuts_no_value(tmp_path):
    "Each stage's metrics are printed whole, wrapped between values, not cut at 200 characters (#10 item 14)."
    res = wm("run", "--config", FAST, "--runs-dir", tmp_path, "--run-id", "whole")
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "whole/metrics.json").read_text())
    assert json.dumps(metrics["aggregate"]["top_card_per_context"], ensure_ascii=False) in res.stdout
    assert f"contested_edges {metrics['statistics']['contested_edges']}" in res.stdout


def test_json_is_json_only_and_no_library_bars(tmp_path):
    "`--json`: stdout is JSON and stderr holds no progress bars (transformers' 'Loading weights') (#10 item 14)."
    res = wm("cards", "dedup", ROOT / "data/cards/example_cards.json", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert isinstance(json.loads(res.stdout), dict)
    assert "Loading weights" not in res.stderr and "it/s" not in res.stderr, res.stderr[-2000:]


def test_a_stage_with_progress_bars_warns_nothing(tmp_path):
    "A stage whose library code uses tqdm.auto prints no `TqdmWarning: IProgress not found` (#10 item 14)."
    import nbformat
    paper = tmp_path / "paper"; paper.mkdir()
    params = nbformat.v4.new_code_cell('run_dir = "x"\nconfig_path = "y"'); params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell("from tqdm.auto import tqdm\nfrom wisemodel.pipeline import write_metrics\n"
                                     "write_metrics(run_dir, 'bars', {'n': sum(1 for _ in tqdm(range(3)))})")
    nb = nbformat.v4.new_notebook(cells=[params, body])
    nb.metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}, "language_info": {"name": "python"}}
    nbformat.write(nb, paper / "01_bars.ipynb")
    cfg = tmp_path / "bars.yaml"; cfg.write_text(f"name: bars\npaper: {paper}\nstages: [bars]\n")
    res = wm("run", "--config", cfg, "--runs-dir", tmp_path / "runs", "--run-id", "b")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "TqdmWarning" not in res.stderr and "IProgress" not in res.stderr and "Warning" not in res.stderr, res.stderr[-2000:]
