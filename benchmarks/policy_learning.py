"""Does our PPO learn? The held-out reward over training on several seeds (`wisemodel.policy.learning_curve`).

Trains the policy section of a run config (default: the tiny config's, on the embedded SmolLM2-135M) once per seed
against a run's reward model, with the held-out reward measured every --eval-every steps, and saves
benchmarks/policy_learning.json (the summary: rise of the mean held-out reward over seeds beside the seed-to-seed spread,
the largest KL) and benchmarks/policy_learning.png (the curve with its band over seeds). Each seed is a resumable run
under --work: rerunning after an interruption continues, and finished seeds are read back.

    PYTHONPATH=$PWD python benchmarks/policy_learning.py --run runs/<id> --steps 40 --eval-every 10 --seeds 0,1,2
    PYTHONPATH=$PWD python benchmarks/policy_learning.py --run runs/<id> --set learning_rate=5e-5 --set kl_coef=0.1
"""
import argparse, json, os, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a run folder with synth/ and reward/checkpoint (wisemodel run)")
    ap.add_argument("--config", default=str(HERE.parent / "papers/dft/configs/tiny.yaml"), help="a run config whose policy: section is used")
    ap.add_argument("--steps", type=int, default=40); ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a policy field (YAML value)")
    ap.add_argument("--work", default=None, help="where the per-seed runs go (default: <run>/policy_learning)")
    ap.add_argument("--out", default=str(HERE / "policy_learning.json"))
    a = ap.parse_args()
    import yaml
    from wisemodel.core import environment_info
    from wisemodel.policy import PolicyConfig, learning_curve, plot_learning_curve
    run = Path(a.run)
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in a.set)}
    config = PolicyConfig(**{**PolicyConfig.load(a.config).model_dump(), "steps": a.steps, "eval_every": a.eval_every, **overrides})
    seeds = tuple(int(s) for s in a.seeds.split(","))
    result = learning_curve(run / "synth", Path(a.work or run / "policy_learning"), config, seeds=seeds,
                            reward_model=str(run / "reward" / "checkpoint"))
    s = result["summary"]
    title = (f"PPO, {config.base_model}, {a.steps} steps × {config.batch_size} episodes, lr {config.learning_rate:g}, "
             f"β {config.kl_coef:g}; held-out n = {s['heldout_prompts']} prompts × {s['samples_per_prompt']}")
    plot_learning_curve(result, Path(a.out).with_suffix(".png"), title=title)
    record = {**s, "config": config.model_dump(), "run": str(run), "curve": result["curve"].to_dict(orient="records"),
              "cpu_count": os.cpu_count(), "environment": environment_info()}
    Path(a.out).write_text(json.dumps(record, indent=2, default=float) + "\n")
    print(json.dumps(s, indent=2))


if __name__ == "__main__":
    main()
