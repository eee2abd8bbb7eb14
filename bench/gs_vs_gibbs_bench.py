"""VIPRS grid search (VIPRS-GS) against the spike-and-slab Gibbs sampler over the same pi grid.

Usage::

    .venv/bin/python bench/gs_vs_gibbs_bench.py [--results results] [--trait sparse] [--fold 1]
        [--grid-size 30] [--threads 2] [--burnin 100] [--samples 500]
        [--dtype float32] [--lazy-tol 1e-4] [--initial-ridge block] [--tol-eta 1e-5] [--exact]

Data: a demo study's outputs under ``--results`` (``make demo``, or only the files needed:
``snakemake --snakefile workflow/Snakefile --directory DIR <targets> --configfile
config/config.yaml`` with the targets results/gwas/{trait}/fold{k}/chr{1,2,3}.sumstats.tsv.gz,
results/ld/windowed3cm/chr{1,2,3}.zarr, results/splits/fold{k}/validation.keep and
results/phenotypes/phenotypes.tsv; the QC genotypes come with them). Every chromosome's sumstats
are matched to the windowed 3 cM LD panel; R^2 is measured on the fold's validation samples.

The grid is ``pi_grid(M, grid_size)``: log-spaced pi from 1/M to 0.5 over all M variants.

- VIPRS-GS: ``tuning.grid_search`` over ``hyperparameter_grid(pi)``, one genome-wide fit per
  point (pi fixed, sigma2_beta and sigma2_eps by the M-step, one E-step thread, at most
  ``--max-iter`` iterations, the LD stores' eigenvalues for the ridge), ``--threads`` fits at
  once, as the workflow's rule tune_prs runs it. By default with the grid-fit settings
  ``--dtype float32`` (variational state in single precision), ``--lazy-tol 1e-4`` (lazy
  neighbour updates, ending with exact sweeps at the exact fixed point) and
  ``--initial-ridge block`` (start at the block ridge when the stored eigenvalues show the
  LD is not positive semi-definite) and ``--tol-eta 1e-5`` (convergence on max |delta eta|;
  VIPRS's default 1e-6); ``--exact`` gives VIPRS's defaults (float64, exact sweeps, no ridge
  before a divergence, tol_eta 1e-6);
- Gibbs: the same ``tuning.grid_search`` (``--threads`` fits at once in a thread pool: the sweep
  kernel runs under ``nogil``) over the same pi values, each point's hyperparameters fixed. A
  point is one ``GibbsSpikeSlab`` per chromosome with the same hyperparameters, effects
  concatenated (exact: with fixed hyperparameters the chromosomes are independent). The sampler
  needs sigma2_beta and sigma2_eps; three choices, one table row each:

  - ``viprs-h2``: the h2 that VIPRS estimated at the same pi, as LDpred2 sets its grid:
    sigma2_beta = h2 / (M pi), sigma2_eps = 1 - h2;
  - ``viprs-fit``: VIPRS's own fitted sigma2_beta and sigma2_eps at the same pi (the exact
    prior and residual variance VIPRS ended with);
  - ``ldsc``: the LD-score regression h2 for every point (what the workflow's rule
    fit_baseline uses), sigma2_beta = h2 / (M pi), sigma2_eps = 1 - h2: independent of VIPRS.

  The first two run only at points where VIPRS succeeded, and their times leave out the VIPRS
  fits that supplied the hyperparameters.

A diverged fit (VibankError) is counted as failed, as tuning does. VIPRS regularises a non
positive semi-definite LD itself (block ridge, then escalating ridges, restarting the fit); the
Gibbs sampler runs on the LD as stored. Prints one markdown table, then notes on the ridges and
on where VIPRS's time goes.
"""

import argparse
import logging
import os
import sys
import time

import numpy as np

from vibank.errors import VibankError
from vibank.prs import GridSettings, ModelSpec, gibbs_fit_point, ldsc_h2, tuning
from vibank.stages.fit_data import load_fit_data, load_validation

GIBBS_PRIORS = ("viprs-h2", "viprs-fit", "ldsc")


