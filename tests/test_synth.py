"""Synthetic data from the example graph with the embedded model: rows that name their cards, a split without leaks,
TRL-ready columns, a rerun that makes no LLM calls, and bad input refused before anything is written."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from wisemodel.graph import example_graph, graph_hash
from wisemodel.aggregate import wise_values
from wisemodel.synth import SynthConfig, synthesize, load_synth

WISEMODEL = Path(sys.executable).parent / "wisemodel"
@pytest.fixture(scope="module")
def built(small_synth):
    folder, config, manifest = small_synth
    return folder.parent, config, manifest


def test_rows_name_their_cards_and_where_they_came_from(built):
    tmp, config, manifest = built
    pref, sft, saved = load_synth(tmp / "s")
    g = example_graph()
    test = pd.concat([pref[s].to_pandas() for s in pref])
    assert set(test["rejected_kind"]) <= {"naive", "sycophantic", "less_wise", "caves"}
    assert "caves" in set(test["rejected_kind"]) or any("judge" in k for k in manifest["dropped_pairs"])   # pushback pairs
    wv = wise_values(g, "inf")
    for r in test.itertuples():
        ranked = wv[wv["context_id"].astype(str) == r.context_id].sort_values("rank")
        assert list(r.card_ids) == list(ranked["card_id"].astype(str))[:config.n_cards]      # the context's top cards by Γ_∞
        assert list(r.card_scores) == pytest.approx(list(ranked["score"])[:config.n_cards])
        assert r.context_id == r.context_ids[0] and r.graph_hash == graph_hash(g) and r.h == "inf" and r.seed == 3
        if r.rejected_kind == "less_wise":
            less = ranked.set_index(ranked["card_id"].astype(str)).loc[r.rejected_card_ids[0], "score"]
            assert less < min(r.card_scores)
    assert saved["graph_hash"] == graph_hash(g) and saved["pairs"]["train"] == len(pref["train"])
    assert set(sft["train"].column_names) >= {"prompt", "completion", "card_ids", "graph_hash"}


def test_split_has_no_leak_and_a_heldout_context(built):
    tmp, config, _ = built
    pref, _, manifest = load_synth(tmp / "s")
    train, test = pref["train"].to_pandas(), pref["test"].to_pandas()
    assert not set(train["prompt_id"]) & set(test["prompt_id"])
    from wisemodel.embed import embed
    first = lambda df: sorted({m[0]["content"] for m in df["prompt"]})
    assert (embed(first(test)) @ embed(first(train)).T).max() < config.split_threshold
    held = manifest["prompts"]["heldout_contexts"]
    assert len(held) == 1 and held[0] not in set(train["context_id"])
    assert not train["unseen_context"].any()
    assert (test["unseen_context"] == ~test["context_id"].isin(set(train["context_id"]))).all()
    per_context = pd.concat([train, test]).groupby("context_id")["prompt_id"].nunique()
    if (per_context.drop(held[0], errors="ignore") >= 4).any():        # new prompts of trained contexts are tested too
        assert (~test["unseen_context"]).any(), per_context
    prompts = pd.read_csv(tmp / "s" / "prompts.csv")
    assert (prompts["status"] != "kept").sum() == sum(manifest["prompts"]["dropped"].values())


def test_pairs_are_length_matched_and_trl_ready(built):
    tmp, _, _ = built
    pref, _, _ = load_synth(tmp / "s")
    row = pref["train"][0]
    from trl.data_utils import is_conversational
    assert is_conversational(row)
    for r in pref["train"]:                                              # cut to the shorter's length, at a word
        a, b = r["chosen"][0]["content"], r["rejected"][0]["content"]
        longer = a if len(a) > len(b) else b
        assert abs(len(a) - len(b)) <= max(len(w) for w in longer.split()) + 1, (a, b)
    from transformers import AutoTokenizer
    from wisemodel.llm import smollm2_checkpoint
    tok = AutoTokenizer.from_pretrained(smollm2_checkpoint())
    text = tok.apply_chat_template(row["prompt"] + row["chosen"], tokenize=False)
    assert row["chosen"][0]["content"] in text


def test_judge_and_control_are_reported(built):
    _, _, manifest = built
    rates = manifest["judge_yes_rate"]
    assert 0 <= rates["wise"] <= 1 and 0 <= rates["naive_control"] <= 1
    assert manifest["llm"]["judge"]["calls"] > 0


def test_rerun_makes_no_llm_calls_and_gives_the_same_rows(built):
    tmp, config, first = built
    again = synthesize(example_graph(), tmp / "again", config, progress=False)
    for role, usage in again["llm"].items(): assert usage["calls"] == usage["cached"] > 0, role
    a, _, _ = load_synth(tmp / "s"); b, _, _ = load_synth(tmp / "again")
    assert a["train"]["chosen"] == b["train"]["chosen"] and a["test"]["rejected"] == b["test"]["rejected"]


def test_cli_refuses_a_finished_folder_and_a_graph_without_cards(built, tmp_path):
    tmp, _, _ = built
    res = subprocess.run([WISEMODEL, "synth", "data/example_graph", "--out", tmp / "s"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 2 and "finished synthetic dataset" in res.stderr and "Traceback" not in res.stderr
    from wisemodel.graph import MoralGraph
    MoralGraph().save(tmp_path / "empty")
    res = subprocess.run([WISEMODEL, "synth", tmp_path / "empty", "--out", tmp_path / "s", "--json"], capture_output=True, text=True)
    assert res.returncode == 2 and "no cards" in res.stderr and not (tmp_path / "s").exists()


def test_cli_builds_with_json(built, tmp_path):
    tmp, config, _ = built
    cfg = tmp_path / "synth.yaml"
    import yaml
    cfg.write_text(yaml.safe_dump({"synth": config.model_dump()}))
    res = subprocess.run([WISEMODEL, "synth", "data/example_graph", "--out", tmp_path / "out", "--config", cfg, "--json"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 0, res.stderr[-2000:]
    manifest = json.loads(res.stdout)
    assert manifest["pairs"]["train"] > 0 and (tmp_path / "out" / "preference" / "dataset_dict.json").is_file()
