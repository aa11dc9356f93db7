"""Manipulation robustness (issue #11): each aggregator against a coordinated bloc, a wise minority and a split population.

Settings of the defences are chosen on dev seeds (0-4) and every reported number comes from other seeds (100-109), so
nothing is tuned on the graphs it is scored on. Writes benchmarks/robustness.json and the figures
benchmarks/robustness.png (the main scenario, one panel per question), robustness_shapes.png (attack shapes),
robustness_mai.png (the published MAI graph's shape, lifted to pseudo-participants).

    python benchmarks/robustness.py            # full run (minutes on 2 cores)
    python benchmarks/robustness.py --quick    # 3 test seeds, fewer shapes
"""
import argparse, dataclasses, itertools, json, os, platform, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from wisemodel.graph import read_graph
from wisemodel.simulate import Bloc, Minority, simulate
from wisemodel.robustness import (ATTACK_SHAPES, coordination, polarised_cards, study_methods, robustness_study, attack_study,
                                  plot_study, _gamma, _baseline, _robust)

DEV_SEEDS = range(0, 5)
DEV_SHAPES = {k: ATTACK_SHAPES[k] for k in ("overt", "subtle", "noisy")}
QS = (0, 0.05, 0.1, 0.2, 0.3)
# reported: the dev shapes on other seeds, and shapes never looked at while choosing the settings
SHAPES = ATTACK_SHAPES