class RestartCounter(logging.Handler):
    """Counts VIPRS's restarts after divergence from its log warnings (and silences vibank's log)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.block, self.escalated = 0, 0

    def emit(self, record):
        message = record.getMessage()
        # "VIPRS diverged on X: the LD matrix is not ..." restarts with the block ridge; a
        # divergence with the block ridge (initial_ridge="block") or a PSD LD escalates next
        self.block += message.startswith("VIPRS diverged") and "restarting with a block" in message
        self.escalated += message.startswith("VIPRS still diverged")


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
    parser.add_argument("--trait", default="sparse")
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--chromosomes", nargs="+", default=["1", "2", "3"])
    parser.add_argument("--ld-panel", default="windowed3cm")
    parser.add_argument("--grid-size", type=int, default=ModelSpec.grid_size)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--burnin", type=int, default=ModelSpec.n_burnin)
    parser.add_argument("--samples", type=int, default=ModelSpec.n_samples)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", dest="max_iter", type=int, default=ModelSpec.grid_max_iter,
                        help="iteration cap of each VIPRS grid fit (the workflow's prs.grid_max_iter)")
    parser.add_argument("--gibbs-priors", nargs="+", choices=GIBBS_PRIORS, default=list(GIBBS_PRIORS))
    grid = GridSettings()  # the workflow's grid-fit settings (config prs.grid) are the defaults
    parser.add_argument("--dtype", choices=("float32", "float64"), default=grid.dtype,
                        help="precision of VIPRS's variational state in the grid fits")
    parser.add_argument("--lazy-tol", dest="lazy_tol", type=float, default=grid.lazy_tol,
                        help="VIPRS lazy neighbour updates (0: exact sweeps)")
    parser.add_argument("--initial-ridge", dest="initial_ridge", choices=("none", "block"),
                        default=grid.initial_ridge, help="VIPRS's ridge before any divergence")
    parser.add_argument("--tol-eta", dest="tol_eta", type=float, default=grid.tol_eta,
                        help="VIPRS grid fits' tolerance on max |delta eta|")
    parser.add_argument("--exact", action="store_true", help="VIPRS's defaults: --dtype float64 "
                        "--lazy-tol 0 --initial-ridge none --tol-eta 1e-6")
    args = parser.parse_args()
    if args.exact:
        args.dtype, args.lazy_tol, args.initial_ridge, args.tol_eta = "float64", 0.0, "none", 1e-6
    counter = RestartCounter()
    logging.getLogger("vibank").addHandler(counter)  # also keeps the warnings off the terminal

    res = args.results
    sumstats = [f"{res}/gwas/{args.trait}/fold{args.fold}/chr{c}.sumstats.tsv.gz" for c in args.chromosomes]
    ld_paths = [f"{res}/ld/{args.ld_panel}/chr{c}.zarr" for c in args.chromosomes]
    data = load_fit_data(sumstats, ld_paths)
    chromosomes = data.chromosomes
    x_val, y_val, binary = load_validation(data, f"{res}/qc/qc",
                                           f"{res}/splits/fold{args.fold}/validation.keep",
                                           f"{res}/phenotypes/phenotypes.tsv", args.trait)
    if binary:
        raise SystemExit(f"{args.trait} is binary: this benchmark compares validation R^2")
    score = tuning.selection_score("validation_r2", x_val=x_val, y_val=y_val)
    m = data.n_variants
    pis = tuning.pi_grid(m, args.grid_size)
    rows = []

    # -- VIPRS-GS ------------------------------------------------------------------------
    fitted = {}  # pi -> what the Gibbs rows and the notes need from each VIPRS fit
    viprs_options = GridSettings(dtype=args.dtype, lazy_tol=args.lazy_tol,
                                 initial_ridge=args.initial_ridge, tol_eta=args.tol_eta)
    viprs_point = tuning.viprs_fit_point(data.std_beta, data.n_per_variant, data.ld, n_threads=1,
                                         max_iter=args.max_iter, **viprs_options.viprs_options())

    def recording_fit_point(params):
        model = viprs_point(params)
        history = model.result_.history
        # the successful run's iterations; the rest of the fit is set-up and diverged runs
        iterating = (history[-1]["seconds"] - history[0]["seconds"]) * len(history) / max(len(history) - 1, 1)
        fitted[params["pi"]] = {"h2": model.h2_, "sigma2_beta": model.sigma2_beta_,
                                "sigma2_eps": model.sigma2_eps_, "ridge": float(model.ridge_.max()),
                                "seconds": model.result_.seconds, "iterating": iterating}
        return model

    viprs, seconds = timed_grid_search(tuning.hyperparameter_grid(pis), recording_fit_point, score,
                                       args.threads)
    rows.append(("VIPRS-GS (M-step s2b, s2e)", viprs, seconds, args.grid_size))

    # -- Gibbs over the same pi values ----------------------------------------------------
    h2_ldsc = ldsc_h2(data.std_beta, data.n_per_variant, data.ld_scores)
    labels = {"viprs-h2": "Gibbs, h2 = VIPRS's h2 at the point",
              "viprs-fit": "Gibbs, VIPRS's fitted s2b and s2e at the point",
              "ldsc": f"Gibbs, LD-score h2 = {h2_ldsc:.3f}"}
    for prior in args.gibbs_priors:
        points = []
        for pi in map(float, pis):
            if prior == "ldsc":
                h2 = h2_ldsc
            elif pi not in fitted:
                continue  # VIPRS failed here: no hyperparameters to hand on
            elif prior == "viprs-fit":
                points.append({"pi": pi, "sigma2_beta": fitted[pi]["sigma2_beta"],
                               "sigma2_eps": fitted[pi]["sigma2_eps"]})
                continue
            else:
                h2 = min(max(fitted[pi]["h2"], 1e-3), 0.999)
            points.append({"pi": pi, "sigma2_beta": h2 / (m * pi), "sigma2_eps": 1 - h2})
        t0 = time.perf_counter()
        fit_point = gibbs_fit_point(data.std_beta, data.n_per_variant, data.ld, n_threads=1,
                                    n_burnin=args.burnin, n_samples=args.samples, seed=args.seed)
        result, _ = timed_grid_search(points, fit_point, score, args.threads)
        rows.append((labels[prior], result, time.perf_counter() - t0, len(points)))

    # -- report ---------------------------------------------------------------------------
    print(f"Command: {os.path.basename(sys.executable)} {' '.join(sys.argv)}")
    print(f"Machine: {os.cpu_count()} hardware threads; {args.threads} fits at once, one thread each")
    print(f"Data: {res}, trait {args.trait}, fold {args.fold}, LD panel {args.ld_panel}; "
          f"{m:,} variants (" + ", ".join(f"chr{c.chrom} {len(c.b):,}" for c in chromosomes)
          + f"), GWAS N = {np.median(np.concatenate(data.n_per_variant)):,.0f}, "
          f"{len(y_val)} validation samples; pi grid {pis[0]:.3g} to {pis[-1]:.3g}, "
          f"{args.grid_size} points; Gibbs {args.burnin} burn-in + {args.samples} kept sweeps")
    print(f"VIPRS grid fits: max_iter {args.max_iter}, dtype {args.dtype}, "
          f"lazy_tol {args.lazy_tol:g}, initial_ridge {args.initial_ridge}, "
          f"tol_eta {args.tol_eta:g}")
    print()
    print("| method | grid points | total s | s / grid point | best pi | validation R² at best | "
          "failed points | time / VIPRS-GS |")
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0][2]
    for label, result, seconds, n_points in rows:
        not_run = args.grid_size - n_points
        failed = (args.grid_size if result is None else
                  int((result.table["stop_reason"] == "failed").sum()))
        failed_text = f"{failed}" + (f" (+{not_run} not run: VIPRS failed there)" if not_run else "")
        if result is None:
            best = "– | –"
        else:
            best = f"{result.best_params['pi']:.3g} | {result.table.at[result.best_index, 'metric']:.4f}"
        print(f"| {label} | {n_points} | {seconds:.1f} | {seconds / max(n_points, 1):.2f} | {best} | "
              f"{failed_text} | {seconds / base:.2f} |")
    print()
    if fitted:
        ridged = [v["ridge"] for v in fitted.values() if v["ridge"] > 0]
        total = sum(v["seconds"] for v in fitted.values())
        iterating = sum(v["iterating"] for v in fitted.values())
        print(f"VIPRS: {len(ridged)} of {len(fitted)} successful fits needed a ridge (largest "
              f"{max(ridged, default=0):.3g}); restarts after divergence: {counter.block} with "
              f"the block ridge, {counter.escalated} with an escalated ridge (failed points "
              f"included). Of {total:.1f} s of "
              f"fitting (summed over fits), {iterating:.1f} s went to the iterations of the "
              "successful runs, the rest to set-up and diverged runs.")
    print("Gibbs ran on the LD as stored (no ridge); its seconds leave out the VIPRS fits that "
          "supplied the viprs-h2 and viprs-fit hyperparameters.")


if __name__ == "__main__":
    main()
