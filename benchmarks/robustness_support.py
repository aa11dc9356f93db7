"""Is a top value that a bloc moves one the honest participants had settled? (issue #11)

For every test seed of benchmarks/robustness.py (100-109) and two graph kinds (simulated deliberations of 500 honest
people with one split context and no wise minority, so the bloc attacks the split context, context 0 — the shapes' study
adds a minority there; the published MAI graph lifted to ~50 pseudo-participants, as in the study), the unattacked
graph's top value in each context a bloc attacks, and its support: the share of participant bootstraps (`top_support`)
in which it leads again. Then every attack shape (on the MAI graph, the study's MAI shapes) at every q: is that top
still first? Settings are robustness.json's (chosen on dev
seeds); nothing here chooses a setting. Writes benchmarks/robustness_support.json and robustness_support.png.

    python benchmarks/robustness_support.py --jobs 2     # 8-24 minutes on 2 cores
    python benchmarks/robustness_support.py --quick      # 2 seeds, 20 resamples
    python benchmarks/robustness_support.py --only placed,runner-up-placed --jobs 2   # add shapes to the saved run
"""
import argparse, dataclasses, json, os, platform, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from wisemodel.aggregate import wise_values, top_cards
from wisemodel.graph import read_graph
from wisemodel.simulate import simulate, lift_mai, inject_bloc
from wisemodel.robustness import ATTACK_SHAPES, robust_values, top_support

QS = (0.05, 0.1, 0.2, 0.3)
MAI_SHAPES = ("overt", "subtle", "existing-card", "vote-only", "one-edge-noisy", "noisy", "mimic-noisy", "camouflaged", "runner-up", "runner-up-noisy",
              "placed", "runner-up-placed")
SETTLED = 0.9    # the support this file calls settled: the top leads in 9 of 10 resamples or more


def rankers(settings: dict) -> dict:
    return {"robust": lambda g: robust_values(g, **settings)[0], "Γ_∞": lambda g: wise_values(g, "inf", share=False, labels=False)}


def one_seed(args) -> list:
    "Rows (kind, seed, method, shape, q, context_id, top, support, runner_up, top_attacked, kept) of one seed and graph kind."
    kind, seed, settings, resamples, participants, only = args
    rows, methods = [], rankers(settings)
    if kind == "mai":
        base = lift_mai(read_graph(ROOT / "data" / "mai" / "example_summary.json"), seed=seed)
        unattacked = {None: base}                             # the same lifted graph under every shape
        attack = lambda shape, q: inject_bloc(base, dataclasses.replace(ATTACK_SHAPES[shape], q=q), seed=seed)
        shapes = tuple(s for s in MAI_SHAPES if only is None or s in only)
    else:
        # a simulated graph holds the bloc's new card before anyone deliberates: its unattacked graph depends on the shape's
        # target and contexts, one graph for each
        key = lambda shape: (ATTACK_SHAPES[shape].target, ATTACK_SHAPES[shape].contexts)
        sim = lambda shape, q: simulate(n_participants=participants, seed=seed, split=1, bloc=dataclasses.replace(ATTACK_SHAPES[shape], q=q), as_graph=False)
        shapes = tuple(s for s in ATTACK_SHAPES if only is None or s in only)
        unattacked = {key(s): sim(s, 0.0).graph for s in shapes}
        def attack(shape, q):
            s = sim(shape, q)
            return s.graph, s.bloc_participants, s.bloc_edges, s.bloc_cards
    support = {(k, m): top_support(g, f, resamples=resamples, seed=seed).set_index("context_id") for k, g in unattacked.items() for m, f in methods.items()}
    for shape in shapes:
        k = key(shape) if kind != "mai" else None
        for q in QS:
            g, who, _, cards = attack(shape, q)
            for m, f in methods.items():
                after = top_cards(f(g))
                st = support[(k, m)]
                for ctx in cards:
                    if ctx not in st.index: continue
                    r = st.loc[ctx]
                    rows.append(dict(kind=kind, seed=seed, method=m, shape=shape, q=q, context_id=ctx, top=r["top"], support=float(r["support"]),
                                     runner_up=r["runner_up"], top_attacked=after.get(ctx), kept=after.get(ctx) == r["top"]))
    return rows


