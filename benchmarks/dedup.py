"""Deduplication on the hand-grouped cards of data/dedup/: pairwise precision/recall/F1, saved as benchmarks/dedup.json.

For each set (tuning and report, DFT 2023 format and ours): `dedup` (batch) and `dedup_incremental` (cards in file
order, and in 5 shuffled orders) at the library's defaults, with the pairs it merged wrongly and the ones it missed.
The threshold sweep runs on the tuning sets only: it is where DEFAULT_THRESHOLD was chosen (best mean F1 of the two).
A judge is any OpenAI-compatible server: --judge-url http://127.0.0.1:8000/v1 --judge-model NAME.

    python benchmarks/dedup.py                       # embeddings only (about a minute on 2 cores)
    python benchmarks/dedup.py --judge-url URL --judge-model NAME --out benchmarks/dedup_judge.json
"""
import argparse, json, random, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
SETS = ["tuning_dft", "tuning_wisemodel", "report_dft", "report_wisemodel"]


def errors(mapping: dict, s, titles: dict) -> dict:
    ids = list(s.gold)
    pairs = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:]]
    show = lambda a, b: f"{a} {titles[a]!r} ~ {b} {titles[b]!r}"
    return {"merged_wrongly": [show(a, b) for a, b in pairs if mapping[a] == mapping[b] and s.gold[a] != s.gold[b]],
            "missed": [show(a, b) for a, b in pairs if mapping[a] != mapping[b] and s.gold[a] == s.gold[b]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(HERE / "dedup.json"))
    ap.add_argument("--judge-url"); ap.add_argument("--judge-model")
    args = ap.parse_args()
    import numpy as np
    from wisemodel.dedup import (DEFAULT_CANDIDATE_THRESHOLD, DEFAULT_LINKAGE, DEFAULT_THRESHOLD, _cluster, card_similarity,
                                 dedup, dedup_incremental, load_dedup_set, pairwise_scores)
    llm = None
    if args.judge_url:
        from wisemodel.llm import LLMConfig, get_llm
        llm = get_llm(LLMConfig(backend="openai", base_url=args.judge_url, model=args.judge_model, max_tokens=96))
    t0 = time.time()
    out = {"threshold": DEFAULT_THRESHOLD, "linkage": DEFAULT_LINKAGE, "candidate_threshold": DEFAULT_CANDIDATE_THRESHOLD,
           "judge": args.judge_model, "embedder": "all-MiniLM-L6-v2", "sets": {}, "sweep_on_tuning": {}}
    for name in SETS:
        s = load_dedup_set(name)
        titles = {c.id: c.title for c in s.cards}
        batch = dedup(s.cards, llm=llm)
        inc = dedup_incremental(s.cards, llm=llm)
        shuffled = []
        for seed in range(5):
            order = s.cards[:]; random.Random(seed).shuffle(order)
            shuffled.append(pairwise_scores(dedup_incremental(order, llm=llm), s.gold)["f1"])
        out["sets"][name] = {"format": s.format, "cards": len(s.cards), "groups": len(set(s.gold.values())),
                             "batch": {**pairwise_scores(batch, s.gold), "groups": len(batch.groups), **errors(batch, s, titles)},
                             "incremental": {**pairwise_scores(inc, s.gold), "groups": len(inc.groups)},
                             "incremental_shuffled_f1": shuffled,
                             "incremental_vs_batch": pairwise_scores(inc, {k: batch[k] for k in s.gold})}
        if name.startswith("tuning"):
            sim = card_similarity(s.cards)
            out["sweep_on_tuning"][name] = {f"{t:.2f}": pairwise_scores(dict(zip(s.gold, map(str, _cluster(sim, t, DEFAULT_LINKAGE)))), s.gold)["f1"]
                                            for t in np.round(np.arange(0.30, 0.71, 0.01), 2)}
        r = out["sets"][name]
        print(f"{name:17s} batch P {r['batch']['precision']:.3f} R {r['batch']['recall']:.3f} F1 {r['batch']['f1']:.3f} | "
              f"incremental F1 {r['incremental']['f1']:.3f} (shuffled {min(shuffled):.3f}-{max(shuffled):.3f})")
    sweep = out["sweep_on_tuning"]
    mean = {t: (sweep["tuning_dft"][t] + sweep["tuning_wisemodel"][t]) / 2 for t in sweep["tuning_dft"]}
    out["best_threshold_on_tuning"] = float(max(mean, key=lambda t: (mean[t], -float(t))))
    out["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"best threshold on the tuning sets: {out['best_threshold_on_tuning']} (default {DEFAULT_THRESHOLD}); wrote {args.out}")


if __name__ == "__main__":
    main()
