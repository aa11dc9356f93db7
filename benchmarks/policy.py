"""Our PPO (`wisemodel.policy`) against TRL 1.12's PPOTrainer, the last TRL release that has one, in the same run.

Both train the same base (the embedded SmolLM2-135M-Instruct unless --base), against the same reward model, on the
same prompts, with the same batch, response length, PPO epochs, minibatches, micro-batch size, temperature, KL
coefficient and missing-EOS penalty, at the same precision. TRL 1.12 is installed into its own virtual environment
(benchmarks/.venv-trl112: `pip install --no-deps trl==1.12.0`, which sees this environment's torch and transformers
through a .pth file and never changes them). Each trainer runs in its own process, one after the other, so each
process's peak memory is its own: peak RSS on CPU, `torch.cuda.max_memory_allocated` on GPU.

Episodes/s and response tokens/s are taken between the end of the warm-up steps and the end of the last step (wall
clock), so model loading and the first step's one-off costs are left out on both sides. Response tokens are the
tokens sampled up to and including EOS. Saves benchmarks/policy.json (ratios ours / TRL's: `speedup_episodes_per_s`,
`peak_memory_ratio`, per precision and per variant) and benchmarks/policy.png.

    PYTHONPATH=$PWD python benchmarks/policy.py                          # CPU size: batch 8, 48 tokens, 3 timed steps
    PYTHONPATH=$PWD python benchmarks/policy.py --batch 64 --response-length 128 --precision bf16   # a GPU node
    PYTHONPATH=$PWD python benchmarks/policy.py --data runs/<id>/synth --reward-model runs/<id>/reward/checkpoint
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRL_VERSION = "1.12.0"
# Our variants: the default (value head on the policy, activation checkpointing, segment attention, sampling's packed
# prefill), the same without checkpointing, with generate's own padded prefill, without segment attention (in policy
# and reward model; and so with the padded prefill too), a value model initialised from the
# reward model (TRL's design), and LoRA (reference = adapter off). TRL's PPOTrainer has
# a separate value model always; it runs as configured (its PPOConfig says gradient_checkpointing=True, but PPOTrainer
# never applies it: the child records what the model really does), with checkpointing switched on by hand on policy
# and critic, and with LoRA. Each of ours is compared with the TRL runs of the same design: (name, kind, config, the
# TRL runs it is compared with, the first one being its headline baseline).
RUNS = [(f"TRL {TRL_VERSION}", "trl", {}, ()),
        (f"TRL {TRL_VERSION} checkpointing", "trl", {"gradient_checkpointing": True}, ()),
        ("ours", "ours", {}, (f"TRL {TRL_VERSION}", f"TRL {TRL_VERSION} checkpointing")),
        ("ours no checkpointing", "ours", {"gradient_checkpointing": False}, (f"TRL {TRL_VERSION}",)),
        ("ours padded prefill", "ours", {"packed_prefill": False}, (f"TRL {TRL_VERSION}",)),
        ("ours no segment attention", "ours", {"segment_attention": False}, (f"TRL {TRL_VERSION}",)),
        ("ours value_model=reward", "ours", {"value_model": "reward"}, (f"TRL {TRL_VERSION}",)),
        (f"TRL {TRL_VERSION} lora", "trl", {"lora": True}, ()),
        ("ours lora", "ours", {"lora": True}, (f"TRL {TRL_VERSION} lora",)),
        # the top 8 of 30 blocks trained (the tiny config's setting), with and without passes that begin at the first
        # trained block (`reuse_frozen_blocks`): TRL 1.12 has no such setting, so the pair is compared with each other
        ("ours top 8 blocks no reuse", "ours", {"train_layers": 8, "reuse_frozen_blocks": False}, ()),
        ("ours top 8 blocks", "ours", {"train_layers": 8}, ("ours top 8 blocks no reuse",))]
LORA = {"lora_r": 16, "lora_alpha": 32}
# At step 1 the policy is its reference, so the first step's KL is ~0 (measured 2e-6 to 8e-6 here) in a correct run.
FIRST_KL_CEILING = 0.01


# ---------------------------------------------------------------------------------------------------------------
# The two children: each trains `warmup + steps` PPO steps and prints one JSON line of what it measured.

def _peak_memory_gib(device: str) -> float:
    import torch
    if device == "cuda": return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20         # ru_maxrss is KiB on Linux

def _rates(ends: list[float], tokens: list[int], spec: dict) -> dict:
    "Episodes/s and tokens/s over the steps after the warm-up: `ends` are wall-clock step ends, one per step."
    w = spec["warmup"]
    seconds = ends[-1] - ends[w - 1]
    timed = len(ends) - w
    return {"episodes_per_s": timed * spec["batch"] / seconds, "tokens_per_s": sum(tokens[w:]) / seconds,
            "seconds_per_step": seconds / timed, "timed_steps": timed, "mean_response_tokens": sum(tokens[w:]) / (timed * spec["batch"])}

def child_ours(spec: dict) -> dict:
    import torch
    from wisemodel.policy import PolicyConfig, train_policy
    n = spec["warmup"] + spec["steps"]
    config = PolicyConfig(base_model=spec["base"], steps=n, batch_size=spec["batch"], max_new_tokens=spec["response_length"],
                          temperature=spec["temperature"], ppo_epochs=spec["epochs"], minibatches=spec["minibatches"],
                          gradient_accumulation_steps=spec["accumulation"], kl_coef=spec["kl_coef"], learning_rate=spec["learning_rate"],
                          missing_eos_penalty=spec["missing_eos_penalty"], bf16=spec["bf16"], seed=spec["seed"],
                          eval_prompts=0, ref_reward_every=0, save_every=n + 1, **spec["variant"], **(LORA if spec["variant"].get("lora") else {}))
    with tempfile.TemporaryDirectory() as d:
        train_policy(spec["data"], Path(d) / "policy", config, reward_model=spec["reward_model"], progress=False)
        log = [json.loads(line) for line in (Path(d) / "policy" / "log.jsonl").read_text().splitlines()]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    split = {k: sum(r[k] for r in log[spec["warmup"]:]) / spec["steps"] for k in ("generate_seconds", "score_seconds", "logprob_seconds", "update_seconds")}
    return {**_rates([r["time"] for r in log], [round(r["response_length"] * r["episodes"]) for r in log], spec),
            "peak_memory_gib": _peak_memory_gib(device), "device": device, "split_seconds_per_step": split,
            "rewards": [r["reward"] for r in log], "kl": [r["kl"] for r in log]}

def child_trl(spec: dict) -> dict:
    import torch, trl
    if trl.__version__ != TRL_VERSION: raise SystemExit(f"the TRL child needs trl=={TRL_VERSION}, found {trl.__version__}")
    if spec["bf16"]: os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16"    # PPOTrainer builds its own Accelerator from this
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, TrainerCallback
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as trl_ppo
    from wisemodel.policy import _tokenizer, encode_prompts, load_prompts
    from wisemodel.reward import _base_path
    torch.manual_seed(spec["seed"])
    base = _base_path(spec["base"], "--base")
    tokenizer = _tokenizer(base)                     # a pad distinct from EOS: TRL 1.12 masks with ids != pad_token_id
    n = spec["warmup"] + spec["steps"]
    prompts = [p["prompt"] for p in load_prompts(spec["data"])["train"]]
    query, _ = encode_prompts(tokenizer, prompts, 256)
    query = (query * (n * spec["batch"] // max(len(query), 1) + 1))[:n * spec["batch"]]
    dataset = Dataset.from_dict({"input_ids": query})

    policy = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    value_model = AutoModelForSequenceClassification.from_pretrained(spec["reward_model"], num_labels=1, dtype=torch.float32)
    reward_model = AutoModelForSequenceClassification.from_pretrained(spec["reward_model"], num_labels=1, dtype=torch.float32)
    for m in (policy, value_model, reward_model): m.config.pad_token_id = tokenizer.pad_token_id
    micro = spec["batch"] // (spec["minibatches"] * spec["accumulation"])
    args = PPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=micro,
                     gradient_accumulation_steps=spec["batch"] // micro, num_mini_batches=spec["minibatches"],
                     num_ppo_epochs=spec["epochs"], total_episodes=n * spec["batch"], response_length=spec["response_length"],
                     local_rollout_forward_batch_size=spec["batch"], stop_token="eos", temperature=spec["temperature"],
                     missing_eos_penalty=spec["missing_eos_penalty"], kl_coef=spec["kl_coef"], learning_rate=spec["learning_rate"],
                     num_sample_generations=0, report_to=[], save_strategy="no", logging_steps=1, seed=spec["seed"],
                     bf16=spec["bf16"], use_cpu=not torch.cuda.is_available(), disable_tqdm=True)

    ends, tokens, history = [], [], []
    truncate = trl_ppo.truncate_response
    def counting_truncate(stop_token_id, pad_token_id, responses):      # count the sampled tokens up to EOS
        out = truncate(stop_token_id, pad_token_id, responses)
        tokens.append(int((out != pad_token_id).sum())); return out
    trl_ppo.truncate_response = counting_truncate
    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw): ends.append(time.time())
        def on_log(self, args, state, control, logs=None, **kw): history.append(dict(logs or {}))
    peft_config = None
    if spec["variant"].get("lora"):                  # the same adapters as ours: every linear layer of the blocks
        from wisemodel.policy import PolicyConfig, _lora_config
        peft_config = _lora_config(policy, PolicyConfig(lora=True, **LORA))
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=None, reward_model=reward_model,
                         train_dataset=dataset, value_model=value_model, callbacks=[Clock()], peft_config=peft_config)
    wrapper = trainer.accelerator.unwrap_model(trainer.model)
    if spec["variant"].get("gradient_checkpointing"):  # as ours does it: every block of policy and critic, non-reentrant
        for m in (wrapper.policy, wrapper.value_model): m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    checkpointing = bool(getattr(wrapper.policy, "is_gradient_checkpointing", False))
    trainer.train()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return {**_rates(ends, tokens, spec), "peak_memory_gib": _peak_memory_gib(device), "device": device,
            "config_gradient_checkpointing": bool(args.gradient_checkpointing), "activation_checkpointing": checkpointing,
            "rewards": [l["objective/scores"] for l in history if "objective/scores" in l],
            "kl": [l["objective/kl"] for l in history if "objective/kl" in l]}


# ---------------------------------------------------------------------------------------------------------------
# The parent: set up the TRL environment, the data and the reward model; run the children; compare.

def trl_venv(folder: Path) -> Path:
    "The python of a virtual environment with trl==1.12.0 over this environment's packages (created on first use)."
    python = folder / "bin" / "python"
    if python.exists(): return python
    import sysconfig
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")   # read-only view of ours
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", f"trl=={TRL_VERSION}"], check=True)
    return python

def run_child(python, kind: str, spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TRL_EXPERIMENTAL_SILENCE="1", TOKENIZERS_PARALLELISM="false")
    t0 = time.perf_counter()
    res = subprocess.run([str(python), __file__, "--child", kind, "--spec", json.dumps(spec)], env=env, capture_output=True, text=True)
    if res.returncode: return {"error": res.stderr[-3000:], "wall_seconds": round(time.perf_counter() - t0, 1)}
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "wall_seconds": round(time.perf_counter() - t0, 1)}

def plot(result: dict, path: Path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    def label(name, prec, r):       # the policy is the reference at step 1: a first KL far from 0 means the run is broken
        broken = abs(r["kl"][0]) > FIRST_KL_CEILING if r.get("kl") else False
        return f"{name}\n{prec}" + (f" (first KL {r['kl'][0]:.0f}: broken)" if broken else "")
    rows = [(label(name, prec, r), r) for prec, runs in result["runs"].items() for name, r in runs.items() if "error" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.55 * len(rows) + 1.6))
    for ax, key, label in ((axes[0], "episodes_per_s", "episodes / s (higher is better)"), (axes[1], "peak_memory_gib", "peak memory, GiB (lower is better)")):
        ax.barh([n for n, _ in rows], [r[key] for _, r in rows], color=["#c44e52" if n.startswith("TRL") else "#4c72b0" for n, _ in rows])
        for i, (_, r) in enumerate(rows): ax.text(r[key], i, f" {r[key]:.2f}", va="center", fontsize=8)
        ax.set_xlabel(label); ax.invert_yaxis()
    axes[1].set_yticks([])
    s = result["settings"]
    fig.suptitle(f"PPO on {result['device']}: wisemodel vs TRL {TRL_VERSION} · batch {s['batch']}, {s['response_length']} tokens, "
                 f"{s['epochs']} epochs × {s['minibatches']} minibatches", fontsize=10)
    plt.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", choices=["ours", "trl"]); ap.add_argument("--spec")
    ap.add_argument("--base", default="SmolLM2-135M-Instruct")
    ap.add_argument("--data", default=None, help="a synth folder (default: the toy prompts)")
    ap.add_argument("--reward-model", default=None, help="a reward checkpoint sharing the base's tokenizer (default: one trained for 1 step on toy data)")
    ap.add_argument("--batch", type=int, default=8); ap.add_argument("--response-length", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=2); ap.add_argument("--minibatches", type=int, default=2)
    ap.add_argument("--accumulation", type=int, default=1, help="micro-batches per minibatch")
    ap.add_argument("--steps", type=int, default=6, help="timed steps (with 3, the ratio moved by ~10%% between runs on a 2-core CPU)"); ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--precision", choices=["fp32", "bf16", "both"], default="both")
    ap.add_argument("--runs", default=",".join(r[0] for r in RUNS), help="which runs, comma-separated")
    ap.add_argument("--venv", default=str(HERE / ".venv-trl112"))
    ap.add_argument("--out", default=str(HERE / "policy.json"))
    ap.add_argument("--keep-other-precisions", action="store_true", help="keep the runs of --out for the precisions not rerun")
    a = ap.parse_args()
    if a.child:
        spec = json.loads(a.spec)
        print(json.dumps(child_ours(spec) if a.child == "ours" else child_trl(spec))); return

    import torch
    from wisemodel.core import environment_info
    from wisemodel.policy import toy_synth
    from wisemodel.reward import RewardConfig, bf16_supported, train_reward
    device = "cuda" if torch.cuda.is_available() else "cpu"
    python = trl_venv(Path(a.venv))
    precisions = {"fp32": [False], "bf16": [True], "both": [False, True]}[a.precision]
    if True in precisions and not bf16_supported(device):
        print(f"this {device} has no native bf16: fp32 only"); precisions = [False]
    with tempfile.TemporaryDirectory() as d:
        data = a.data or str(toy_synth(Path(d) / "synth"))
        reward = a.reward_model
        if reward is None:
            train_reward(f"{data}/preference", f"{d}/rm", RewardConfig(base_model=a.base,
                         epochs=0.05, max_length=256, train_layers=1), progress=False)
            reward = f"{d}/rm"
        settings = {"base": a.base, "batch": a.batch, "response_length": a.response_length, "epochs": a.epochs, "minibatches": a.minibatches,
                    "accumulation": a.accumulation, "steps": a.steps, "warmup": a.warmup, "temperature": 0.7, "kl_coef": 0.05,
                    "learning_rate": 1e-5, "missing_eos_penalty": 1.0, "seed": 0}
        runs = {}
        chosen = a.runs.split(",")
        for bf16 in precisions:
            prec = "bf16" if bf16 else "fp32"
            spec = {**settings, "data": data, "reward_model": reward, "bf16": bf16}
            runs[prec] = {}
            for name, kind, variant, _ in RUNS:
                if name not in chosen: continue
                runs[prec][name] = run_child(python if kind == "trl" else sys.executable, kind, {**spec, "variant": variant})
                print(prec, name, json.dumps(runs[prec][name])[:300], flush=True)
    ratios = {}
    for prec, r in runs.items():
        ratios[prec] = {}
        for name, kind, _, baselines in RUNS:
            for i, baseline in enumerate(baselines):
                if name not in r or baseline not in r or "error" in r[name] or "error" in r[baseline]: continue
                x, y = r[name], r[baseline]
                ratios[prec][name if i == 0 else f"{name} vs {baseline}"] = {
                    "baseline": baseline, "speedup_episodes_per_s": round(x["episodes_per_s"] / y["episodes_per_s"], 2),
                    "speedup_tokens_per_s": round(x["tokens_per_s"] / y["tokens_per_s"], 2),
                    "peak_memory_ratio": round(x["peak_memory_gib"] / y["peak_memory_gib"], 2)}
    kept = {}
    if a.keep_other_precisions and Path(a.out).exists():       # e.g. rerun bf16 after a change that only bf16 sees
        old = json.loads(Path(a.out).read_text())
        for prec in set(old.get("runs", {})) - set(runs):
            runs[prec], ratios[prec] = old["runs"][prec], old["ratios"].get(prec, {})
            kept[prec] = {"git": old.get("environment", {}).get("git_sha"), "load_average_after": old.get("load_average_after")}
    headline_prec = "bf16" if "bf16" in ratios else "fp32"
    headline = ratios.get(headline_prec, {}).get("ours", {})
    result = {"speedup_episodes_per_s": headline.get("speedup_episodes_per_s"), "peak_memory_ratio": headline.get("peak_memory_ratio"),
              "headline": f"ours (default config) over TRL {TRL_VERSION}, {headline_prec}", "ratios": ratios, "runs": runs,
              "settings": settings, "data": a.data or "toy prompts (wisemodel.policy.toy_synth)",
              "reward_model": a.reward_model or "base + score head, trained briefly on toy pairs (its quality does not matter for speed)",
              "device": torch.cuda.get_device_name() if device == "cuda" else f"CPU, {os.cpu_count()} cores",
              "load_average_after": os.getloadavg()[0], "kept_from_an_earlier_run": kept, "environment": environment_info()}
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    plot(result, Path(a.out).with_suffix(".png"))
    print(json.dumps({"ratios": ratios, "headline": result["headline"]}, indent=2))

if __name__ == "__main__":
    main()
