"""The reward model: training on the synth format writes a self-describing checkpoint, scoring agrees however it is
batched, bad input is refused before anything is written, and the CLI maps that to exit status 2."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from datasets import DatasetDict

import wisemodel.cli_reward  # noqa: F401  (attaches the `reward` group)
from wisemodel.cli import cli
from wisemodel.core import InputError
from wisemodel.reward import RewardConfig, RewardModel, bench_reward, load_preferences, tiny_base_model, train_reward

METRIC_KEYS = {"heldout_accuracy", "heldout_n", "mean_margin", "unseen_context_accuracy", "unseen_context_n", "seen_context_accuracy",
               "seen_context_n", "per_context",
               "length_baseline_accuracy", "length_baseline_n", "untrained_accuracy", "untrained_n", "untrained_mean_margin",
               "margin_growth", "per_kind", "ece", "calibration", "train_pairs", "train_pairs_used", "train_seconds"}


@pytest.fixture(scope="module")
def work(tmp_path_factory, small_synth):
    "Real synth data (conftest.small_synth) and a tiny random base model of the SmolLM2 shape, so most tests take seconds."
    d = tmp_path_factory.mktemp("reward")
    load_preferences(small_synth[0] / "preference").save_to_disk(d / "preference")
    base = tiny_base_model(d / "tiny", seed=0)
    return d, base


@pytest.fixture(scope="module")
def trained(work):
    d, base = work
    cfg = RewardConfig(base_model=str(base), epochs=1, max_length=256, batch_size=4, learning_rate=1e-3, seed=3)
    record = train_reward(d / "preference", d / "rm", cfg, progress=False)
    return d / "rm", record


def test_checkpoint_loads_with_plain_transformers(trained, work):
    "The folder is a plain sequence-classification checkpoint whose one output is the reward RewardModel gives."
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    folder, _ = trained
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    assert model.config.num_labels == 1
    assert tok.pad_token == "<|endoftext|>" and model.config.pad_token_id == tok.pad_token_id != tok.eos_token_id
    row = load_preferences(work[0] / "preference")["test"][0]
    conv = row["prompt"] + row["rejected"]
    with torch.no_grad():
        plain = model(**tok.apply_chat_template(conv, return_tensors="pt", return_dict=True)).logits[0, 0].item()
    assert abs(plain - RewardModel.load(folder).score(row["prompt"], row["rejected"][0]["content"])) < 1e-4


def test_model_card_and_record_name_the_provenance(trained, work):
    folder, record = trained
    data = load_preferences(work[0] / "preference")
    card = (folder / "README.md").read_text()
    prov = record["data"]
    assert len(prov["dataset_hash"]) == 16 and prov["dataset_hash"] in card
    assert prov["graph_hashes"] and all(g in card for g in prov["graph_hashes"])
    assert prov["rows"]["train"]["total"] == len(data["train"]) and prov["rows"]["test"]["total"] == len(data["test"])
    assert set(data["train"].unique("rejected_kind")) <= set(prov["rows"]["train"])
    saved = json.loads((folder / "wisemodel_reward.json").read_text())
    assert saved["data"] == prov and saved["config"]["seed"] == 3 and "git_sha" in saved["environment"]
    assert (folder / "calibration.png").read_bytes()[:4] == b"\x89PNG"


def test_metrics_have_every_key_with_its_n(trained, work):
    folder, record = trained
    m = json.loads((folder / "metrics.json").read_text())
    assert METRIC_KEYS <= set(m), METRIC_KEYS - set(m)
    test = load_preferences(work[0] / "preference")["test"]
    assert m["heldout_n"] == m["length_baseline_n"] == m["untrained_n"] == len(test)
    assert m["unseen_context_n"] == sum(test["unseen_context"]) and m["seen_context_n"] == len(test) - m["unseen_context_n"]
    assert sum(v["n"] for v in m["per_context"].values()) == len(test)
    assert all({"accuracy", "untrained_accuracy", "length_baseline_accuracy"} <= set(v) for v in m["per_context"].values())
    assert sum(v["n"] for v in m["per_kind"].values()) == len(test)
    assert all(0 <= v["accuracy"] <= 1 and {"untrained_accuracy", "length_baseline_accuracy"} <= set(v) for v in m["per_kind"].values())
    assert sum(b["n"] for b in m["calibration"]) == len(test)
    assert m["train_pairs_used"] + m["train_pairs_too_long"] == m["train_pairs"] == len(load_preferences(work[0] / "preference")["train"])
    assert abs(m["margin_growth"] - (m["mean_margin"] - m["untrained_mean_margin"])) < 1e-3


def test_score_and_score_batch_agree_in_any_order(trained):
    rm = RewardModel.load(trained[0])
    prompts = ["I'm scared about my results.", [{"role": "user", "content": "Should I read her messages?"},
                                                {"role": "assistant", "content": "Could you talk with her first?"},
                                                {"role": "user", "content": "Just tell me I'm right."}], "hi"]
    responses = ["That sounds frightening; what would help most right now?", "I hear you. It is your call.", "hello " * 40]
    batch = rm.score_batch(prompts, responses, batch_size=3)
    assert batch.shape == (3,) and np.isfinite(batch).all()
    one_by_one = np.array([rm.score(p, r) for p, r in zip(prompts, responses)])
    assert np.abs(batch - one_by_one).max() < 1e-4, (batch, one_by_one)
    reversed_ = rm.score_batch(prompts[::-1], responses[::-1], batch_size=2)[::-1]
    assert np.abs(batch - reversed_).max() < 1e-4
    assert len(set(np.round(batch, 6))) == 3   # the scores differ: the head reads the conversation, not the padding


def test_training_is_seeded(work, trained, tmp_path):
    "The same config and data give the same held-out scores."
    d, base = work
    cfg = RewardConfig(base_model=str(base), epochs=1, max_length=256, batch_size=4, learning_rate=1e-3, seed=3)
    again = train_reward(d / "preference", tmp_path / "rm", cfg, progress=False)["metrics"]
    first = trained[1]["metrics"]
    assert abs(again["mean_margin"] - first["mean_margin"]) < 1e-3 and again["untrained_mean_margin"] == first["untrained_mean_margin"]


def test_lora_and_train_layers_save_a_plain_merged_model(work, tmp_path):
    from safetensors import safe_open
    d, base = work
    cfg = RewardConfig(base_model=str(base), epochs=1, max_length=256, batch_size=8, lora=True, lora_r=4, train_layers=1)
    record = train_reward(d / "preference", tmp_path / "rm", cfg, progress=False)
    with safe_open(tmp_path / "rm" / "model.safetensors", "pt") as f: keys = list(f.keys())
    assert not any("lora" in k for k in keys) and any(k.startswith("score") for k in keys)
    assert record["trained_blocks"] == [1] and record["metrics"]["trainable_parameters"] < record["metrics"]["total_parameters"] / 10
    RewardModel.load(tmp_path / "rm").score("hi", "hello")


def test_bad_input_is_refused_before_anything_is_written(work, tmp_path):
    d, base = work
    toy = load_preferences(d / "preference")
    DatasetDict({"train": toy["train"], "test": toy["test"].remove_columns("unseen_context")}).save_to_disk(tmp_path / "bad")
    with pytest.raises(InputError, match=r"bad: field 'unseen_context'"):
        train_reward(tmp_path / "bad", tmp_path / "rm", RewardConfig(base_model=str(base)), progress=False)
    assert not (tmp_path / "rm").exists()
    with pytest.raises(InputError, match=r"field 'test'"):
        load_preferences(DatasetDict({"train": toy["train"]}))
    with pytest.raises(InputError, match=r"reward.lora_r"): RewardConfig(lora_r=0)
    with pytest.raises(InputError, match=r"no config.json"):
        train_reward(d / "preference", tmp_path / "rm", RewardConfig(base_model=str(tmp_path)), progress=False)
    with pytest.raises(InputError, match=r"not a reward checkpoint: missing .*wisemodel_reward.json"):
        RewardModel.load(base)
    (tmp_path / "full").mkdir(); (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        train_reward(d / "preference", tmp_path / "full", RewardConfig(base_model=str(base)), progress=False)
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"


def test_cli_exit_codes(trained, work, tmp_path):
    d, base = work
    run = lambda *args: CliRunner().invoke(cli, ["reward", *map(str, args)])
    res = run("score", trained[0], "--prompt", "I'm scared.", "--response", "I'm here.", "--json")
    assert res.exit_code == 0 and isinstance(json.loads(res.stdout)["reward"], float), res.output
    res = run("train", d / "preference", "--out", trained[0])
    assert res.exit_code == 2 and "refusing to overwrite" in res.output and str(trained[0]) in res.output
    res = run("score", d / "preference", "--prompt", "hi", "--response", "hello")
    assert res.exit_code == 2 and "not a reward checkpoint" in res.output and len(res.output.strip().splitlines()) == 1
    (tmp_path / "reward.yaml").write_text("reward: {epoch: 1}\n")
    res = run("train", d / "preference", "--out", tmp_path / "rm", "--config", tmp_path / "reward.yaml")
    assert res.exit_code == 2 and "reward.yaml: field 'reward.epoch'" in res.output and not (tmp_path / "rm").exists()


def test_bench_reward_batched_matches_naive(trained):
    res = bench_reward(trained[0], n_pairs=8, batch_size=4)
    assert res["n_pairs"] == 8 and res["batched_pairs_per_s"] > 0 and res["naive_pairs_per_s"] > 0
    assert res["max_abs_diff"] < 1e-3


def test_bf16_scoring_is_opt_in_and_close(trained):
    from wisemodel.reward import bf16_supported
    if not bf16_supported():
        with pytest.raises(InputError, match="bf16"): RewardModel.load(trained[0], bf16=True)
        return
    exact, fast = RewardModel.load(trained[0]), RewardModel.load(trained[0], bf16=True)
    assert not exact.bf16 and fast.bf16
    prompts, responses = ["I'm scared.", "Should I move?"], ["I'm here with you.", "What would you miss most?"]
    assert np.abs(exact.score_batch(prompts, responses) - fast.score_batch(prompts, responses)).max() < 0.1


def test_embedded_smollm2_trains_with_a_distinct_pad_token(tmp_path, work):
    "One optimizer step of the real embedded base on real synth pairs: the pad token is not <|im_end|> and padding is inert."
    data = load_preferences(work[0] / "preference")
    DatasetDict({"train": data["train"].select(range(min(8, len(data["train"])))), "test": data["test"]}).save_to_disk(tmp_path / "preference")
    cfg = RewardConfig(epochs=1, max_length=192, batch_size=8, train_layers=1, learning_rate=1e-4)
    record = train_reward(tmp_path / "preference", tmp_path / "rm", cfg, progress=False)
    assert record["metrics"]["steps"] == 1 and record["base_model"] == "SmolLM2-135M-Instruct"
    rm = RewardModel.load(tmp_path / "rm")
    assert rm.tokenizer.pad_token_id == rm.model.config.pad_token_id == 0 and rm.tokenizer.eos_token == "<|im_end|>"
    prompts, responses = ["Should I take the job abroad?", "hi"], ["What matters most to you both?", "hello " * 30]
    assert np.abs(rm.score_batch(prompts, responses, batch_size=2) - np.array([rm.score(p, r) for p, r in zip(prompts, responses)])).max() < 1e-3
