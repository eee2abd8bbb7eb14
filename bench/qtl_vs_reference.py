"""atlasQTL side by side with the AF-CAVI authors' implementation (AFatlasqtl 0.1.4, R + RcppEigen;
issue 20): same simulated panels, hyperprior elicitation, tolerance, annealing and max_iter.

    python bench/qtl_vs_reference.py --build          # build AFatlasqtl once into --afatlasqtl
    python bench/qtl_vs_reference.py                  # the paper's grid (12 panels, hours)
    python bench/qtl_vs_reference.py --quick          # one panel: n=2000, q=1000, a_q=0.005
    python bench/qtl_vs_reference.py --baseline-src ../before/src   # that panel, before/after

The authors' code stays out of this repository: ``--build`` copies it from a checkout or a bare
mirror (``--source``, brought by the ``fetch`` of github:yiran2000/atlasqtl-adaptive-focus),
patches the copy so that it installs on Debian's R without CRAN (recipe in the module
``patch_reference``) and installs it into the R library ``--afatlasqtl``.

Design (pqtl_afcavi.md (h)): p = 1,000 variants in LD blocks, q in {1000, 3000}, a_q in {0.005,
0.2, 0.5}, a_p = 0.01, mean PVE 0.15, n in {2000, 5000}. Both sides: p0 = (1, 4) elicited by
Owen's T, tol 0.01 on the signed ELBO difference, annealing (1, 2, 10), max_iter 3000,
predictors shuffled every iteration. Fits (each panel, the two sides alternating):

- full CAVI: AFatlasqtl ``CAVI = "full"`` (every ELBO evaluated) against vibank
  ``cavi="full"`` (default: every ELBO evaluated), seconds per full iteration and end to end;
- adaptive focus as the reference runs it (start_partial 50, epsilon "iteration", alpha 0.95,
  min_epsilon 0, thinned ELBO, no confirming sweep) against vibank with those settings;
- vibank's default adaptive fit (min_epsilon 0.01 and the confirming full sweep) for reference.

AFatlasqtl is single-threaded (R's reference BLAS; its C++ loop has no threads); vibank runs
``--threads`` OpenMP threads. The runtime cut of focus and thinning taken apart is
``bench/qtl_bench.py`` (the 2 x 2), run by ``--cut`` on the same panel.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from vibank.eval import binary_metrics
from vibank.qtl import AtlasQTL, ConvergenceWarning
from vibank.simulate import simulate_protein_panel

REPO = "yiran2000/atlasqtl-adaptive-focus"
DEFAULT_LIB = Path("/work/.afatlasqtl/lib")
DEFAULT_SOURCE = Path("/work/.mirror/yiran2000+atlasqtl-adaptive-focus/repo")

#: R functions replacing the three CRAN packages Debian lacks (tictoc, PowerTOST, LaplacesDemon)
#: and magrittr's pipe, used by the core when eval_perform = TRUE
SHIMS = r"""
.tic_stack <- new.env()
.tic_stack$t <- numeric(0)
tic <- function(msg = NULL, quiet = TRUE, ...) {
  .tic_stack$t <- c(.tic_stack$t, proc.time()[["elapsed"]])
  invisible(NULL)
}
toc <- function(quiet = FALSE, ...) {
  n <- length(.tic_stack$t)
  start <- .tic_stack$t[n]
  .tic_stack$t <- .tic_stack$t[-n]
  list(tic = start, toc = proc.time()[["elapsed"]])
}
owens_t_ <- function(h, a) {
  mapply(function(h, a) sign(a) / (2 * pi) * stats::integrate(
    function(x) exp(-h^2 * (1 + x^2) / 2) / (1 + x^2), 0, abs(a),
    rel.tol = 1e-12, abs.tol = 0)$value, h, a)
}
rhalfcauchy_ <- function(n, scale = 1) abs(stats::rcauchy(n, 0, scale))
`%>%` <- function(lhs, rhs) rhs(lhs)
"""

#: R driver: reads X, Y (raw float64, column-major), fits, writes PPIs and a JSON record
DRIVER = r"""
args <- commandArgs(trailingOnly = TRUE)
lib <- args[1]; dir <- args[2]; mode <- args[3]; tag <- args[4]
dims <- scan(file.path(dir, "dims.txt"), quiet = TRUE)
n <- dims[1]; p <- dims[2]; q <- dims[3]; maxit <- dims[4]; tol <- dims[5]
suppressPackageStartupMessages(library(AFatlasqtl, lib.loc = lib))
X <- matrix(readBin(file.path(dir, "X.bin"), "double", n * p), n, p)
Y <- matrix(readBin(file.path(dir, "Y.bin"), "double", n * q), n, q)
t0 <- proc.time()
fit <- atlasqtl(Y, X, p0 = c(1, 4), CAVI = mode, tol = tol, maxit = maxit, user_seed = 25,
                verbose = 0, eval_perform = TRUE)
