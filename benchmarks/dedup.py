"""Deduplication on the hand-grouped cards of data/dedup/: pairwise precision/recall/F1, saved as benchmarks/dedup.json.

For each set (tuning and report, DFT 2023 format and ours): `dedup` (batch) and `dedup_incremental` (cards in file
order, and in 5 shuffled orders: the settled mapping, and each card's canonical card as matched on arrival, which is
what a participant is shown) at the library's defaults, each card compared with its situation's share taken out
(the situation is the prompt the card was written for), with the pairs it merged wrongly and the ones it missed; and
the same without situations (`no_situation`), as for a file of cards that does not say what they were written for.
The sweep over the situation's share and the threshold runs on the tuning sets only: it is where DEFAULT_THRESHOLD
and DEFAULT_SITUATION_SHARE were chosen, as the pair with the best mean batch F1 over the two tuning sets (the settled
incremental mapping is the batch partition), averaged over the thresholds within 0.02 so that a lone peak on 30 cards
does not decide.
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
    from wisemodel.dedup import (DEFAULT_CANDIDATE_THRESHOLD, DEFAULT_LINKAGE, DEFAULT_SITUATION_SHARE, DEFAULT_THRESHOLD,
                                 _cluster, card_similarity, dedup, dedup_incremental, load_dedup_set, pairwise_scores)
    llm = None
    if args.judge_url:
        from wisemodel.llm import LLMConfig, get_llm
        llm = get_llm(LLMConfig(backend="openai", base_url=args.judge_url, model=args.judge_model, max_tokens=96))
    t0 = time.time()
    out = {"threshold": DEFAULT_THRESHOLD, "situation_share": DEFAULT_SITUATION_SHARE, "linkage": DEFAULT_LINKAGE,
           "candidate_threshold": DEFAULT_CANDIDATE_THRESHOLD, "judge": args.judge_model, "embedder": "all-MiniLM-L6-v2",
           "sets": {}, "sweep_on_tuning": {}}
    thresholds, shares = np.round(np.arange(0.30, 0.61, 0.01), 2), [0.0, 0.25, 0.5, 0.75, 1.0]
    for name in SETS:
        s = load_dedup_set(name)
        titles = {c.id: c.title for c in s.cards}
        batch = dedup(s.cards, llm=llm, situations=s.situations)
        inc = dedup_incremental(s.cards, llm=llm, situations=s.situations)
        orders = [random.Random(seed).sample(s.cards, len(s.cards)) for seed in range(5)]
        shuffled = [dedup_incremental(order, llm=llm, situations=s.situations) for order in orders]
        arrival = lambda d: pairwise_scores(d.on_arrival, s.gold)
        plain = dedup(s.cards, llm=llm)
        out["sets"][name] = {"format": s.format, "cards": len(s.cards), "groups": len(set(s.gold.values())),
                             "batch": {**pairwise_scores(batch, s.gold), "groups": len(batch.groups), **errors(batch, s, titles)},
                             "incremental": {**pairwise_scores(inc, s.gold), "groups": len(inc.groups)},
                             "incremental_shuffled_f1": [pairwise_scores(d, s.gold)["f1"] for d in shuffled],
                             "on_arrival": {**arrival(inc), "groups": len(set(inc.on_arrival.values()))},
                             "on_arrival_shuffled_f1": [arrival(d)["f1"] for d in shuffled],
                             "incremental_vs_batch": pairwise_scores(inc, {k: batch[k] for k in s.gold}),
                             "no_situation": {**pairwise_scores(plain, s.gold), **errors(plain, s, titles)}}
        if name.startswith("tuning"):
            out["sweep_on_tuning"][name] = {}
            for share in shares:
                sim = card_similarity(s.cards, s.situations, share)
                out["sweep_on_tuning"][name][f"{share:.2f}"] = {
                    f"{t:.2f}": pairwise_scores(dict(zip(s.gold, map(str, _cluster(sim, t, DEFAULT_LINKAGE)))), s.gold)["f1"]
                    for t in thresholds}
        r = out["sets"][name]
        on = r["on_arrival_shuffled_f1"]
        print(f"{name:17s} batch P {r['batch']['precision']:.3f} R {r['batch']['recall']:.3f} F1 {r['batch']['f1']:.3f} | "
              f"incremental F1 {r['incremental']['f1']:.3f} (shuffled {min(r['incremental_shuffled_f1']):.3f}-"
              f"{max(r['incremental_shuffled_f1']):.3f}; on arrival {r['on_arrival']['f1']:.3f}, shuffled {min(on):.3f}-{max(on):.3f}) | "
              f"without situations F1 {r['no_situation']['f1']:.3f}")
    sweep, score = out["sweep_on_tuning"], {}
    for share in map("{:.2f}".format, shares):
        mean = np.array([np.mean([sweep[name][share][f"{t:.2f}"] for name in sweep]) for t in thresholds])
        near = np.convolve(mean, np.ones(5) / 5, mode="same")       # mean over thresholds t-0.02 .. t+0.02
        for k in range(2, len(thresholds) - 2): score[share, f"{thresholds[k]:.2f}"] = round(float(near[k]), 4)
    best = max(score, key=lambda k: (score[k], -float(k[0]), -float(k[1])))
    out["chosen_on_tuning"] = {"situation_share": float(best[0]), "threshold": float(best[1]), "mean_f1_near": score[best]}
    out["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"chosen on the tuning sets: situation share {best[0]}, threshold {best[1]} (mean F1 within 0.02: {score[best]}); "
          f"defaults {DEFAULT_SITUATION_SHARE}, {DEFAULT_THRESHOLD}; wrote {args.out}")


if __name__ == "__main__":
    main()
