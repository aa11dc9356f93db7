"""Reward-model scoring throughput: `RewardModel.score_batch` against one plain transformers forward per pair.

Both run in the same process on the same (prompt, response) pairs, so the ratio is meaningful on a shared CPU where
absolute speeds are not. Without --ckpt, a reward checkpoint of the embedded SmolLM2-135M-Instruct is trained first
(one step on the toy data: its weights do not matter for speed). Saves benchmarks/reward_throughput.json.

    PYTHONPATH=$PWD python benchmarks/reward_throughput.py [--ckpt runs/<id>/reward] [--n-pairs 64] [--batch-size 16]
"""
import argparse, json, os, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--n-pairs", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default=str(HERE / "reward_throughput.json"))
    a = ap.parse_args()
    from wisemodel.core import environment_info
    from wisemodel.reward import RewardConfig, bench_reward, toy_preferences, train_reward
    with tempfile.TemporaryDirectory() as d:
        ckpt = a.ckpt
        if ckpt is None:
            toy_preferences(per_prompt=1).save_to_disk(f"{d}/preference")
            train_reward(f"{d}/preference", f"{d}/rm", RewardConfig(epochs=1, max_length=256, train_layers=1), progress=False)
            ckpt = f"{d}/rm"
        result = bench_reward(ckpt, n_pairs=a.n_pairs, batch_size=a.batch_size)
    result.update(checkpoint=a.ckpt or "SmolLM2-135M-Instruct reward head (1 step on toy data)",
                  cpu_count=os.cpu_count(), load_average_after=os.getloadavg()[0], environment=environment_info())
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "environment"}, indent=2))