def tune(seeds=DEV_SEEDS, n_participants=500) -> dict:
    "Choose min_similarity, min_support (coordination) and min_z (polarisation) on dev seeds only."
    grid = []
    honest = [simulate(n_participants=n_participants, seed=s, minority=Minority(), split=1, as_graph=False) for s in seeds]
    attacked = [simulate(n_participants=n_participants, seed=s, minority=Minority(), split=1, bloc=dataclasses.replace(b, q=q), as_graph=False)
                for s in seeds for b in DEV_SHAPES.values() for q in (0.05, 0.1, 0.2)]
    for sim_, sup in itertools.product((0.4, 0.45, 0.5, 0.55, 0.6), (3, 5, 8)):
        false = sum(len(coordination(h.graph, sim_, sup)) for h in honest) / sum(len(h.graph.participants) for h in honest)
        rec, prec = [], []
        for a in attacked:
            f = set(coordination(a.graph, sim_, sup).participant_id)
            rec.append(len(f & a.bloc_participants) / len(a.bloc_participants))
            prec.append(len(f & a.bloc_participants) / len(f) if f else 0.0)
        grid.append(dict(min_similarity=sim_, min_support=sup, honest_flagged=false, recall=float(np.mean(rec)), precision=float(np.mean(prec))))
    grid = pd.DataFrame(grid)
    # no honest participant flagged on any dev seed; then the best recall; ties to the stricter setting
    ok = grid[grid.honest_flagged == 0].sort_values(["recall", "min_similarity", "min_support"], ascending=[False, False, False])
    best = ok.iloc[0] if len(ok) else grid.sort_values(["honest_flagged", "recall"], ascending=[True, False]).iloc[0]
    zs = []
    for z in (3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0):
        hit, false = [], []
        for h in honest:
            pol = polarised_cards(h.graph, z)
            for x in h.wisdom.index.get_level_values(0).unique():
                flagged = set(pol.card_id[pol.context_id == x])
                if x in h.split_contexts: hit += [c in flagged for c in h.split_contexts[x]]
                else: false.append(bool(flagged))
        zs.append(dict(min_z=z, split_cards_found=float(np.mean(hit)), other_contexts_with_a_flag=float(np.mean(false))))
    zs = pd.DataFrame(zs)
    zs["score"] = zs.split_cards_found - zs.other_contexts_with_a_flag
    tied = zs[zs.score == zs.score.max()].min_z.to_numpy()
    z = float(tied[len(tied) // 2])     # the middle of the best range: the widest margin either way
    return dict(settings=dict(min_similarity=float(best.min_similarity), min_support=int(best.min_support), min_z=z),
                coordination_grid=grid.to_dict("records"), polarisation_grid=zs.to_dict("records"))


def records(summary: pd.DataFrame) -> list:
    return json.loads(summary.round(4).to_json(orient="records", force_ascii=False))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--participants", type=int, default=500)
    args = ap.parse_args()
    seeds = range(100, 103) if args.quick else range(100, 110)
    t0 = time.time()
    tuned = tune()
    settings = tuned["settings"]
    print("settings chosen on dev seeds:", settings, f"({time.time() - t0:.0f} s)", flush=True)
    out = dict(issue=11, dev_seeds=list(DEV_SEEDS), test_seeds=list(seeds), qs=list(QS), participants=args.participants, **tuned,
               machine=dict(python=platform.python_version(), cpus=os.cpu_count()))
    # main scenario: bloc (overt, its own new card) attacks the minority's context; one split context; every method
    main_study = robustness_study(QS, seeds, bloc=Bloc(), n_participants=args.participants, methods=study_methods(**settings), progress=True)
    out["main"] = dict(bloc=dataclasses.asdict(Bloc()), minority=dataclasses.asdict(Minority()), split=1, summary=records(main_study.summary))
    plot_study(main_study.summary, metrics=("top1_unchanged", "minority_first", "detector_precision", "detector_recall", "contested_share", "contested_elsewhere"),
               title=f"bloc (overt) + wise minority + split context; {args.participants} honest participants, seeds {seeds.start}-{seeds.stop - 1}, 95% CI",
               path=HERE / "robustness.png")
    print(f"main done ({time.time() - t0:.0f} s)", flush=True)
    fast = {"Γ_∞": _gamma("inf"), "votes": _baseline("votes"), "bridging": _baseline("bridging"), "robust": _robust(**settings)}
    shapes = dict(list(SHAPES.items())[:3]) if args.quick else SHAPES
    out["shapes"], rows = {}, []
    for name, bloc in shapes.items():
        st = robustness_study(QS, seeds, bloc=bloc, n_participants=args.participants, methods=fast)
        out["shapes"][name] = dict(bloc=dataclasses.asdict(bloc), summary=records(st.summary))
        rows.append(st.summary.assign(shape=name))
        print(f"shape {name} done ({time.time() - t0:.0f} s)", flush=True)
    plot_shapes(pd.concat(rows, ignore_index=True), HERE / "robustness_shapes.png")
    mai = read_graph(ROOT / "data" / "mai" / "example_summary.json")
    mai_out = {}
    for name in ("overt", "subtle", "existing-card"):
        bloc = ATTACK_SHAPES[name]
        st = attack_study(mai, QS, seeds, bloc=bloc, methods={k: v for k, v in fast.items() if k != "bridging"})
        mai_out[name] = dict(bloc=dataclasses.asdict(bloc), summary=records(st.summary))
    out["mai"] = mai_out
    plot_study(pd.DataFrame(mai_out["overt"]["summary"]), metrics=("top1_unchanged", "tau_unchanged", "detector_precision", "detector_recall"),
               title="data/mai/example_summary.json lifted to pseudo-participants, overt bloc", path=HERE / "robustness_mai.png")
    out["seconds"] = round(time.time() - t0, 1)
    (HERE / "robustness.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, default=float) + "\n")
    print(f"wrote benchmarks/robustness.json in {out['seconds']} s")


def plot_shapes(df: pd.DataFrame, path: Path):
    "top1_unchanged and detector recall at q = 0.2 per attack shape and method, with 95% intervals."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d = df[df.q == 0.2]
    shapes, methods = list(dict.fromkeys(d["shape"])), list(dict.fromkeys(d["method"]))
    fig, axes = plt.subplots(1, 3, figsize=(14, 0.5 * len(shapes) + 1.6), sharey=True)
    for ax, metric in zip(axes, ("top1_unchanged", "bloc_first", "detector_recall")):
        for i, m in enumerate(methods):
            r = d[d.method == m].set_index("shape").reindex(shapes)
            y = np.arange(len(shapes)) + (i - len(methods) / 2) * 0.18
            ax.errorbar(r[metric], y, xerr=[r[metric] - r[f"{metric}_lo"], r[f"{metric}_hi"] - r[metric]], fmt="o", ms=4, label=m, color=f"C{i}")
        ax.set_title(f"{metric} at q = 0.2", fontsize=10); ax.set_xlim(-0.05, 1.05); ax.grid(alpha=0.3)
    axes[0].set_yticks(range(len(shapes))); axes[0].set_yticklabels(shapes, fontsize=8)
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)


if __name__ == "__main__":
    main()