t1 <- proc.time()
seconds <- t1[["elapsed"]] - t0[["elapsed"]]
cpu <- (t1[["user.self"]] + t1[["sys.self"]]) - (t0[["user.self"]] + t0[["sys.self"]])
perf <- fit$perform_df
writeBin(as.vector(fit$gam_vb), file.path(dir, paste0("gam_", tag, ".bin")))
rec <- c(seconds = seconds, cpu = cpu, iterations = fit$it, elbo = fit$lb_opt,
         converged = as.numeric(fit$converged),
         loop = sum(as.numeric(perf$time_loop)), elbo_s = sum(as.numeric(perf$time_ELBO)),
         full_iteration = median(as.numeric(perf$time_total)[!perf$partial & !perf$annealing]),
         loop_full = median(as.numeric(perf$time_loop)[!perf$partial & !perf$annealing]),
         swept = sum(as.numeric(perf$subsample_size)))
write(paste0("{", paste0('"', names(rec), '": ', format(rec, digits = 15), collapse = ", "), "}"),
      file.path(dir, paste0("rec_", tag, ".json")))
"""


def _edit(path, old, new):
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"patch_reference: {old!r} not found in {path}")
    path.write_text(text.replace(old, new))


def patch_reference(src):
    """Make a copy of AFatlasqtl install on Debian's R (notes/platform.md): drop the imports of
    LaplacesDemon, PowerTOST and tictoc, replace their few functions by SHIMS."""
    desc = src / "DESCRIPTION"
    desc.write_text("".join(line for line in desc.read_text().splitlines(keepends=True)
                            if not any(k in line for k in ("LaplacesDemon", "PowerTOST",
                                                           "tictoc"))))
    _edit(src / "NAMESPACE", "import(tictoc)\n", "")
    _edit(src / "R" / "AFatlasqtl_package.R", "#' @import tictoc\n", "")
    _edit(src / "R" / "atlasqtl_global_local_core.R", "library(tictoc)", "# library(tictoc)")
    for name in ("utils.R", "set_hyper_init.R"):
        _edit(src / "R" / name, "PowerTOST::OwensT(", "owens_t_(")
    _edit(src / "R" / "set_hyper_init.R", "LaplacesDemon::rhalfcauchy(", "rhalfcauchy_(")
    (src / "R" / "zz_shims.R").write_text(SHIMS)


def build(source, lib):
    """Copy the authors' package from ``source`` (a bare mirror or a checkout), patch, install."""
    lib.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "AFatlasqtl")
        if (source / "DESCRIPTION").exists():
            shutil.copytree(source, src)
        else:
            src.mkdir()
            archive = subprocess.run(["git", "--git-dir", str(source), "archive", "HEAD"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        commit = subprocess.run(["git", "--git-dir", str(source), "rev-parse", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        patch_reference(src)
        subprocess.run(["R", "CMD", "INSTALL", "--no-test-load", "-l", str(lib), str(src)],
                       check=True)
    print(f"AFatlasqtl ({REPO} {commit or '?'}) installed in {lib}", file=sys.stderr)


def ld_block_genotypes(n, p, seed, block=50, rho=(0.5, 0.95)):
    """Dosages in LD blocks: per block an AR(1) latent Gaussian with lag-1 correlation
    rho ~ U(rho), thresholded at the variant's MAF ~ U(0.05, 0.5), two haplotypes per person."""
    rng = np.random.default_rng(seed)
    threshold = np.quantile(rng.standard_normal(100_000), rng.uniform(0.05, 0.5, p))
    x = np.zeros((n, p))
    for _ in range(2):
        z = np.empty((n, p))
        for start in range(0, p, block):
            r = rng.uniform(*rho)
            z[:, start] = rng.standard_normal(n)
            for j in range(start + 1, min(start + block, p)):
                z[:, j] = r * z[:, j - 1] + np.sqrt(1 - r * r) * rng.standard_normal(n)
        x += z < threshold
    return x


def run_reference(lib, work, mode, tag):
    """One AFatlasqtl fit in Rscript; its record (seconds timed inside R around atlasqtl())."""
    subprocess.run(["Rscript", str(work / "driver.R"), str(lib), str(work), mode, tag],
                   check=True)
    rec = json.loads((work / f"rec_{tag}.json").read_text())
    p, q = (int(v) for v in (work / "dims.txt").read_text().split()[1:3])
    rec["gamma"] = np.fromfile(work / f"gam_{tag}.bin").reshape(q, p).T
    return rec


def run_vibank(x, y, threads, max_iter, tol, **options):
    model = AtlasQTL(seed=25, n_threads=threads, max_iter=max_iter, tol=tol, **options)
    tick, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    seconds, cpu = time.perf_counter() - tick, time.process_time() - cpu
    hist = model.result_.history
    full = [r["seconds"] for r in hist if r["c"] == 1.0 and r["n_units"] == y.shape[1]]
    return {"seconds": seconds, "cpu": cpu, "iterations": model.n_iter_, "elbo": model.result_.elbo,
            "converged": float(model.result_.success), "loop": model.seconds_["loop"],
            "elbo_s": model.seconds_["elbo"],
            "full_iteration": float(np.median(full)) if full else np.nan,
            "swept": sum(r["n_units"] for r in hist), "gamma": model.gamma_,
            "confirming": model.n_confirming_sweeps_,
            "steps": {k: model.seconds_[k] / model.n_iter_ for k in ("loop", "local", "global",
                                                                     "elbo")},
            "max_drop": float(max(0.0, -np.min(np.diff(model.elbo_history_), initial=0.0)))}


#: one vibank fit in a fresh interpreter, importing vibank from argv[1] (a checkout's src/)
ONE_FIT = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
from vibank.eval import binary_metrics
from vibank.qtl import AtlasQTL, ConvergenceWarning
work, tag = sys.argv[2], sys.argv[3]
n, p, q, max_iter, tol = (float(v) for v in open(f"{work}/dims.txt").read().split())
n, p, q = int(n), int(p), int(q)
x = np.fromfile(f"{work}/X.bin").reshape(p, n).T
y = np.fromfile(f"{work}/Y.bin").reshape(q, n).T
model = AtlasQTL(seed=25, max_iter=int(max_iter), tol=tol, **json.loads(sys.argv[4]))
tick, cpu = time.perf_counter(), time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(x, y)
seconds, cpu = time.perf_counter() - tick, time.process_time() - cpu
auprc, auroc = binary_metrics(np.load(f"{work}/truth.npy").ravel(), model.gamma_.ravel())
np.save(f"{work}/gamma_{tag}.npy", model.gamma_)
print(json.dumps({"seconds": seconds, "cpu": cpu, "iterations": model.n_iter_,
                  "elbo": model.result_.elbo, "converged": bool(model.result_.success),
                  "swept": int(sum(r["n_units"] for r in model.result_.history)),
                  "elbo_evals": len(model.elbo_history_), "auroc": auroc, "auprc": auprc,
                  "phases": {k: round(v, 2) for k, v in model.seconds_.items()}}))
"""

#: the before/after fits: (label, vibank options); AFatlasqtl's adaptive fit runs first
BEFORE_AFTER = (
    ("adaptive, reference settings", {"cavi": "adaptive", "min_epsilon": 0.0,
                                      "final_full_sweep": False}),
    ("Vanilla", {"cavi": "full", "thinned_elbo": False}),
    ("focus (AFI)", {"cavi": "adaptive", "thinned_elbo": False}),
    ("focus + thinning (AFIO)", {"cavi": "adaptive", "thinned_elbo": True}),
    ("thinning", {"cavi": "full", "thinned_elbo": True}))


def before_after(args):
    """The quick panel fitted by this checkout and by ``--baseline-src`` (another checkout's
    src/, built in place), alternating fit by fit in fresh interpreters, plus AFatlasqtl's
    adaptive fit: the runtime cuts and the ratio to AFatlasqtl before and after, same load."""
    n, q, a_q = 2000, 1000, 0.005
    work = args.workdir / f"before_after_n{n}_q{q}_aq{a_q}"
    _, panel = make_panel(args, n, q, a_q, int(1000 * a_q) + q + n, work, args.max_iter,
                          args.tol)
    np.save(work / "truth.npy", panel.associations)
    trees = {"after": str(Path(__file__).resolve().parents[1] / "src"),
             "before": str(args.baseline_src)}
    ref = run_reference(args.afatlasqtl, work, "adaptive", "ba_adaptive")
    ref["auprc"], ref["auroc"] = binary_metrics(panel.associations.ravel(),
                                                ref["gamma"].ravel())
    print(f"  AFatlasqtl adaptive: {ref['seconds']:.1f} s", file=sys.stderr, flush=True)
    recs = {}
    for i, (label, options) in enumerate(BEFORE_AFTER):
        options = dict(options, n_threads=args.threads)
        for tree in (("after", "before") if i % 2 == 0 else ("before", "after")):
            tag = f"{tree}_{i}"
            out = subprocess.run([sys.executable, "-c", ONE_FIT, trees[tree], str(work), tag,
                                  json.dumps(options)], check=True, capture_output=True,
                                 text=True)
            recs[label, tree] = json.loads(out.stdout.strip().splitlines()[-1])
            recs[label, tree]["tag"] = tag
            print(f"  {label} / {tree}: {recs[label, tree]['seconds']:.1f} s", file=sys.stderr,
                  flush=True)
    print(f"\n### Before / after (n={n}, q={q}, a_q={a_q}; vibank {args.threads} threads, "
          "AFatlasqtl 1 thread; the two checkouts alternate fit by fit)\n")
    print("| fit | vibank | iterations | s | CPU s | responses swept | ELBO evaluations | ELBO | "
          "AUROC | AUPRC | max abs ΔPPI after − before |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| adaptive, reference settings | AFatlasqtl | {ref['iterations']:.0f} | "
          f"{ref['seconds']:.1f} | {ref['cpu']:.1f} | {ref['swept']:.0f} | | {ref['elbo']:.2f} | "
          f"{ref['auroc']:.6f} | {ref['auprc']:.4f} | |")
    for label, _ in BEFORE_AFTER:
        a, b = recs[label, "after"], recs[label, "before"]
        dppi = np.max(np.abs(np.load(work / f"gamma_{a['tag']}.npy")
                             - np.load(work / f"gamma_{b['tag']}.npy")))
        for tree, r in (("before", b), ("after", a)):
            print(f"| {label} | {tree} | {r['iterations']} | {r['seconds']:.1f} | "
                  f"{r['cpu']:.1f} | {r['swept']} | {r['elbo_evals']} | {r['elbo']:.2f} | "
                  f"{r['auroc']:.6f} | {r['auprc']:.4f} | "
                  f"{f'{dppi:.1e}' if tree == 'after' else ''} |")
    print("\n| | before: wall | before: CPU | after: wall | after: CPU |\n|---|---|---|---|---|")
    for effect, num, den in (("cut, focus alone (AFI vs Vanilla)", "focus (AFI)", "Vanilla"),
                             ("cut, focus + thinning (AFIO vs Vanilla)",
                              "focus + thinning (AFIO)", "Vanilla"),
                             ("cut, thinning alone", "thinning", "Vanilla")):
        cells = [f"{100 * (1 - recs[num, t][k] / recs[den, t][k]):.1f} %"
                 for t in ("before", "after") for k in ("seconds", "cpu")]
        print(f"| {effect} | " + " | ".join(cells) + " |")
    label = "adaptive, reference settings"
    cells = [f"{ref[k] / recs[label, t][k]:.2f}x" for t in ("before", "after")
             for k in ("seconds", "cpu")]
    print("| AFatlasqtl / vibank, adaptive | " + " | ".join(cells) + " |")
    for label, _ in BEFORE_AFTER:
        print(f"\n{label}, seconds by phase: before {recs[label, 'before']['phases']}, after "
              f"{recs[label, 'after']['phases']}.")
    print(flush=True)


#: (label, side, AFatlasqtl CAVI or vibank options); run in this order, alternating sides
FITS = (("full", "AFatlasqtl", "full"),
        ("full", "vibank", {"cavi": "full"}),
        ("adaptive", "AFatlasqtl", "adaptive"),
        ("adaptive", "vibank", {"cavi": "adaptive", "min_epsilon": 0.0,
                                "final_full_sweep": False}),
        ("adaptive, vibank defaults", "vibank", {"cavi": "adaptive"}))


def make_panel(args, n, q, a_q, seed, work, max_iter, tol):
    """Simulate a panel and write the R side's inputs (X, Y column-major float64) to ``work``."""
    x = ld_block_genotypes(n, args.p, seed)
    panel = simulate_protein_panel(x, q, active_variant_fraction=0.01,
                                   active_protein_fraction=a_q, mean_pve=args.h, seed=seed + 1)
    work.mkdir(parents=True, exist_ok=True)
    (work / "driver.R").write_text(DRIVER)
    (work / "dims.txt").write_text(f"{n} {args.p} {q} {max_iter} {tol}\n")
    x.ravel(order="F").tofile(work / "X.bin")
    panel.Y.ravel(order="F").tofile(work / "Y.bin")
    return x, panel


def compare_panel(args, n, q, a_q, seed, cut):
    work = args.workdir / f"n{n}_q{q}_aq{a_q}"
    x, panel = make_panel(args, n, q, a_q, seed, work, args.max_iter, args.tol)
    truth = panel.associations.ravel()
    out = {}
    for label, side, how in FITS:
        if side == "AFatlasqtl":
            rec = run_reference(args.afatlasqtl, work, how, label)
        else:
            rec = run_vibank(x, panel.Y, args.threads, args.max_iter, args.tol, **how)
        rec["auprc"], rec["auroc"] = binary_metrics(truth, rec["gamma"].ravel())
        out[(label, side)] = rec
        print(f"  {label} / {side}: {rec['seconds']:.1f} s, {rec['iterations']:.0f} iterations",
              file=sys.stderr, flush=True)
    if cut is not None:
        from qtl_bench import fit_modes
        fit_modes(x, panel, args.threads, cut.setdefault(f"n={n}, q={q}, a_q={a_q}", {}))
    return out


def report_panel(key, fits):
    print(f"\n### {key}\n")
    print("| fit | implementation | iterations | total s | CPU s | s / full iteration | responses "
          "swept | ELBO | AUROC | AUPRC | converged |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (label, side), r in fits.items():
        print(f"| {label} | {side} | {r['iterations']:.0f} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
              f"{r['full_iteration']:.3f} | {r['swept']:.0f} | {r['elbo']:.2f} | "
              f"{r['auroc']:.5f} | {r['auprc']:.4f} | {'yes' if r['converged'] else 'no'} |")
    ref_full, ours_full = fits[("full", "AFatlasqtl")], fits[("full", "vibank")]
    ref_af, ours_af = fits[("adaptive", "AFatlasqtl")], fits[("adaptive", "vibank")]

    def corr(a, b):
        return np.corrcoef(a["gamma"].ravel(), b["gamma"].ravel())[0, 1]

    steps = ", ".join(f"{k} {v:.3f}" for k, v in ours_full["steps"].items())
    print(f"\nvibank full CAVI, wall seconds per iteration by step (annealing included): {steps}.")
    drops = max(r.get("max_drop", 0.0) for r in fits.values())
    print(f"\nLargest drop between evaluated ELBOs in the vibank fits: {drops:.2g} (AFatlasqtl "
          "stops with an error on a drop above 1.5e-8).")
    print(f"\nAFatlasqtl / vibank: {ref_full['full_iteration'] / ours_full['full_iteration']:.1f}x "
          f"per full iteration, {ref_full['seconds'] / ours_full['seconds']:.1f}x end to end "
          f"(full CAVI), {ref_af['seconds'] / ours_af['seconds']:.1f}x end to end (adaptive); "
          f"CPU time {ref_full['cpu'] / ours_full['cpu']:.1f}x (full), "
          f"{ref_af['cpu'] / ours_af['cpu']:.1f}x (adaptive). "
          f"PPI correlation between the implementations: full {corr(ref_full, ours_full):.5f}, "
          f"adaptive {corr(ref_af, ours_af):.5f}; vibank full vs adaptive "
          f"{corr(ours_full, ours_af):.5f}. AUROC vibank - AFatlasqtl: full "
          f"{ours_full['auroc'] - ref_full['auroc']:+.1e}, adaptive "
          f"{ours_af['auroc'] - ref_af['auroc']:+.1e}.", flush=True)


def per_iteration(args):
    """Seconds per full iteration at q = args.iteration_q (fixed iteration count, both sides)."""
    n, q = 2000, args.iteration_q
    work = args.workdir / f"iter_q{q}"
    # tol 1e-9: both sides run the fixed number of iterations
    x, panel = make_panel(args, n, q, 0.2, 7, work, args.iteration_count, 1e-9)
    ref = run_reference(args.afatlasqtl, work, "full", "iter")
    ours = run_vibank(x, panel.Y, args.threads, args.iteration_count, 1e-9, cavi="full")
    print(f"\n### Seconds per full iteration, n={n}, p={args.p}, q={q} ({args.iteration_count} "
          "iterations, median over the post-annealing ones, ELBO included)\n")
    print("| implementation | s / full iteration | total s | CPU s |\n|---|---|---|---|")
    print(f"| AFatlasqtl (1 thread) | {ref['full_iteration']:.3f} | {ref['seconds']:.1f} | "
          f"{ref['cpu']:.1f} |")
    print(f"| vibank ({args.threads} threads) | {ours['full_iteration']:.3f} | "
          f"{ours['seconds']:.1f} | {ours['cpu']:.1f} |")
    print(f"\nAFatlasqtl / vibank per full iteration: "
          f"{ref['full_iteration'] / ours['full_iteration']:.1f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--afatlasqtl", type=Path, default=DEFAULT_LIB,
                        help="R library holding AFatlasqtl (made by --build)")
    parser.add_argument("--build", action="store_true",
                        help="build AFatlasqtl from --source into --afatlasqtl, then stop")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"checkout or bare git mirror of {REPO}")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "vibank_qtl_vs_reference")
    parser.add_argument("--p", type=int, default=1000)
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--q", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--a-q", type=float, nargs="+", default=[0.005, 0.2, 0.5])
    parser.add_argument("--h", type=float, default=0.15)
    parser.add_argument("--tol", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iteration-q", type=int, default=3000)
    parser.add_argument("--iteration-count", type=int, default=20)
    parser.add_argument("--iteration-only", action="store_true",
                        help="only the per-iteration timing (0 as --iteration-q skips it)")
    parser.add_argument("--cut", action="store_true",
                        help="also the 2 x 2 of focus and thinning (qtl_bench) on each panel")
    parser.add_argument("--quick", action="store_true",
                        help="one panel (n=2000, q=1000, a_q=0.005) and the q=3000 timing")
    parser.add_argument("--baseline-src", type=Path,
                        help="only the before/after run: the quick panel fitted by this "
                             "checkout and by this other checkout's src/ (built in place), "
                             "alternating, the runtime cuts and AFatlasqtl's adaptive fit")
    args = parser.parse_args()
    if args.build:
        build(args.source, args.afatlasqtl)
        return 0
    if not (args.afatlasqtl / "AFatlasqtl").is_dir():
        print(f"AFatlasqtl is not installed in {args.afatlasqtl}: run with --build first "
              "(needs R, Rcpp, RcppEigen, gsl, plyr, Matrix from Debian)", file=sys.stderr)
        return 2
    if args.baseline_src:
        before_after(args)
        return 0
    if args.quick:
        args.n, args.q, args.a_q = [2000], [1000], [0.005]
    print(f"## atlasQTL vs AFatlasqtl 0.1.4 (p={args.p}, mean PVE {args.h}, a_p 0.01, p0 (1, 4), "
          f"tol {args.tol}, annealing (1, 2, 10), max_iter {args.max_iter}; AFatlasqtl 1 thread, "
          f"vibank {args.threads} threads; the sides alternate on each panel)")
    cut = {} if args.cut else None
    if args.iteration_only:
        args.n = []
    for n in args.n:
        for q in args.q:
            for a_q in args.a_q:
                fits = compare_panel(args, n, q, a_q, seed=int(1000 * a_q) + q + n, cut=cut)
                report_panel(f"n={n}, q={q}, a_q={a_q}", fits)
    if args.iteration_q:
        per_iteration(args)
    if cut:
        from qtl_bench import report
        print("\n### vibank: runtime cut of adaptive focus and of ELBO thinning, taken apart "
              "(bench/qtl_bench.py's 2 x 2 on the same panels)\n")
        report(cut, key="panel")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
