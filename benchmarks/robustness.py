"""Manipulation robustness (issue #11): each aggregator against a coordinated bloc, a wise minority and a split population.

Settings of the defences are chosen on dev seeds (0-4; 0-19 for the contested label) and every reported number comes
from other seeds (100-109; 100-139 for the contested label), so nothing is tuned on the graphs it is scored on.
Writes benchmarks/robustness.json and the figures (simulated deliberations, 500 honest participants unless said):

    robustness.png            the main scenario (bloc + wise minority + split context), one panel per question
    robustness_contested.png  are split contexts labelled contested, and unsplit ones not? (the first test vs opposed_pairs)
    robustness_shapes.png     does the top value survive each attack shape? (top1_unchanged against q)
    robustness_detector.png   is each shape's bloc found? (precision and recall of robust's detector against q)
    robustness_mai.png        the published MAI graph's shape, lifted to pseudo-participants: top value unchanged per attack shape

    python benchmarks/robustness.py --jobs 2     # full run (20-35 minutes on 2 cores; --jobs splits the shapes over processes)
    python benchmarks/robustness.py --quick      # 3 test seeds, a few shapes
    python benchmarks/robustness.py --only placed,runner-up-placed --jobs 2   # add shapes to the saved run, nothing re-tuned
"""
import argparse, dataclasses, itertools, json, os, platform, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from wisemodel.aggregate import _tables, wise_values, top_cards
from wisemodel.graph import read_graph
from wisemodel.simulate import Bloc, Minority, simulate, lift_mai
from wisemodel.robustness import (ATTACK_SHAPES, coordination, defend, opposed_pairs, study_methods, robustness_study, attack_study,
                                  plot_study, evaluate, _gamma, _baseline, _robust, _per_card)

DEV_SEEDS = range(0, 5)
DEV_SEEDS_CONTESTED = range(0, 20)     # 20 split contexts: 5 are too few to place a threshold
DEV_SHAPES = {k: ATTACK_SHAPES[k] for k in ("overt", "subtle", "noisy")}
DEV_SHAPES_ONE_SIDED = {k: ATTACK_SHAPES[k] for k in ("overt", "subtle", "noisy", "one-edge-noisy")}
QS = (0, 0.05, 0.1, 0.2, 0.3)
SHAPES = ATTACK_SHAPES      # reported on test seeds: the dev shapes, and shapes never looked at while choosing a setting
MAI_SHAPES = ("overt", "subtle", "existing-card", "vote-only", "one-edge-noisy", "noisy", "mimic-noisy", "camouflaged", "runner-up", "runner-up-noisy",
              "placed", "runner-up-placed")
DEV_SHAPES_CONFIRM = {k: ATTACK_SHAPES[k] for k in ("overt", "subtle", "noisy", "one-edge-noisy", "existing-card", "camouflaged")}   # the first four alone tie at 1.0 for every bar from 1 to 6
MAI_AGREEMENT = 0.9      # confirm may change plain Γ_∞'s unattacked top in at most 1 in 10 of the lifted MAI graph's contexts (0.85 picked 6 on dev seeds: a bar that demotes leaders 4-5 others confirmed)


def wilson(k: int, n: int, z: float = 1.96):
    "Wilson's 95% interval for k successes in n."
    if n == 0: return (np.nan, np.nan)
    p, d = k / n, 1 + z * z / n
    c, h = (p + z * z / (2 * n)) / d, z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(c - h, 4), round(c + h, 4))


def tune_coordination(seeds=DEV_SEEDS, n_participants=500) -> dict:
    "min_similarity, min_support of `coordination`: no honest participant flagged on any dev seed, then the best recall."
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
    ok = grid[grid.honest_flagged == 0].sort_values(["recall", "min_similarity", "min_support"], ascending=[False, False, False])
    best = ok.iloc[0] if len(ok) else grid.sort_values(["honest_flagged", "recall"], ascending=[True, False]).iloc[0]
    return dict(settings=dict(min_similarity=float(best.min_similarity), min_support=int(best.min_support)), grid=grid.to_dict("records"))


