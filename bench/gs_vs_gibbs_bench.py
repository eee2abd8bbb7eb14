"""VIPRS grid search (VIPRS-GS) against the spike-and-slab Gibbs sampler over the same pi grid.

Usage::

    .venv/bin/python bench/gs_vs_gibbs_bench.py --results DIR/results [--make-inputs]
        [--trait sparse] [--fold 1] [--grid-size 30] [--threads 2] [--burnin 50] [--samples 100]
    .venv/bin/python bench/gs_vs_gibbs_bench.py --results DIR/results --make-inputs --quick

Data: a demo study's outputs under ``--results``: the GWAS of one trait and fold
(results/gwas/{trait}/fold{k}/chr{1,2,3}.sumstats.tsv.gz), the windowed 3 cM LD
(results/ld/windowed3cm/chr{1,2,3}.zarr), the fold's validation and test samples
(results/splits/fold{k}/{validation,test}.keep), results/phenotypes/phenotypes.tsv and the QC
genotypes. ``make demo`` writes them; ``--make-inputs`` runs only the jobs that make them
(Snakemake on config/config.yaml in the parent of ``--results``, about 3 minutes on 2 cores)
when they are missing.

Like-for-like conditions of the table: the same statistics, LD (the demo's store: int16, windowed
3 cM, 1,000-sample panel; Bartlett-tapered since vibank's tapered default, a hard window and not
positive semi-definite before) and pi grid (``pi_grid(M, grid_size)``, log-spaced from 1/M to
0.5) for every method; the same likelihood (VIPRS ``ld_noise="none"``: N as given, as the
sampler); ``--threads`` fits at once, one thread each (``tuning.grid_search``); pi chosen on the
fold's validation samples (R^2 of the phenotype on the score), the chosen fit's R^2 reported on the
fold's test samples (never used for the choice); whole grids timed, set-up included. Value types
are per row (the LD is int16 for all; the state float64 or float32).

- VIPRS-GS: one genome-wide fit per pi (pi fixed, sigma2_beta and sigma2_eps by the M-step, at
  most ``--max-iter`` iterations), from pi's default start (mu = 0). Rows:

  - exact: VIPRS's defaults (float64 state, exact sweeps, no ridge before a divergence, then the
    block ridge and escalating ridges, tol_eta 1e-6);
  - exact, float32 state: the value type alone changed;
  - grid-fit settings (the workflow's ``prs.grid``): float32, lazy neighbour updates
    (``lazy_tol=1e-4``), the block ridge from the start (``initial_ridge="block"``: skips the run
    that diverges before it) and tol_eta 1e-5. Its time against the float32 exact row is the
    effect of doing less work, reported on its own line.

- Gibbs: LDpred2-grid's sweep counts (``--burnin 50 --samples 100``: ``burn_in = 50,
  num_iter = 100`` of ``bigsnpr::snp_ldpred2_grid``), one ``GibbsSpikeSlab`` per chromosome and
  point (with fixed hyperparameters the chromosomes are independent), on the LD as stored (no
  ridge: a chain that blows up is a failed point). The sampler needs sigma2_beta and
  sigma2_eps: ``ldsc`` takes the LD-score h2 at every point (sigma2_beta = h2 / (M pi),
  sigma2_eps = 1 - h2, LDpred2's grid); ``viprs-h2`` the h2 the exact VIPRS fit reached at the
  same pi (its time leaves out those VIPRS fits). float64 state, and float32 for the
  float32-vs-float32 row.

A failed fit (VibankError) is counted as failed, as tuning does, and never chosen.
"""

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vibank.errors import VibankError
from vibank.prs import GridSettings, ModelSpec, gibbs_fit_point, ldsc_h2, tuning
from vibank.stages.fit_data import load_fit_data, load_validation

#: the exact VIPRS settings (VIPRS's own defaults) and the workflow's grid-fit settings
EXACT = {"dtype": np.float64, "lazy_tol": 0.0, "initial_ridge": "none", "tol_eta": 1e-6}
ROOT = Path(__file__).resolve().parents[1]


