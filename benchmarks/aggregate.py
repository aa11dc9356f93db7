"""Γ_h at scale: time against edges from 10k to 10M, against networkx, saved as benchmarks/aggregate.{json,png}.

Each size runs `wisemodel bench aggregate --edges N --json` in its own process (so peak memory is per size).
networkx runs on the full graph up to --nx-full edges; at 300k and 1M on a graph of --nx-max-edges edges with its
time extrapolated linearly (the result says so); above 1M it is not run and the plot extrapolates its measured rate.

    python benchmarks/aggregate.py            # full sweep (minutes on 2 cores)
    python benchmarks/aggregate.py --quick    # 10k..300k only
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]


def bench(n: int, nx_full: int, nx_max: int) -> dict:
    args = ["bench", "aggregate", "--edges", str(n), "--json", "--nx-max-edges", str(nx_max)]
    if n > 1_000_000: args.append("--no-networkx")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", "from wisemodel.cli import main; main()", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout)
    out["load_average_after"] = os.getloadavg()[0]
    return out


def plot(results: list, path: Path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = [r["edges"] for r in results]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.loglog(n, [r["time_s"] for r in results], "o-", label="wisemodel Γ_∞ (scipy.sparse), tables → ranking")
    meas = [r for r in results if "networkx_time_s" in r and not r["networkx_extrapolated"]]
    ax.loglog([r["edges"] for r in meas], [r["networkx_time_s"] for r in meas], "s-", label="networkx (measured)")
    rate = max(meas, key=lambda r: r["edges"]) if meas else None
    if rate:
        per_edge = rate["networkx_time_s"] / rate["edges"]
        ax.loglog(n, [per_edge * x for x in n], "--", color="C1", alpha=0.6, label="networkx (extrapolated, linear)")
    ax.axhline(10, color="0.6", lw=0.8, ls=":"); ax.text(n[0], 11, "10 s", fontsize=8, color="0.4")
    ax.set_xlabel("wisdom edges"); ax.set_ylabel("seconds"); ax.legend(fontsize=8)
    ax.set_title(f"Γ_∞ on random moral graphs ({os.cpu_count()} CPUs, shared)", fontsize=10)
    plt.tight_layout(); fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only 10k..300k")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--nx-full", type=int, default=100_000)
    ap.add_argument("--nx-max-edges", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=HERE / "aggregate.json")
    a = ap.parse_args()
    sizes = a.sizes or (SIZES[:4] if a.quick else SIZES)
    results = []
    for n in sizes:
        t0 = time.time()
        r = bench(n, a.nx_full, a.nx_max_edges if n > a.nx_full else n)
        results.append(r)
        print(f"{n:>10,} edges: {r['time_s']:.3f} s" + (f", networkx {r['networkx_time_at_n_s']:.1f} s"
              f"{' (extrapolated)' if r['networkx_extrapolated'] else ''}, speedup {r['speedup_vs_networkx']}x" if "speedup_vs_networkx" in r else "")
              + f", peak RSS {r['peak_rss_mb']:.0f} MB  [{time.time() - t0:.0f} s wall]", flush=True)
        doc = {"benchmark": "wisemodel bench aggregate", "command": "python benchmarks/aggregate.py", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "note": "time_s covers wise_values(graph, h='inf', share=False, labels=False) from the graph's tables: compiling them to "
                       "sparse matrices, the hops to tolerance and the ranked table. The machine is shared: see load_average_after.",
               "results": results}
        a.out.write_text(json.dumps(doc, indent=2))
    plot(results, a.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
