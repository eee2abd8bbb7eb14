"""Benchmark of atlasQTL: full CAVI against adaptive focus on the AF-CAVI paper design at reduced
scale (issue 8 acceptance; pqtl_afcavi.md section (h)), with the ELBO schedule held apart from
the focus, and seconds per full iteration. Prints markdown tables; not part of the test suite.

    python bench/qtl_bench.py                      # p=1000, q=1000, n=5000, 5 replicates
    python bench/qtl_bench.py --quick              # smoke run: p=q=200, n=500, 1 replicate
    python bench/qtl_bench.py --per-iteration-only --threads 2          # p=1000, q=3000 timing

Four fits of every simulated panel, all else equal (same data, seed, start, threads, float64,
tolerance on the ELBO difference, max_iter): the 2 x 2 of ``cavi`` ("full": every response at
every iteration; "adaptive": adaptive focus, epsilon scheme "iteration") and ``thinned_elbo``
(False: the ELBO at every iteration; True: evaluated at thinned partial-phase iterations, so
fewer evaluations and convergence noticed in batches). Reported separately:

- focus alone: adaptive vs full, both with the ELBO at every iteration (AFI vs Vanilla);
- thinning on top of the focus: adaptive + thinned vs adaptive (AFIO vs AFI);
- thinning alone: full + thinned vs full;
- both: AFIO vs Vanilla (the paper's headline cut, mixing the two effects).

Both effects are less work for the same model (fewer responses swept, fewer ELBO evaluations);
neither is a faster kernel. The accuracy columns show the fits reach the same answer.
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


#: the four fits of a panel: (label, cavi, thinned_elbo)
MODES = (("Vanilla", "full", False), ("focus (AFI)", "adaptive", False),
         ("focus + thinning (AFIO)", "adaptive", True), ("thinning", "full", True))
#: (effect, numerator mode, denominator mode): cut = 1 - time(numerator) / time(denominator)
EFFECTS = (("focus alone (AFI vs Vanilla)", "focus (AFI)", "Vanilla"),
           ("thinning on top of focus (AFIO vs AFI)", "focus + thinning (AFIO)", "focus (AFI)"),
           ("thinning alone (full + thinned vs Vanilla)", "thinning", "Vanilla"),
           ("both (AFIO vs Vanilla)", "focus + thinning (AFIO)", "Vanilla"))


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
            "elbo_s": model.seconds_["elbo"], "elbo_evals": len(model.elbo_history_),
            "auroc": auroc, "auprc": auprc}


def _sd(values):
    return values.std(ddof=1) if len(values) > 1 else 0.0


def fit_modes(x, panel, threads, into):
    """The four fits of one panel, appended to ``into[label]`` (lists of ``run`` results)."""
    for label, cavi, thinned in MODES:
        into.setdefault(label, []).append(run(x, panel.Y, panel.associations, threads,
                                              cavi=cavi, thinned_elbo=thinned))


def comparison(args):
    x = genotypes(args.n, args.p, 1)
    print(f"## Full CAVI vs adaptive focus, ELBO schedule held apart (p={args.p}, q={args.q}, "
          f"n={args.n}, a_p=0.01, h={args.h}, {args.replicates} replicates, {args.threads} "
          "thread(s); same data, seed, start, tolerance and max_iter in every fit)\n")
    fits = {}
    for a_q in args.a_q:
        fits[a_q] = {}
        for rep in range(args.replicates):
            panel = simulate_protein_panel(x, args.q, active_variant_fraction=0.01,
                                           active_protein_fraction=a_q, mean_pve=args.h,
                                           seed=1000 + rep)
            fit_modes(x, panel, args.threads, fits[a_q])
    report(fits)


def report(fits, key="a_q"):
    """Both tables (fits, then the runtime cut of each effect) for {key: {label: [results]}}."""
    print(f"| {key} | fit | cavi | ELBO | s (mean) | loop s | ELBO s | ELBO evaluations | "
          "iterations | ELBO − Vanilla | AUROC | max abs ΔAUROC vs Vanilla | AUPRC | converged |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for a_q, by_mode in fits.items():
        v = {k: np.array([r[k] for r in by_mode["Vanilla"]]) for k in by_mode["Vanilla"][0]}
        for label, cavi, thinned in MODES:
            f = {k: np.array([r[k] for r in by_mode[label]]) for k in by_mode[label][0]}
            print(f"| {a_q} | {label} | {cavi} | {'thinned' if thinned else 'every iteration'} | "
                  f"{f['seconds'].mean():.1f} | {f['loop'].mean():.1f} | {f['elbo_s'].mean():.1f} | "
                  f"{f['elbo_evals'].mean():.0f} | {f['iterations'].mean():.0f} | "
                  f"{np.mean(f['elbo'] - v['elbo']):.2f} | {f['auroc'].mean():.4f} | "
                  f"{np.max(np.abs(f['auroc'] - v['auroc'])):.1e} | {f['auprc'].mean():.3f} | "
                  f"{int(f['converged'].sum())}/{len(f['converged'])} |", flush=True)
    print("\nRuntime cut of each effect, 1 − time / time of the fit without it, % (mean ± sd over "
          "replicates; whole fits, precomputation included; both effects are less work)\n")
    print(f"| {key} | " + " | ".join(effect for effect, _, _ in EFFECTS) + " |")
    print("|---|" + "---|" * len(EFFECTS))
    for a_q, by_mode in fits.items():
        cells = []
        for _, num, den in EFFECTS:
            cut = 100 * (1 - np.array([r["seconds"] for r in by_mode[num]])
                         / np.array([r["seconds"] for r in by_mode[den]]))
            cells.append(f"{cut.mean():.1f} ± {_sd(cut):.1f}")
        print(f"| {a_q} | " + " | ".join(cells) + " |", flush=True)


def per_iteration(args):
    """Seconds per full (vanilla) iteration, without the precomputation."""
    n, p, q, iters = args.iter_n, args.iter_p, args.iter_q, args.iter_count
    x = genotypes(n, p, 2)
    panel = simulate_protein_panel(x, q, active_variant_fraction=0.01,
                                   active_protein_fraction=0.2, mean_pve=args.h, seed=3)
    print(f"\n## Seconds per full iteration (p={p}, q={q}, n={n}, {iters} iterations, full CAVI, "
          "ELBO at every iteration)\n")
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
    parser.add_argument("--iter-p", type=int, default=1000)
    parser.add_argument("--iter-q", type=int, default=3000)
    parser.add_argument("--iter-count", type=int, default=15)
    parser.add_argument("--per-iteration-only", action="store_true")
    parser.add_argument("--skip-per-iteration", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: p = q = 200, n = 500, a_q 0.2, 1 replicate, small timing")
    args = parser.parse_args()
    if args.quick:
        args.n, args.p, args.q, args.a_q, args.replicates = 500, 200, 200, [0.2], 1
        args.iter_n, args.iter_p, args.iter_q, args.iter_count = 300, 200, 300, 5
    if not args.per_iteration_only:
        comparison(args)
    if not args.skip_per_iteration:
        per_iteration(args)


if __name__ == "__main__":
    main()