def coordination_sizes(min_similarity: float, seeds=DEV_SEEDS, sizes=(100, 250, 500, 1000, 2000), supports=(3, 4, 5, 6, 8, 10, 12)) -> list:
    """Honest participants `coordination` flags on unattacked graphs of several sizes (dev seeds, with and without a minority
    and a split; and the lifted MAI graph, ~50 people) at each min_support; per size, the smallest min_support that flags nobody."""
    mai = read_graph(ROOT / "data" / "mai" / "example_summary.json")
    graphs = {50: [lift_mai(mai, seed=s) for s in seeds]}
    for n in sizes:
        graphs[n] = [simulate(n_participants=n, seed=s, as_graph=False, **kw).graph for s in seeds for kw in ({}, dict(minority=Minority(), split=1))]
    rows = []
    for n, gs in graphs.items():
        flagged = {k: int(sum(len(coordination(g, min_similarity, k)) for g in gs)) for k in supports}
        clean = [k for k in supports if flagged[k] == 0]
        rows.append(dict(participants=n, graphs=len(gs), flagged_by_min_support=flagged, smallest_clean=min(clean) if clean else None))
    return rows


def _contested_top(sim, opposed, ranked) -> dict:
    "context -> is the top card of `ranked` in an opposed pair of `opposed`."
    cards = _per_card(opposed) if len(opposed) else None
    pol = set(zip(cards.context_id, cards.card_id)) if cards is not None else set()
    top = ranked[ranked["rank"] == 1]
    return {x: (x, c) in pol for x, c in zip(top.context_id.astype(str), top.card_id.astype(str))}


