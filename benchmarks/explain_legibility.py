"""How often `wisemodel.explain` names the cards a response was written with, on a run's synthetic preference data.

Runs `legibility_hit_rate` with the default rule, the same table under a grid of (threshold, margin), the attention
of each response to the cards that are not its candidates (the off-context null the threshold is read from), and four
ways of scoring attention; writes benchmarks/explain_legibility.json (`--table` prints the main numbers).

    PYTHONPATH=$PWD python benchmarks/explain_legibility.py --synth runs/dev2/synth
    python benchmarks/explain_legibility.py --table
"""
import argparse, json, os, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "explain_legibility.json"
GRID = [(t, m) for t in (0.30, 0.32, 0.35) for m in (0.0, 0.02, 0.03, 0.05)]


def _graph_for(synth: Path, graph_arg):
    "The graph the synth folder was built from: --graph, else the manifest's `config.graph`, checked against its hash."
    from wisemodel.graph import graph_hash, read_graph
    manifest = json.loads((synth / "manifest.json").read_text())
    if graph_arg: path = Path(graph_arg)
    else:
        recorded = manifest.get("config", {}).get("graph") or "data/example_graph"
        tries = [Path(recorded), ROOT / recorded, synth.resolve().parents[2] / recorded]
        path = next((p for p in tries if p.exists()), None)
        if path is None: sys.exit(f"error: the synth manifest names the graph {recorded!r}, not found; pass --graph")
    graph = read_graph(path)
    if graph_hash(graph) != manifest["graph_hash"]:
        sys.exit(f"error: {path} has hash {graph_hash(graph)}, the synth data was built from {manifest['graph_hash']}; pass --graph")
    return graph, str(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synth", help="a synth folder (wisemodel synth --out, or a run's synth/)")
    ap.add_argument("--graph", default=None, help="the graph it was built from (default: its manifest's config.graph)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--table", action="store_true", help="print the saved numbers and exit")
    args = ap.parse_args()
    if args.table: return print(table(json.loads(Path(args.out).read_text())))
    if not args.synth: ap.error("--synth is required (or --table)")
    import numpy as np, pandas as pd
    from wisemodel.core import environment_info
    from wisemodel.embed import embed
    from wisemodel.explain import ExplainConfig, legibility_rates, legibility_table, sentence_attention, sentences
    from wisemodel.synth import load_synth
    t0 = time.perf_counter()
    synth = Path(args.synth)
    graph, graph_path = _graph_for(synth, args.graph)
    rows = load_synth(synth)[0]
    config = ExplainConfig()
    tab = legibility_table(graph, rows, config)
    rule = {k: config.model_dump()[k] for k in ("h", "k_contexts", "n_cards", "threshold", "margin")}
    default = {"rule": rule, **legibility_rates(tab)}
    grid = [{"rule": {"threshold": t, "margin": m}, **legibility_rates(tab, t, m)} for t, m in GRID]
    # off-context null: each response against every card that is not one of its candidates
    policies = {str(c): [str(p) for p in ps] for c, ps in zip(graph.cards["card_id"], graph.cards["policies"])}
    units = tab.drop_duplicates("unit")[["unit", "response"]]
    cand = tab.groupby("unit")["card_id"].agg(lambda s: set(s.dropna()))
    pairs = [(r.response, c) for r in units.itertuples() for c in policies if c not in cand[r.unit]]
    null = sentence_attention([r for r, _ in pairs], [policies[c] for _, c in pairs])["attention"]
    quantiles = {f"q{int(q * 100)}": round(float(null.quantile(q)), 4) for q in (0.5, 0.75, 0.9, 0.95, 0.99)}
    best_chosen = tab[tab["kind"] == "chosen"].groupby("unit")["attention"].max()
    best_naive = tab[tab["kind"] == "naive"].groupby("unit")["attention"].max()
    # four ways to score attention, top-1 on the wise responses
    chosen = tab[(tab["kind"] == "chosen") & tab["card_id"].notna()]
    texts = list(dict.fromkeys([s for r in chosen["response"].unique() for s in sentences(r)] + [p for ps in policies.values() for p in ps]
                               + list(chosen["response"].unique())))
    vec = dict(zip(texts, embed(texts)))
    def score(resp, card):
        P = np.stack([vec[p] for p in policies[card]]); S = np.stack([vec[s] for s in sentences(resp)])
        sim = P @ S.T
        return {"whole_mean": float((P @ vec[resp]).mean()), "sentence_mean": float(sim.max(1).mean()),
                "sentence_max": float(sim.max()), "sentence_top2": float(np.sort(sim.max(1))[-2:].mean())}
    scored = pd.concat([chosen.reset_index(drop=True), pd.DataFrame([score(r, c) for r, c in zip(chosen["response"], chosen["card_id"])])], axis=1)
    variants = {m: round(float(scored.loc[scored.groupby("unit")[m].idxmax(), "known"].mean()), 4)
                for m in ("whole_mean", "sentence_mean", "sentence_max", "sentence_top2")}
    variants["chance"] = round(float((scored.groupby("unit")["known"].mean()).mean()), 4)
    result = {"synth": str(synth), "graph": graph_path, "graph_hash": json.loads((synth / "manifest.json").read_text())["graph_hash"],
              "rows": int(sum(len(d) for d in rows.values())), "default": default, "grid": grid, "null_quantiles": quantiles,
              "null_n": int(len(null)), "best_attention": {"chosen_min": round(float(best_chosen.min()), 4),
                                                           "chosen_median": round(float(best_chosen.median()), 4),
                                                           "naive_median": round(float(best_naive.median()), 4),
                                                           "naive_below_threshold": round(float((best_naive < config.threshold).mean()), 4)},
              "attention_variants_top1_chosen": variants, "seconds": round(time.perf_counter() - t0, 1),
              "load_average_after": os.getloadavg()[0], **environment_info()}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))


def table(result: dict) -> str:
    d = result["default"]
    lines = [f"synth: {result['synth']} ({result['rows']} rows), rule: {json.dumps(d['rule'])}", "",
             "| responses | n | hit | chance | top-1 | chance | named any |", "|---|---|---|---|---|---|---|"]
    rows = [("chosen (wise)", d["chosen"]), *[(f"rejected {k}", v) for k, v in d["rejected"].items()]]
    if "less_wise_own" in d: rows.append(("less_wise, own card", d["less_wise_own"]))
    for name, r in rows:
        lines.append(f"| {name} | {r['n']} | {r['hit']:.3f} ± {r['hit_se']:.3f} | {r['hit_chance']:.3f} | {r['top1']:.3f} | "
                     f"{r['top1_chance']:.3f} | {r['named']:.3f} |")
    lines += ["", f"off-context attention quantiles: {result['null_quantiles']}", f"attention variants (top-1, wise): {result['attention_variants_top1_chosen']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
