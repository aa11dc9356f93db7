"""Policy training that survives a kill: a run killed with SIGKILL resumes from its last saved state to the result an
uninterrupted run gets, a different config never continues another run's state, and a finished checkpoint is never
overwritten. (The embedded SmolLM2 trains by PPO in the pipeline's main job: tests/test_pipeline.py.)"""
import json, os, subprocess, sys, time
from pathlib import Path

import pytest
import torch

from wisemodel.core import InputError
from wisemodel.policy import PolicyConfig, toy_synth, train_policy
from wisemodel.reward import RewardConfig, tiny_base_model, train_reward

ROOT = Path(__file__).resolve().parents[1]
TRAIN = """import json, sys
from wisemodel.policy import PolicyConfig, train_policy
train_policy(sys.argv[1], sys.argv[2], PolicyConfig(**json.loads(sys.argv[3])), reward_model=sys.argv[4], progress=False)
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    "Toy prompts, a tiny random base of the SmolLM2 shape, a reward model on it, and a PPO config that saves every 2 steps."
    d = tmp_path_factory.mktemp("policy")
    synth = toy_synth(d / "synth")
    base = tiny_base_model(d / "base", seed=0)
    train_reward(synth / "preference", d / "rm", RewardConfig(base_model=str(base), epochs=1, max_length=256, batch_size=4,
                                                              learning_rate=1e-3, seed=1), progress=False)
    config = PolicyConfig(base_model=str(base), steps=10, batch_size=4, max_new_tokens=8, learning_rate=1e-3, save_every=2,
                          eval_prompts=4, eval_samples=1, ref_reward_every=0, bf16=False, threads=1, seed=5)
    threads = torch.get_num_threads()
    yield d, synth, config
    torch.set_num_threads(threads)


def _log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def test_a_killed_run_resumes_to_the_uninterrupted_result(setup):
    d, synth, config = setup
    straight = train_policy(synth, d / "straight", config, reward_model=d / "rm", progress=False)

    out = d / "killed"
    state = d / "killed.partial" / "state.pt"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", TRAIN, str(synth), str(out), config.model_dump_json(), str(d / "rm")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not state.exists() and proc.poll() is None and time.time() < deadline: time.sleep(0.02)
    proc.kill(); _, err = proc.communicate()
    assert state.exists(), f"the run never saved its state before it ended: {err[-2000:]}"
    assert not out.exists(), "the run finished before it could be killed"
    saved_step = torch.load(state, weights_only=False)["step"]
    assert 2 <= saved_step < config.steps

    # Another config does not continue this run's state, and leaves it as it was.
    with pytest.raises(InputError, match="another config"):
        train_policy(synth, out, config.model_copy(update={"learning_rate": 2e-3}), reward_model=d / "rm", progress=False)
    assert state.exists()

    resumed = train_policy(synth, out, config, reward_model=d / "rm", progress=False)
    assert not (d / "killed.partial").exists()
    a, b = _log(d / "straight"), _log(out)
    assert [r["step"] for r in b] == list(range(1, config.steps + 1))
    for x, y in zip(a, b):       # the same steps, whether or not the run was killed between them
        assert x["reward"] == pytest.approx(y["reward"], abs=1e-4) and x["kl"] == pytest.approx(y["kl"], abs=1e-4), (x["step"], x, y)
    assert straight["metrics"]["heldout_reward_trained"] == pytest.approx(resumed["metrics"]["heldout_reward_trained"], abs=1e-4)
    from safetensors.torch import load_file
    wa, wb = load_file(d / "straight" / "model.safetensors"), load_file(out / "model.safetensors")
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4

    # Finished: the checkpoint is never overwritten, and the refusal says what to do.
    with pytest.raises(InputError, match="refusing to overwrite"):
        train_policy(synth, out, config, reward_model=d / "rm", progress=False)


@pytest.mark.parametrize("bf16", [False, True])
def test_activation_checkpointing_changes_memory_not_results(setup, bf16):
    "The default recomputes each block in the backward pass (and under bf16 updates without autocast's weight cache): the same training as keeping the activations."
    from wisemodel.reward import bf16_supported
    if bf16 and not bf16_supported("cpu"): pytest.skip("this CPU has no native bf16")
    d, synth, config = setup
    assert PolicyConfig().gradient_checkpointing
    short = config.model_copy(update={"steps": 3, "eval_prompts": 2, "bf16": bf16})
    runs = {gc: train_policy(synth, d / f"gc-{gc}-{bf16}", short.model_copy(update={"gradient_checkpointing": gc}),
                             reward_model=d / "rm", progress=False) for gc in (True, False)}
    a, b = _log(d / f"gc-True-{bf16}"), _log(d / f"gc-False-{bf16}")
    for x, y in zip(a, b):
        assert x["reward"] == pytest.approx(y["reward"], abs=1e-5) and x["policy_loss"] == pytest.approx(y["policy_loss"], abs=1e-5)
    from safetensors.torch import load_file
    wa, wb = load_file(d / f"gc-True-{bf16}" / "model.safetensors"), load_file(d / f"gc-False-{bf16}" / "model.safetensors")
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5
    base = load_file(Path(config.base_model) / "model.safetensors")
    assert max(float((wa[k] - base[k]).abs().max()) for k in wa if k in base) > 1e-4      # and training did move the weights