class RestartCounter(logging.Handler):
    """Counts VIPRS's restarts after divergence from its log warnings (and silences vibank's log)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.restarts = 0

    def emit(self, record):
        message = record.getMessage()
        self.restarts += message.startswith(("VIPRS diverged", "VIPRS still diverged"))


def input_paths(args):
    res = args.results
    fold = f"{res}/splits/fold{args.fold}"
    return {"sumstats": [f"{res}/gwas/{args.trait}/fold{args.fold}/chr{c}.sumstats.tsv.gz"
                         for c in args.chromosomes],
            "ld": [f"{res}/ld/{args.ld_panel}/chr{c}.zarr" for c in args.chromosomes],
            "validation": f"{fold}/validation.keep", "test": f"{fold}/test.keep",
            "phenotypes": f"{res}/phenotypes/phenotypes.tsv", "bfile": f"{res}/qc/qc"}


def ensure_inputs(args, paths):
    """Missing inputs: run the workflow's jobs that make them (``--make-inputs``) or stop."""
    files = [*paths["sumstats"], *paths["ld"], paths["validation"], paths["test"],
             paths["phenotypes"], paths["bfile"] + ".bed"]
    missing = [f for f in files if not Path(f).exists()]
    if not missing:
        return
    if not args.make_inputs:
        raise SystemExit(f"missing input {missing[0]} (and {len(missing) - 1} more): run make demo, "
                         "or pass --make-inputs")
    workdir = Path(args.results).resolve().parent
    targets = [str(Path(f).resolve().relative_to(workdir)) for f in files if not f.endswith(".bed")]
    subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--snakefile",
                    str(ROOT / "workflow/Snakefile"), "--directory", str(workdir), "--configfile",
                    str(ROOT / "config/config.yaml"), "--cores", str(args.threads), *targets],
                   check=True, stdout=sys.stderr)  # stdout is for the tables