def summarise(df: pd.DataFrame) -> list:
    "Per kind, method and q: attacks, share kept; split by settled (support >= SETTLED) and not."
    out = []
    for (kind, m, q), d in df.groupby(["kind", "method", "q"], sort=True):
        row = dict(kind=kind, method=m, q=q, attacks=len(d), kept=round(float(d.kept.mean()), 4))
        for name, part in (("settled", d[d.support >= SETTLED]), ("unsettled", d[d.support < SETTLED])):
            row[f"{name}_attacks"], row[f"{name}_kept"] = len(part), round(float(part.kept.mean()), 4) if len(part) else None
        out.append(row)
    return out


def plot(df: pd.DataFrame, path: Path, seeds, resamples: int):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (kind, title) in zip(axes, (("simulated", "simulated, 500 honest people, split context attacked"), ("mai", "MAI graph lifted to ~50 pseudo-participants"))):
        for i, m in enumerate(("robust", "Γ_∞")):
            d = df[(df.kind == kind) & (df.method == m)].groupby(["seed", "context_id", "top", "support"]).agg(kept=("kept", "mean")).reset_index()
            jitter = (np.random.default_rng(i).random(len(d)) - 0.5) * 0.015
            ax.scatter(d.support + jitter, d.kept, s=18, alpha=0.7, color=f"C{i}", label=f"{m} ({len(d)} attacked contexts)")
        ax.axvline(SETTLED, color="k", lw=0.6, ls=":"); ax.axhline(0.9, color="k", lw=0.6, ls=":")
        ax.set_xlabel(f"unattacked top's support (share of {resamples} participant resamples it leads)", fontsize=8)
        ax.set_title(title, fontsize=10); ax.set_xlim(-0.03, 1.03); ax.set_ylim(-0.03, 1.03); ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of attacks (shapes × q) it survives", fontsize=8)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Does a bloc move settled tops, or near-ties? Seeds {seeds[0]}-{seeds[-1]}, q = {', '.join(map(str, QS))}", fontsize=10)
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--resamples", type=int, default=100)
    ap.add_argument("--participants", type=int, default=500)
    ap.add_argument("--plot-only", action="store_true", help="Redraw the figure from robustness_support.json.")
    ap.add_argument("--only", help="comma-separated shapes: run just these (same seeds, settings and resamples as the saved run) and "
                                   "merge their rows into robustness_support.json; every other row stays as it was")
    args = ap.parse_args()
    if args.plot_only:
        saved = json.loads((HERE / "robustness_support.json").read_text())
        return plot(pd.DataFrame(saved["rows"]), HERE / "robustness_support.png", saved["seeds"], saved["resamples"])
    saved = json.loads((HERE / "robustness.json").read_text())
    settings, seeds = saved["settings"], saved["test_seeds"][:2] if args.quick else saved["test_seeds"]
    resamples = 20 if args.quick else args.resamples
    only = tuple(args.only.split(",")) if args.only else None
    if only and (unknown := [s for s in only if s not in ATTACK_SHAPES]): sys.exit(f"--only: unknown shape(s) {unknown}; the shapes are {list(ATTACK_SHAPES)}")
    before = json.loads((HERE / "robustness_support.json").read_text()) if only else None
    if before: seeds, resamples, participants = before["seeds"], before["resamples"], before["participants"]
    else: participants = args.participants
    t0 = time.time()
    tasks = [(kind, s, settings, resamples, participants, only) for kind in ("mai", "simulated") for s in seeds]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool: done = list(pool.map(one_seed, tasks))
    else: done = [one_seed(t) for t in tasks]
    df = pd.DataFrame([r for rows in done for r in rows])
    if before:   # the saved rows of every other shape, then these
        df = pd.concat([pd.DataFrame(before["rows"]).query("shape not in @only"), df], ignore_index=True)
    out = dict(issue=11, settings=settings, seeds=list(seeds), qs=list(QS), resamples=resamples, participants=participants, settled=SETTLED,
               summary=summarise(df), rows=json.loads(df.to_json(orient="records", force_ascii=False)),
               seconds=before["seconds"] if before else round(time.time() - t0, 1), machine=dict(python=platform.python_version(), cpus=os.cpu_count()))
    if before: out["partial_runs"] = before.get("partial_runs", []) + [dict(shapes=list(only), seconds=round(time.time() - t0, 1), date=time.strftime("%Y-%m-%d"))]
    (HERE / "robustness_support.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    plot(df, HERE / "robustness_support.png", list(seeds), resamples)
    print(pd.DataFrame(out["summary"]).to_string())
    print(f"wrote benchmarks/robustness_support.json in {out['seconds']} s")


if __name__ == "__main__":
    main()
