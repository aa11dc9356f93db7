"""What bf16, train_layers and LoRA do to the reward model's training time and held-out accuracy on this machine.

Each configuration trains `wisemodel.reward.train_reward` on the same data (its own process, one after another) and
records time and held-out metrics in benchmarks/reward_configs.json; `--table` prints the markdown table.

    PYTHONPATH=$PWD python benchmarks/reward_configs.py --data SYNTH_FOLDER/preference   # a synth folder (wisemodel synth ... --out SYNTH_FOLDER)
    PYTHONPATH=$PWD python benchmarks/reward_configs.py                                    # toy data (no LLM)
    PYTHONPATH=$PWD python benchmarks/reward_configs.py --data ... --configs "train_layers=4 bf16" \
        --common '{"epochs": 4, "learning_rate": 2e-4}' --out benchmarks/reward_configs_longer.json
    PYTHONPATH=$PWD python benchmarks/reward_configs.py --data runs/RUN/synth/preference --configs "train_layers=4 bf16" \
        --common '{"epochs": 3, "learning_rate": 3e-4, "max_length": 256}' --seeds 0,1,2 --out benchmarks/reward_seeds.json
    python benchmarks/reward_configs.py --table
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIGS = {
    "full fp32":          {"bf16": False},
    "full bf16":          {"bf16": True},
    "train_layers=4 fp32": {"bf16": False, "train_layers": 4},
    "train_layers=4 fp32 no reuse": {"bf16": False, "train_layers": 4, "reuse_frozen_blocks": False},
    "train_layers=4 bf16": {"bf16": True, "train_layers": 4},
    "train_layers=4 bf16 no reuse": {"bf16": True, "train_layers": 4, "reuse_frozen_blocks": False},
    "train_layers=8 bf16": {"bf16": True, "train_layers": 8},
    "lora r=16 bf16":     {"bf16": True, "lora": True, "learning_rate": 5e-4},
}
KEYS = ("heldout_accuracy", "heldout_n", "seen_context_accuracy", "seen_context_n", "unseen_context_accuracy", "unseen_context_n", "untrained_accuracy",
        "length_baseline_accuracy", "mean_margin", "untrained_mean_margin", "ece", "train_seconds", "eval_seconds", "steps",
        "trainable_parameters", "train_pairs_used", "frozen_blocks_reused", "frozen_sequences_kept", "frozen_passes_saved")

def run_one(data: str, config: dict) -> dict:
    code = ("import json, sys; from wisemodel.reward import train_reward, RewardConfig\n"
            "rec = train_reward(sys.argv[1], sys.argv[2], RewardConfig(**json.loads(sys.argv[3])), progress=False)\n"
            "print(json.dumps(rec['metrics']))")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", code, data, f"{d}/reward", json.dumps(config)], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if res.returncode: return {"error": res.stderr[-2000:]}
    metrics = json.loads(res.stdout.strip().splitlines()[-1])
    return {**{k: metrics.get(k) for k in KEYS}, "per_kind": metrics["per_kind"], "per_context": metrics.get("per_context"), "wall_seconds": round(wall, 1),
            "load_average_after": os.getloadavg()[0]}

def _f(x, fmt=".3f"): return "–" if x is None else format(x, fmt)

def table(result: dict) -> str:
    lines = [f"data: `{result['data']}`, common: `{json.dumps(result['common'])}`", "",
             "| config | held-out acc (n) | trained-context acc (n) | unseen-context acc (n) | untrained acc | length baseline | mean margin | train s | eval s | trainable params |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["runs"].items():
        if "error" in r: lines.append(f"| {name} | error | | | | | | | | |"); continue
        lines.append(f"| {name} | {_f(r['heldout_accuracy'])} ({r['heldout_n']}) | {_f(r.get('seen_context_accuracy'))} ({r.get('seen_context_n', '–')}) | "
                     f"{_f(r['unseen_context_accuracy'])} ({r['unseen_context_n']}) | "
                     f"{_f(r['untrained_accuracy'])} | {_f(r['length_baseline_accuracy'])} | {_f(r['mean_margin'], '+.3f')} | "
                     f"{r['train_seconds']:.0f} | {r['eval_seconds']:.0f} | {r['trainable_parameters'] / 1e6:.1f}M |")
    return "\n".join(lines)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="a saved preference DatasetDict (default: wisemodel.reward.toy_preferences)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names of CONFIGS to run")
    ap.add_argument("--common", default='{"epochs": 2, "learning_rate": 1e-4, "max_length": 384}', help="JSON fields every run shares")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds: each config once per seed (default: the common seed)")
    ap.add_argument("--out", default=str(HERE / "reward_configs.json"))
    ap.add_argument("--table", action="store_true", help="print the table of --out and stop")
    a = ap.parse_args()
    if a.table: print(table(json.loads(Path(a.out).read_text()))); sys.exit()
    data = a.data
    if data is None:
        sys.path.insert(0, str(ROOT))
        from wisemodel.reward import toy_preferences
        data = tempfile.mkdtemp(prefix="toy-preference-"); toy_preferences().save_to_disk(data)
    common = json.loads(a.common)
    result = {"data": a.data or "toy_preferences()", "common": common, "cpu_count": os.cpu_count(), "runs": {}}
    seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else [None]
    for name in a.configs.split(","):
        for seed in seeds:
            key = name if seed is None else f"{name} seed={seed}"
            result["runs"][key] = run_one(data, {**common, **CONFIGS[name], **({} if seed is None else {"seed": seed})})
            print(key, json.dumps({k: result["runs"][key].get(k) for k in ("heldout_accuracy", "seen_context_accuracy", "train_seconds", "error")}), flush=True)
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