def timed_grid_search(points, fit_point, score, threads):
    """(TuningResult or None when every point failed, wall seconds)."""
    t0 = time.perf_counter()
    try:
        result = tuning.grid_search(points, fit_point, score, n_jobs=threads)
    except VibankError:
        result = None
    return result, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="the demo study's results directory")
    parser.add_argument("--make-inputs", dest="make_inputs", action="store_true",
                        help="make missing inputs with the workflow (in the parent of --results)")
    parser.add_argument("--trait", default="sparse")
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--chromosomes", nargs="+", default=["1", "2", "3"])
    parser.add_argument("--ld-panel", default="windowed3cm")
    parser.add_argument("--grid-size", type=int, default=ModelSpec.grid_size)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--burnin", type=int, default=ModelSpec.n_burnin,
                        help="burn-in sweeps (default vibank's = LDpred2-grid's burn_in)")
    parser.add_argument("--samples", type=int, default=ModelSpec.n_samples,
                        help="kept sweeps (default vibank's = LDpred2-grid's num_iter)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", dest="max_iter", type=int, default=ModelSpec.grid_max_iter,
                        help="iteration cap of each VIPRS grid fit (the workflow's prs.grid_max_iter)")
    parser.add_argument("--ld-noise", dest="ld_noise", choices=("none", "auto"), default="none",
                        help="VIPRS's LD-noise term (none: the sampler's likelihood)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 6 grid points, 5 + 10 sweeps")
    args = parser.parse_args()
    if args.quick:
        args.grid_size, args.burnin, args.samples = 6, 5, 10
    counter = RestartCounter()
    logging.getLogger("vibank").addHandler(counter)  # also keeps the warnings off the terminal

    paths = input_paths(args)
    ensure_inputs(args, paths)
    data = load_fit_data(paths["sumstats"], paths["ld"])
    x_val, y_val, binary = load_validation(data, paths["bfile"], paths["validation"],
                                           paths["phenotypes"], args.trait)
    x_test, y_test, _ = load_validation(data, paths["bfile"], paths["test"], paths["phenotypes"],
                                        args.trait)
    if binary:
        raise SystemExit(f"{args.trait} is binary: this benchmark compares R^2")
    score = tuning.selection_score("validation_r2", x_val=x_val, y_val=y_val)
    m = data.n_variants
    pis = [float(p) for p in tuning.pi_grid(m, args.grid_size)]
    h2_ldsc = ldsc_h2(data.std_beta, data.n_per_variant, data.ld_scores)
    rows = []  # (label, value types, result, seconds, points run)

    def viprs_grid(label, settings):
        fitted = {}
        point = tuning.viprs_fit_point(data.std_beta, data.n_per_variant, data.ld, n_threads=1,
                                       max_iter=args.max_iter, ld_noise=args.ld_noise, **settings)

        def recording(params):
            model = point(params)
            fitted[params["pi"]] = model.h2_
            return model

        counter.restarts = 0
        result, seconds = timed_grid_search(tuning.hyperparameter_grid(np.array(pis)), recording,
                                            score, args.threads)
        state = np.dtype(settings["dtype"]).name
        rows.append((label, f"int16 / {state}", result, seconds, len(pis), counter.restarts))
        return fitted

    def gibbs_grid(label, points, dtype):
        fit_point = gibbs_fit_point(data.std_beta, data.n_per_variant, data.ld, n_threads=1,
                                    n_burnin=args.burnin, n_samples=args.samples, seed=args.seed,
                                    dtype=dtype)
        result, seconds = timed_grid_search(points, fit_point, score, args.threads)
        rows.append((label, f"int16 / {np.dtype(dtype).name}", result, seconds, len(points), 0))

    ldsc_points = [{"pi": pi, "sigma2_beta": h2_ldsc / (m * pi), "sigma2_eps": 1 - h2_ldsc}
                   for pi in pis]
    exact_h2 = viprs_grid("VIPRS-GS, exact (VIPRS defaults)", EXACT)
    gibbs_grid(f"Gibbs, LD-score h2 = {h2_ldsc:.3f}", ldsc_points, np.float64)
    h2_points = [{"pi": pi, "sigma2_beta": min(max(exact_h2[pi], 1e-3), 0.999) / (m * pi),
                  "sigma2_eps": 1 - min(max(exact_h2[pi], 1e-3), 0.999)}
                 for pi in pis if pi in exact_h2]
    gibbs_grid("Gibbs, h2 = exact VIPRS's h2 at the point", h2_points, np.float64)
    viprs_grid("VIPRS-GS, exact, float32 state", {**EXACT, "dtype": np.float32})
    grid = GridSettings()
    viprs_grid("VIPRS-GS, grid-fit settings (less work)", grid.viprs_options())
    gibbs_grid(f"Gibbs, LD-score h2 = {h2_ldsc:.3f}, float32", ldsc_points, np.float32)

    # -- report ---------------------------------------------------------------------------
    print(f"Command: {os.path.basename(sys.executable)} {' '.join(sys.argv)}")
    print(f"Data: {args.results}, trait {args.trait}, fold {args.fold}, LD {args.ld_panel} (int16); "
          f"{m:,} variants (" + ", ".join(f"chr{c.chrom} {len(c.b):,}" for c in data.chromosomes)
          + f"), GWAS N = {np.median(np.concatenate(data.n_per_variant)):,.0f}; pi chosen on "
          f"{len(y_val)} validation samples, R² reported on {len(y_test)} test samples; "
          f"{args.grid_size} pi from {pis[0]:.3g} to {pis[-1]:.3g}; {args.threads} fits at once, "
          f"one thread each; VIPRS ld_noise {args.ld_noise}, at most {args.max_iter} iterations; "
          f"Gibbs {args.burnin} burn-in + {args.samples} kept sweeps"
          + (" (LDpred2-grid's defaults)" if (args.burnin, args.samples) == (50, 100) else "")
          + ", no ridge")
    print()
    print("| method | LD / state | grid points | total s | s / point | time / VIPRS-GS exact | "
          "best pi (validation) | validation R² | test R² | failed points | VIPRS restarts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base = rows[0][3]
    for label, types, result, seconds, n_points, restarts in rows:
        if result is None:
            failed, best = n_points, "– | – | –"
        else:
            failed = int((result.table["stop_reason"] == "failed").sum())
            test = tuning.validation_r2(result.best_model.eta_, x_test, y_test)
            best = (f"{result.best_params['pi']:.3g} | "
                    f"{result.table.at[result.best_index, 'metric']:.4f} | {test:.4f}")
        print(f"| {label} | {types} | {n_points} | {seconds:.1f} | "
              f"{seconds / max(n_points, 1):.2f} | {seconds / base:.2f} | {best} | {failed} | "
              f"{restarts if label.startswith('VIPRS') else ''} |")
    by_label = {row[0]: row[3] for row in rows}
    exact32 = by_label["VIPRS-GS, exact, float32 state"]
    less = by_label["VIPRS-GS, grid-fit settings (less work)"]
    print()
    print(f"- float32 state alone (same work): VIPRS-GS exact float32 / float64 = "
          f"{exact32 / base:.2f}")
    print(f"- less work (lazy updates, block ridge from the start, tol_eta 1e-5), float32: "
          f"grid-fit settings / exact = {less / exact32:.2f}")
    # speed-ups of VIPRS-GS over the sampler: the sampler's time / VIPRS-GS's
    print(f"- float64 vs float64, same work: Gibbs (LD-score h2) time / VIPRS-GS exact time = "
          f"{rows[1][3] / base:.2f}")
    print(f"- float32 vs float32, same work: Gibbs (LD-score h2) time / VIPRS-GS exact time = "
          f"{by_label[rows[-1][0]] / exact32:.2f}; with VIPRS's less-work settings = "
          f"{by_label[rows[-1][0]] / less:.2f}")


if __name__ == "__main__":
    main()