def tune_polarisation(seeds=DEV_SEEDS_CONTESTED, n_participants=500, coordination_settings=None) -> dict:
    "min_z (and ridge, reported) of `opposed_pairs`: split contexts whose top card is contested minus unsplit ones, middle of the best range."
    zs, ridges = (2.5, 2.75, 3.0, 3.25, 3.5, 4.0), (0.25, 0.5, 1.0)
    rows = []
    for s in seeds:
        sim = simulate(n_participants=n_participants, seed=s, minority=Minority(), split=1, as_graph=False)
        g, _ = defend(sim.graph, **(coordination_settings or {}))
        ranked = wise_values(g, "inf", share=False, labels=False)
        for r in ridges:
            op = opposed_pairs(g, min_z=min(zs), ridge=r)
            for z in zs:
                for x, hit in _contested_top(sim, op[op.z >= z], ranked).items():
                    rows.append(dict(seed=s, ridge=r, min_z=z, split=x in sim.split_contexts, contested=hit))
    d = pd.DataFrame(rows)
    grid = d.groupby(["ridge", "min_z"]).apply(lambda g: pd.Series(dict(split_found=g[g.split].contested.mean(),
                                                                        false_alarms=g[~g.split].contested.mean())), include_groups=False).reset_index()
    grid["score"] = grid.split_found - grid.false_alarms
    at = grid[grid.ridge == 0.5]                     # ridge 0.5 a priori (a weak prior); the others show the sensitivity
    tied = at[np.isclose(at.score, at.score.max())].min_z.to_numpy()
    return dict(settings=dict(min_z=float(tied[len(tied) // 2]), ridge=0.5), grid=grid.round(4).to_dict("records"))


def tune_one_sided(settings: dict, seeds=DEV_SEEDS, n_participants=500) -> dict:
    """one_sided (min t of drop_one_sided), or None: the best mean top1_unchanged on dev shapes, precision >= 0.9 where it flags, no loss
    at q = 0. Chosen without drop_unconfirmed (confirm=None), the later defence, whose setting is then chosen given this one."""
    grid = []
    for t in (None, 3.0, 4.0, 5.0, 6.0):
        methods = {"robust": _robust(**settings, one_sided=t, confirm=None)}
        runs = pd.concat([robustness_study((0, 0.05, 0.1, 0.2), seeds, bloc=b, methods=methods, n_participants=n_participants).runs
                          for b in DEV_SHAPES_ONE_SIDED.values()])
        at0, att = runs[runs.q == 0], runs[runs.q > 0]
        seen = att[att.detector_recall > 0]          # precision where the detector flagged someone (it reads 0 when it flags nobody)
        grid.append(dict(one_sided=t, top1_unchanged=float(att.top1_unchanged.mean()), detector_precision=float(seen.detector_precision.mean()),
                         detector_recall=float(att.detector_recall.mean()), honest_flagged=float(at0.honest_flagged.mean()),
                         top1_accuracy=float(at0.top1_accuracy.mean()), contested_share=float(att.contested_share.mean())))
    grid = pd.DataFrame(grid)
    base = grid[grid.one_sided.isna()].iloc[0]
    ok = grid[(grid.detector_precision >= 0.9) & (grid.top1_accuracy >= base.top1_accuracy - 1e-9)]
    best = ok.sort_values(["top1_unchanged", "one_sided"], ascending=[False, False], na_position="first").iloc[0]
    return dict(settings=dict(one_sided=None if pd.isna(best.one_sided) else float(best.one_sided)),
                grid=json.loads(grid.round(4).to_json(orient="records")))


def tune_confirm(settings: dict, seeds=DEV_SEEDS, n_participants=500) -> dict:
    """confirm (min_confirm of drop_unconfirmed and leadership), or None: the best mean top1_unchanged over the dev shapes on the
    MAI graph lifted to pseudo-participants (where blocs are small), with no loss of top-1 accuracy on unattacked simulated graphs
    and the unattacked lifted graph's top equal to plain Γ_∞'s in >= MAI_AGREEMENT of its contexts."""
    mai = read_graph(ROOT / "data" / "mai" / "example_summary.json")
    lifted = [lift_mai(mai, seed=s) for s in seeds]
    plain = [top_cards(wise_values(g, "inf", share=False, labels=False)) for g in lifted]
    sims = [simulate(n_participants=n_participants, seed=s, minority=Minority(), split=1, as_graph=False) for s in seeds]
    grid = []
    for k in (None, 1, 2, 3, 4, 5, 6):
        method = _robust(**settings, confirm=k)
        same = [top_cards(method(g)[0])[x] == ref[x] for g, ref in zip(lifted, plain) for x in ref]
        acc = float(np.mean([evaluate(sim, None, {"robust": method})[0].top1_accuracy.iloc[0] for sim in sims]))
        att = pd.concat([attack_study(mai, (0.05, 0.1, 0.2, 0.3), seeds, bloc=b, methods={"robust": method}).runs for b in DEV_SHAPES_CONFIRM.values()])
        grid.append(dict(confirm=k, top1_unchanged_mai=float(att.top1_unchanged.mean()), mai_top_as_plain=float(np.mean(same)), top1_accuracy=acc))
    grid = pd.DataFrame(grid)
    base = grid[grid.confirm.isna()].iloc[0]
    ok = grid[(grid.top1_accuracy >= base.top1_accuracy - 1e-9) & (grid.mai_top_as_plain >= MAI_AGREEMENT)]
    best = ok.sort_values(["top1_unchanged_mai", "confirm"], ascending=[False, True], na_position="first").iloc[0]
    return dict(settings=dict(confirm=None if pd.isna(best.confirm) else int(best.confirm)),
                grid=json.loads(grid.round(4).to_json(orient="records")))


def old_polarised(graph, min_z=3.5, min_judgements=5) -> pd.DataFrame:
    "The first contested test (before opposed_pairs), kept here as the baseline: per card and group, the mean of +1/-1 over its verdicts."
    t = _tables(graph); e = t.edges
    gmap = pd.Series(t.participants["group"].to_numpy(dtype=object), index=t.participants["participant_id"].astype(object)).groupby(level=0).first()
    grp = gmap.reindex(e["participant_id"].astype(object)).to_numpy(dtype=object)
    v = e["verdict"].astype(object).to_numpy(); n = e["count"].to_numpy(dtype=float)
    sign = np.where(v == "wiser", 1.0, np.where(v == "not_wiser", -1.0, 0.0)); ctx = e["context_id"].astype(object).to_numpy()
    two = lambda a, b: np.concatenate([a, b])
    rows = pd.DataFrame({"context_id": two(ctx, ctx), "card_id": two(e["to_card"].astype(object), e["from_card"].astype(object)),
                         "group": two(grp, grp), "net": two(sign * n, -sign * n), "sq": two(sign ** 2 * n, sign ** 2 * n), "n": two(n, n)}).dropna(subset=["group"])
    per = rows.groupby(["context_id", "card_id", "group"])[["net", "sq", "n"]].sum()
    per = per[per["n"] >= min_judgements].reset_index()
    per["mean"] = per["net"] / per["n"]
    per["var"] = np.maximum(per["sq"] / per["n"] - per["mean"] ** 2, 0.05) / per["n"]
    hi = per.loc[per.groupby(["context_id", "card_id"])["mean"].idxmax()].set_index(["context_id", "card_id"])
    lo = per.loc[per.groupby(["context_id", "card_id"])["mean"].idxmin()].set_index(["context_id", "card_id"])
    z = (hi["mean"] - lo["mean"]) / np.sqrt(hi["var"] + lo["var"])
    return z[(hi["group"] != lo["group"]) & (z >= min_z)].reset_index()


def contested_study(settings: dict, seeds, sizes=(250, 500, 1000)) -> dict:
    "Split contexts labelled contested, and unsplit ones (false alarms), by the first test and by opposed_pairs, at several sizes."
    rows = []
    for n in sizes:
        for s in seeds:
            sim = simulate(n_participants=n, seed=s, minority=Minority(), split=1, as_graph=False)
            g, _ = defend(sim.graph, settings["min_similarity"], settings["min_support"])
            ranked = wise_values(g, "inf", share=False, labels=False)
            new = _contested_top(sim, opposed_pairs(g, settings["min_z"], settings["ridge"]), ranked)
            old = old_polarised(g)
            pol = set(zip(old.context_id, old.card_id))
            # the first test: a polarised card among the first three also marked the cards above it
            for x, r in ranked.groupby(ranked.context_id.astype(str)):
                order = list(r.sort_values("rank").card_id.astype(str))
                first = any((x, c) in pol for c in order[:3])
                rows.append(dict(participants=n, seed=s, context=x, split=x in sim.split_contexts, first_test=first, opposed_pairs=new[x]))
    d = pd.DataFrame(rows)
    out = []
    for (n, split), g in d.groupby(["participants", "split"]):
        for test in ("first_test", "opposed_pairs"):
            k, m = int(g[test].sum()), len(g)
            out.append(dict(participants=int(n), contexts="split" if split else "unsplit", test=test, contested=k, of=m,
                            share=round(k / m, 4), interval=wilson(k, m)))
    return dict(seeds=[seeds.start, seeds.stop - 1], rows=out)


def records(summary: pd.DataFrame) -> list:
    return json.loads(summary.round(4).to_json(orient="records", force_ascii=False))


def _shape_study(args):
    "One shape's sweep (a process of its own with --jobs)."
    name, bloc, seeds, n, settings = args
    methods = {"Γ_∞": _gamma("inf"), "votes": _baseline("votes"), "bridging": _baseline("bridging"), "bridging_mf": _baseline("bridging_mf"),
               "robust": _robust(**settings), "robust, no one-sided": _robust(**{**settings, "one_sided": None}),
               "robust, no confirm": _robust(**{**settings, "confirm": None})}
    return name, robustness_study(QS, seeds, bloc=bloc, n_participants=n, methods=methods).summary


def run_shapes(out: dict, names: list, seeds, participants: int, settings: dict, sizes: list, jobs: int = 1):
    "Each named shape's sweep on simulated graphs, and on the lifted MAI graph where MAI_SHAPES lists it, into `out`."
    tasks = [(name, SHAPES[name], seeds, participants, settings) for name in names]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool: done = list(pool.map(_shape_study, tasks))
    else: done = [_shape_study(t) for t in tasks]
    out.setdefault("shapes", {})
    for name, summary in done: out["shapes"][name] = dict(bloc=dataclasses.asdict(SHAPES[name]), summary=records(summary))
    mai = read_graph(ROOT / "data" / "mai" / "example_summary.json")
    out.setdefault("mai", {})
    small = next(r["smallest_clean"] for r in sizes if r["participants"] == 50) or settings["min_support"]
    for name in [n for n in MAI_SHAPES if n in names]:
        methods = {"Γ_∞": _gamma("inf"), "votes": _baseline("votes"), "bridging_mf": _baseline("bridging_mf"), "robust": _robust(**settings),
                   "robust, no confirm": _robust(**{**settings, "confirm": None}),
                   # the smallest min_support that flags no honest pseudo-participant on the lifted graph's dev seeds (coordination_sizes)
                   f"robust, min_support {small}": _robust(**{**settings, "min_support": small})}
        st = attack_study(mai, QS, seeds, bloc=ATTACK_SHAPES[name], methods=methods)
        out["mai"][name] = dict(bloc=dataclasses.asdict(ATTACK_SHAPES[name]), summary=records(st.summary))


def draw_shapes(out: dict, seeds):
    "robustness_shapes.png, robustness_detector.png and robustness_mai.png from `out`'s shapes, in ATTACK_SHAPES' order."
    order = [n for n in SHAPES if n in out["shapes"]]
    shapes_df = pd.concat([pd.DataFrame(out["shapes"][n]["summary"]).assign(shape=n) for n in order], ignore_index=True)
    plot_shapes(shapes_df, HERE / "robustness_shapes.png", seeds)
    plot_detector(shapes_df, HERE / "robustness_detector.png", seeds)
    mai_df = pd.concat([pd.DataFrame(out["mai"][n]["summary"]).assign(shape=n) for n in MAI_SHAPES if n in out["mai"]], ignore_index=True)
    _small_multiples(mai_df, "top1_unchanged", HERE / "robustness_mai.png",
                     f"data/mai/example_summary.json lifted to ~50 pseudo-participants: top value unchanged per attack shape (dotted: the 0.9 goal); "
                     f"seeds {seeds.start}-{seeds.stop - 1}, 95% CI")


def only(names: list, jobs: int):
    """Run just `names` (on the saved run's test seeds, with its settings: nothing is tuned again) and merge them into
    robustness.json; every other row stays as that run wrote it, and `partial_runs` says what was added when."""
    out = json.loads((HERE / "robustness.json").read_text())
    unknown = [n for n in names if n not in SHAPES]
    if unknown: sys.exit(f"--only: unknown shape(s) {unknown}; the shapes are {list(SHAPES)}")
    seeds = range(out["test_seeds"][0], out["test_seeds"][-1] + 1)
    t0 = time.time()
    run_shapes(out, names, seeds, out["participants"], out["settings"], out["coordination_sizes"], jobs)
    out["shapes"] = {n: out["shapes"][n] for n in SHAPES if n in out["shapes"]}
    out["mai"] = {n: out["mai"][n] for n in MAI_SHAPES if n in out["mai"]}
    draw_shapes(out, seeds)
    out.setdefault("partial_runs", []).append(dict(shapes=names, seconds=round(time.time() - t0, 1), date=time.strftime("%Y-%m-%d"),
                                                   machine=dict(python=platform.python_version(), cpus=os.cpu_count())))
    (HERE / "robustness.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, default=float) + "\n")
    print(f"merged {names} into benchmarks/robustness.json in {time.time() - t0:.0f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--participants", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", help="comma-separated shapes: run just these with the saved run's settings and seeds, and merge them into robustness.json")
    args = ap.parse_args()
    if args.only: return only(args.only.split(","), args.jobs)
    seeds = range(100, 103) if args.quick else range(100, 110)
    contested_seeds = range(100, 110) if args.quick else range(100, 140)
    t0 = time.time()
    coord = tune_coordination()
    polar = tune_polarisation(DEV_SEEDS_CONTESTED if not args.quick else range(0, 5), coordination_settings=coord["settings"])
    settings = {**coord["settings"], **polar["settings"]}
    sizes = coordination_sizes(settings["min_similarity"], DEV_SEEDS if not args.quick else range(0, 2))
    print("coordination by size:", [(r["participants"], r["smallest_clean"]) for r in sizes], flush=True)
    one = tune_one_sided(settings, DEV_SEEDS if not args.quick else range(0, 2))
    settings.update(one["settings"])
    conf = tune_confirm(settings, DEV_SEEDS if not args.quick else range(0, 2))
    settings.update(conf["settings"])
    print("settings chosen on dev seeds:", settings, f"({time.time() - t0:.0f} s)", flush=True)
    out = dict(issue=11, dev_seeds=list(DEV_SEEDS), dev_seeds_contested=list(DEV_SEEDS_CONTESTED), test_seeds=list(seeds), qs=list(QS),
               participants=args.participants, settings=settings, coordination_grid=coord["grid"], polarisation_grid=polar["grid"],
               one_sided_grid=one["grid"], confirm_grid=conf["grid"], coordination_sizes=sizes, machine=dict(python=platform.python_version(), cpus=os.cpu_count()))
    out["contested"] = contested_study(settings, contested_seeds, sizes=(500,) if args.quick else (250, 500, 1000))
    plot_contested(pd.DataFrame(out["contested"]["rows"]), HERE / "robustness_contested.png", out["contested"]["seeds"])
    print(f"contested done ({time.time() - t0:.0f} s)", flush=True)
    # main scenario: bloc (overt, its own new card) attacks the minority's context; one split context; every method
    main_study = robustness_study(QS, seeds, bloc=Bloc(), n_participants=args.participants, methods=study_methods(**settings), progress=True)
    out["main"] = dict(bloc=dataclasses.asdict(Bloc()), minority=dataclasses.asdict(Minority()), split=1, summary=records(main_study.summary))
    plot_study(main_study.summary, metrics=("top1_unchanged", "minority_first", "detector_precision", "detector_recall", "contested_share", "contested_elsewhere"),
               title=f"simulated: bloc (overt) + wise minority + split context; {args.participants} honest participants, seeds {seeds.start}-{seeds.stop - 1}, 95% CI",
               path=HERE / "robustness.png")
    print(f"main done ({time.time() - t0:.0f} s)", flush=True)
    shapes = dict(list(SHAPES.items())[:3] + [("vote-only", SHAPES["vote-only"])]) if args.quick else SHAPES
    run_shapes(out, list(shapes), seeds, args.participants, settings, sizes, args.jobs)
    print(f"shapes done ({time.time() - t0:.0f} s)", flush=True)
    draw_shapes(out, seeds)
    out["seconds"] = round(time.time() - t0, 1)
    (HERE / "robustness.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, default=float) + "\n")
    print(f"wrote benchmarks/robustness.json in {out['seconds']} s")


def plot_contested(d: pd.DataFrame, path: Path, seeds):
    "Share of split contexts whose top card is labelled contested, and of unsplit ones, by test and size, with Wilson intervals."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    sizes = sorted(d.participants.unique())
    for ax, kind in zip(axes, ("split", "unsplit")):
        for i, test in enumerate(("first_test", "opposed_pairs")):
            r = d[(d.contexts == kind) & (d.test == test)].set_index("participants").reindex(sizes)
            lo = np.array([iv[0] for iv in r.interval]); hi = np.array([iv[1] for iv in r.interval])
            x = np.arange(len(sizes)) + 0.08 * (i - 0.5)
            ax.errorbar(x, r.share, yerr=[r.share - lo, hi - r.share], fmt="o-", capsize=3, label=test, color=f"C{i}")
            for xi, (k, m) in zip(x, zip(r.contested, r["of"])): ax.annotate(f"{k}/{m}", (xi, 0.02 if kind == "unsplit" else 0.05), fontsize=7, ha="center", color=f"C{i}",
                                                                              xytext=(0, 10 * i), textcoords="offset points")
        ax.set_xticks(range(len(sizes))); ax.set_xticklabels(sizes)
        ax.set_title(f"{kind} contexts: top card labelled contested", fontsize=10); ax.set_xlabel("honest participants"); ax.set_ylim(-0.03, 1.03); ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"simulated deliberations, no bloc; seeds {seeds[0]}-{seeds[1]}, 95% Wilson intervals", fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)


def _small_multiples(df, metric, path, title, methods=None):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shapes = list(dict.fromkeys(df["shape"]))
    methods = methods or list(dict.fromkeys(df["method"]))
    cols = 5
    rows_ = int(np.ceil(len(shapes) / cols))
    fig, axes = plt.subplots(rows_, cols, figsize=(3.1 * cols, 2.5 * rows_), sharex=True, sharey=True, squeeze=False)
    for ax, shape in zip(axes.ravel(), shapes):
        for i, m in enumerate(methods):
            d = df[(df["shape"] == shape) & (df.method == m)].sort_values("q")
            if d[metric].isna().all(): continue
            ax.plot(d.q, d[metric], "o-", ms=3, color=f"C{i}", label=m, lw=2.2 if m == "robust" else 1.1)
            ax.fill_between(d.q, d[f"{metric}_lo"].clip(0, 1), d[f"{metric}_hi"].clip(0, 1), color=f"C{i}", alpha=0.12, lw=0)
        ax.axhline(0.9, color="k", lw=0.6, ls=":")
        ax.set_title(shape, fontsize=9); ax.set_ylim(-0.03, 1.03); ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(shapes):]: ax.axis("off")
    for ax in axes[-1]: ax.set_xlabel("bloc share q", fontsize=8)
    axes[0][0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=10); fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def plot_shapes(df: pd.DataFrame, path: Path, seeds):
    _small_multiples(df, "top1_unchanged", path, f"simulated: top value unchanged in the attacked contexts, per attack shape (dotted: the 0.9 goal); "
                     f"seeds {seeds.start}-{seeds.stop - 1}, 95% CI")


def plot_detector(df: pd.DataFrame, path: Path, seeds):
    d = df[df.method.isin(["robust", "robust, no one-sided"])]
    long = pd.concat([d.assign(method=d.method + ": " + k, **{"value": d[k], "value_lo": d[f"{k}_lo"], "value_hi": d[f"{k}_hi"]})
                      for k in ("detector_precision", "detector_recall")], ignore_index=True)
    _small_multiples(long, "value", path, f"simulated: robust's detector, precision and recall on bloc members per shape; seeds {seeds.start}-{seeds.stop - 1}, 95% CI")


if __name__ == "__main__":
    main()
