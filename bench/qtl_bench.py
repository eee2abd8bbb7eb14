"""Benchmark of atlasQTL: vanilla CAVI against adaptive focus (AFIO) on the AF-CAVI paper design
at reduced scale (issue 8 acceptance; pqtl_afcavi.md section (h)), and seconds per full
iteration. Prints markdown tables; not part of the test suite.

    python bench/qtl_bench.py                      # p=1000, q=1000, n=5000, 5 replicates
    python bench/qtl_bench.py --replicates 2 --n 1000 --p 300 --q 300   # quick look
    python bench/qtl_bench.py --per-iteration-only --threads 2          # p=1000, q=3000 timing
"""

import argparse
import time
import warnings

import numpy as np

from vibank.eval import binary_metrics
from vibank.qtl import AtlasQTL, ConvergenceWarning
from vibank.simulate import simulate_protein_panel


def genotypes(n, p, seed, copy_prob=0.3):
    """Dosages with short-range LD: each variant copies its neighbour's allele pair w.p.
    ``copy_prob`` (an LD-pruned chunk has little LD, as in the paper's pruned chr19 region)."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(2, rng.uniform(0.01, 0.5, p), size=(n, p)).astype(np.float64)
    for j in range(1, p):
        copy = rng.random(n) < copy_prob
        x[copy, j] = x[copy, j - 1]
    return x


def run(x, y, truth, threads, **options):
    model = AtlasQTL(seed=25, n_threads=threads, max_iter=3000, **options)
    tick = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    seconds = time.perf_counter() - tick
    auprc, auroc = binary_metrics(truth.ravel(), model.gamma_.ravel())
    return {"seconds": seconds, "iterations": model.n_iter_, "elbo": model.result_.elbo,
            "converged": model.result_.success, "loop": model.seconds_["loop"],
            "auroc": auroc, "auprc": auprc}


def comparison(args):
    x = genotypes(args.n, args.p, 1)
    print(f"## Vanilla vs AFIO (p={args.p}, q={args.q}, n={args.n}, a_p=0.01, h={args.h}, "
          f"{args.replicates} replicates, {args.threads} thread(s))\n")
    print("| a_q | Vanilla s | AFIO s | runtime cut % (mean ± sd) | loop cut % | iterations "
          "V / AF | ELBO AF − V | AUROC V / AF | max abs ΔAUROC | AUPRC V / AF |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for a_q in args.a_q:
        rows = []
        for rep in range(args.replicates):
            panel = simulate_protein_panel(x, args.q, active_variant_fraction=0.01,
                                           active_protein_fraction=a_q, mean_pve=args.h,
                                           seed=1000 + rep)
            full = run(x, panel.Y, panel.associations, args.threads, cavi="full",
                       thinned_elbo=False)
            af = run(x, panel.Y, panel.associations, args.threads, cavi="adaptive")
            rows.append((full, af))
        f = {k: np.array([r[0][k] for r in rows]) for k in rows[0][0]}
        a = {k: np.array([r[1][k] for r in rows]) for k in rows[0][1]}
        cut = 100 * (1 - a["seconds"] / f["seconds"])
        loop_cut = 100 * (1 - a["loop"] / f["loop"])
        print(f"| {a_q} | {f['seconds'].mean():.1f} | {a['seconds'].mean():.1f} | "
              f"{cut.mean():.1f} ± {cut.std(ddof=1) if len(cut) > 1 else 0:.1f} | "
              f"{loop_cut.mean():.1f} | {f['iterations'].mean():.0f} / "
              f"{a['iterations'].mean():.0f} | {np.mean(a['elbo'] - f['elbo']):.2f} | "
              f"{f['auroc'].mean():.4f} / {a['auroc'].mean():.4f} | "
              f"{np.max(np.abs(a['auroc'] - f['auroc'])):.1e} | "
              f"{f['auprc'].mean():.3f} / {a['auprc'].mean():.3f} |", flush=True)
        if not (f["converged"].all() and a["converged"].all()):
            print(f"(a_q={a_q}: {int((~f['converged']).sum())} vanilla and "
                  f"{int((~a['converged']).sum())} AFIO fits hit max_iter)")


def per_iteration(args):
    """Seconds per full (vanilla) iteration at p=1000, q=3000, without the precomputation."""
    n, p, q, iters = args.iter_n, 1000, 3000, args.iter_count
    x = genotypes(n, p, 2)
    panel = simulate_protein_panel(x, q, active_variant_fraction=0.01,
                                   active_protein_fraction=0.2, mean_pve=args.h, seed=3)
    print(f"\n## Seconds per full iteration (p={p}, q={q}, n={n}, {iters} iterations)\n")
    print("| threads | s / iteration | core loop s / iteration | precompute s |")
    print("|---|---|---|---|")
    for threads in sorted({1, args.threads}):
        model = AtlasQTL(cavi="full", thinned_elbo=False, seed=1, max_iter=iters,
                         n_threads=threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, panel.Y)
        s = model.seconds_
        per_it = (s["total"] - s["precompute"] - s["init"]) / model.n_iter_
        print(f"| {threads} | {per_it:.3f} | {s['loop'] / model.n_iter_:.3f} | "
              f"{s['precompute']:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--p", type=int, default=1000)
    parser.add_argument("--q", type=int, default=1000)
    parser.add_argument("--h", type=float, default=0.15)
    parser.add_argument("--a-q", type=float, nargs="+", default=[0.005, 0.2, 0.5])
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iter-n", type=int, default=2000)
    parser.add_argument("--iter-count", type=int, default=15)
    parser.add_argument("--per-iteration-only", action="store_true")
    parser.add_argument("--skip-per-iteration", action="store_true")
    args = parser.parse_args()
    if not args.per_iteration_only:
        comparison(args)
    if not args.skip_per_iteration:
        per_iteration(args)


if __name__ == "__main__":
    main()
