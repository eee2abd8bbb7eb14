"""Spike-and-slab VIPRS on one chromosome, vibank vs the PyPI ``viprs`` package, like for like.

Usage::

    .venv/bin/python bench/prs_bench.py --viprs-python /work/.viprs-venv/bin/python [--threads 2]
    .venv/bin/python bench/prs_bench.py --quick      # smoke run: small panel, few iterations

Data: a simulated panel (1,000 EUR-like samples x ~19,000 variants on one 30 Mb chromosome, the
panel of ``bench/ld_bench.py``, made here when ``--bfile`` is absent; ``--quick``: 300 x ~3,000).
Summary statistics of a sparse trait (h2 = 0.3, pi = 0.01, N = 100,000) are drawn from the RSS
likelihood with the panel's block LD. Two LD matrices of the same panel, stored as int16 by both
tools (computed before any timing, outside it, with each block's or window's eigenvalues):

- block: vibank's block finder on the 3 cM window; the same blocks go to magenpy. Positive
  semi-definite and exactly the LD of the statistics: the same model for both tools (vibank
  without a ridge, viprs ``lambda_min="infer"``, which finds only the int16 rounding's
  |lambda_min|), whose posterior means can be compared;
- windowed: a hard 3 cM window (``taper="none"``: magenpy's windowed matrix, not vibank's
  default Bartlett taper), not positive semi-definite; each tool regularises with its eigenvalue
  ridge: vibank ``initial_ridge="block"`` (-lambda_min + 0.01 per non-PSD block of 2,000
  variants), viprs ``lambda_min="infer"`` (its documented setting for such LD: 1 + |lambda_min|
  on the diagonal, from magenpy's spectral properties). The ridges differ, so the fits differ.

Like-for-like conditions of every row: the same panel, statistics and LD; ``--threads`` threads
for both; the same start (pi = 0.01, sigma2_beta = h2_0 / (M pi), sigma2_eps = 1 - h2_0 with
h2_0 the LD-score h2, every mu = 0); the same likelihood (vibank ``ld_noise="none"``: N as given,
as viprs); the same stopping rule: the first iteration (after 3) with max |delta eta| < ``--tol``
(vibank ``tol_eta=tol`` with the ELBO test switched off; viprs ``x_abs_tol=tol``,
``f_abs_tol=0`` and ``patience`` past ``--max-iter``, so its ELBO and sigma_g rules never stop
it), at most ``--max-iter`` iterations. Value types are stated per row: vibank streams the int16
LD with float32 or float64 state; viprs streams float32 LD by default
(``dequantize_on_the_fly=False``) or the int16 values (``True``), with float32 state.

Timed:

1. whole fits: from opening the LD store and the statistics to the fitted model (set-up: reading
   and harmonising, loading the LD, the ridge; then the iterations to the stopping rule);
2. per iteration at matched states: the first ``--iterations`` iterations from the same start,
   exact sweeps (vibank ``lazy_tol=0``; every variant's eta moves then, so every LD row is
   applied), set-up excluded, E-step + M-step + ELBO;
3. the lazy-update effect on its own: vibank float32 with ``lazy_tol=1e-4`` (the grid-fit
   setting) against the same fit with exact sweeps, same stopping rule; less work (skipped LD
   rows), not a faster kernel;
4. the memory-bandwidth bound of an exact sweep (the band's int16 bytes / the copy bandwidth)
   next to vibank's per-iteration times.

Prints markdown tables; the correlations are with vibank's float64 fit (effects, and scores on
the panel samples).
"""

import argparse
import json
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vibank.errors import VibankError
from vibank.io.plink import read_bim, read_dosages
from vibank.io.sumstats import write_sumstats
from vibank.ld import LDEstimator, LDMatrix, build_ld_store
from vibank.prs import VIPRS, ldsc_h2, std_beta_from_z
from vibank.simulate import CohortParams, simulate_cohort
from vibank.sumstats import harmonise

VIPRS_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import numpy as np
    import magenpy as mgp
    import viprs as vp
    (bfile, sumstats, work, threads, n_iter, blocks, theta_0, tag, tol, max_iter, want) = sys.argv[1:]
    threads, n_iter, max_iter, tol = int(threads), int(n_iter), int(max_iter), float(tol)
    theta_0 = json.loads(theta_0)
    store = Path(work) / f"viprs_ld_{tag}"
    if not (store / "chr_1").exists():  # LD once, outside the timings (as vibank's stores)
        g = mgp.GWADataLoader(bed_files=bfile, backend="magenpy", threads=threads,
                              temp_dir=str(Path(work) / "temp"))
        options = ({"cm_window_size": 3.0} if blocks == "none" else {"ld_blocks_file": blocks})
        g.compute_ld("windowed" if blocks == "none" else "block", str(store), dtype="int16",
                     compute_spectral_properties=True, **options)
    out = {}
    for dq in json.loads(want):
        label = "int16" if dq else "float32"
        t0 = time.perf_counter()
        g = mgp.GWADataLoader(ld_store_files=str(store / "chr_1"), sumstats_files=sumstats,
                              sumstats_format="magenpy", threads=threads,
                              temp_dir=str(Path(work) / "temp"))
        model = vp.VIPRS(g, lambda_min="infer", float_precision="float32",
                         dequantize_on_the_fly=dq, threads=threads)
        t1 = time.perf_counter()
        model.fit(max_iter=max_iter, min_iter=3, f_abs_tol=0.0, x_abs_tol=tol, patience=max_iter + 1,
                  theta_0=dict(theta_0), disable_pbar=True)
        t2 = time.perf_counter()
        res = model.optim_result
        eta = model.post_mean_beta[1] if isinstance(model.post_mean_beta, dict) else model.post_mean_beta
        np.save(Path(work) / f"viprs_eta_{tag}_{label}.npy", np.asarray(eta, dtype=float))
        lam = np.asarray(model.lambda_min, dtype=float)
        row = {"seconds": t2 - t0, "setup": t1 - t0, "n_iter": int(res.iterations),
               "h2": float(model.get_heritability()), "stop": str(res.message),
               "success": bool(res.success), "lambda_min": float(lam.max())}
        # per iteration from the same start, the first n_iter iterations (set-up excluded)
        model = vp.VIPRS(g, lambda_min="infer", float_precision="float32",
                         dequantize_on_the_fly=dq, threads=threads)
        t0 = time.perf_counter()
        model.fit(max_iter=n_iter, min_iter=n_iter, f_abs_tol=0.0, x_abs_tol=0.0,
                  patience=n_iter + 1, theta_0=dict(theta_0), disable_pbar=True)
        row["per_iter"] = (time.perf_counter() - t0) / int(model.optim_result.iterations)
        row["timed_iterations"] = int(model.optim_result.iterations)
        out[label] = row
    np.save(Path(work) / f"viprs_snps_{tag}.npy", np.asarray(g.sumstats_table[1].snps, dtype=str))
    print(json.dumps(out))
""")


def make_panel(prefix, *, n_samples, length, spacing=1500, seed=11):
    """The panel of bench/ld_bench.py (msprime EUR-like chromosome, MAF >= 1 %), made once."""
    prefix = Path(prefix)
    if Path(f"{prefix}.bed").exists():
        return prefix
    prefix.parent.mkdir(parents=True, exist_ok=True)
    params = CohortParams(populations={"EUR": n_samples}, n_chromosomes=1, chromosome_length=length,
                          min_spacing_bp=spacing, missing_rate=0.0, error_variant_fraction=0.0,
                          bad_sample_fraction=0.0, seed=seed)
    simulate_cohort(prefix.parent / "raw", prefix.parent / "samples.tsv", params)
    subprocess.run(["plink2", "--bfile", prefix.parent / "raw", "--maf", "0.01", "--make-bed",
                    "--out", prefix], check=True, capture_output=True)
    return prefix


def standardised_panel(bfile):
    g = read_dosages(bfile).astype(np.float64)
    g[g < 0] = np.nan
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    return (g - g.mean(0)) / g.std(0), g.mean(0) / 2


def simulate_sumstats(bfile, ld, out, *, n_gwas=100_000, seed=3, h2=0.3, pi=0.01):
    """Summary statistics of a sparse trait drawn from the RSS likelihood of the panel's LD.

    b ~ N(R beta, (1 - h2) R / N) with R the panel's block-diagonal LD and N = ``n_gwas``: the
    sumstats of a large GWAS whose LD is exactly R (X_b' e_b / sqrt(n) has covariance R_b).
    Writes vibank's format to ``out`` and magenpy's (PVAL for P) beside it.
    """
    rng = np.random.default_rng(seed)
    x, freq = standardised_panel(bfile)
    n, m = x.shape
    r = ld.rows().to_csr(diagonal=1.0)
    beta = np.where(rng.random(m) < pi, rng.standard_normal(m), 0.0)
    beta *= np.sqrt(h2 / (beta @ (r @ beta)))
    noise = np.zeros(m)
    for start, stop in ld.attrs["blocks"]:
        noise[start:stop] = x[:, start:stop].T @ rng.standard_normal(n) / np.sqrt(n)
    b = r @ beta + np.sqrt((1 - h2) / n_gwas) * noise
    z = b * np.sqrt(n_gwas)
    bim = read_bim(bfile)
    ss = pd.DataFrame({"CHR": bim["CHR"], "SNP": bim["SNP"], "POS": bim["POS"], "A1": bim["A1"],
                       "A2": bim["A2"], "N": n_gwas, "MAF": np.minimum(freq, 1 - freq), "BETA": b,
                       "SE": b / z, "Z": z, "P": 0.5})
    write_sumstats(ss, out)
    ss.rename(columns={"P": "PVAL"}).to_csv(Path(out).parent / "ss_magenpy.tsv", sep="\t", index=False)
    return ss


def load_inputs(store, ss):
    """What a fit reads: the LD rows matched to the statistics (timed as set-up)."""
    ld = LDMatrix(store)
    matched, mask, _, _ = harmonise(ss, ld.variants(), strand="same", min_overlap=0.0)
    if not mask.all():
        raise SystemExit(f"{store}: {int((~mask).sum())} LD variants lack summary statistics")
    n = matched["N"].to_numpy(float)
    return std_beta_from_z(matched["Z"].to_numpy(), n), n, ld.rows(mask), matched["SNP"].to_numpy()


def starting_point(store, ss):
    """The shared start: pi = 0.01 and the LD-score h2 split as VIPRS's default start."""
    b, n, rows, _ = load_inputs(store, ss)
    h2 = ldsc_h2(b, n, rows.mean_ld_score())
    pi = 0.01
    return {"pi": pi, "sigma2_beta": h2 / (len(b) * pi), "sigma2_eps": 1 - h2}


def vibank_run(store, ss, start, args, *, dtype, lazy_tol=0.0, max_iter=None):
    """One whole vibank fit, set-up included; with ``max_iter`` fixed the iterations alone."""
    t0 = time.perf_counter()
    b, n, rows, snps = load_inputs(store, ss)
    fixed = max_iter is not None
    # the ridge from the start on windowed LD, as viprs's lambda_min="infer"; none on block LD
    # (positive semi-definite: the eigenvalue ridge would only be its 0.01 margin over the int16
    # rounding, where viprs adds the rounding's |lambda_min| of about 1e-3)
    ridge = "none" if LDMatrix(store).attrs["estimator"] == "block" else "block"
    model = VIPRS(pi=start["pi"], sigma2_beta=start["sigma2_beta"], sigma2_eps=start["sigma2_eps"],
                  n_threads=args.threads, dtype=dtype, ld_noise="none", initial_ridge=ridge,
                  lazy_tol=lazy_tol, max_iter=max_iter or args.max_iter,
                  tol_elbo=0.0 if fixed else np.inf, tol_elbo_abs=0.0,
                  tol_eta=0.0 if fixed else args.tol)
    try:
        model.fit(b, n, rows)
    except VibankError as error:  # diverged even with the largest ridge: a failed row
        return {"model": None, "snps": snps, "seconds": time.perf_counter() - t0,
                "per_iter": np.nan, "n_iter": 0, "stop": f"failed: {error}"[:60]}
    seconds = time.perf_counter() - t0
    history = model.result_.history
    loop = (history[-1]["seconds"] - history[0]["seconds"]) / max(len(history) - 1, 1)
    return {"model": model, "snps": snps, "seconds": seconds, "per_iter": loop,
            "n_iter": model.result_.n_iter, "stop": model.result_.stop_reason}


def run_viprs(args, estimator, blocks_bed, start):
    theta_0 = {"pi": start["pi"], "tau_beta": 1 / start["sigma2_beta"],
               "sigma_epsilon": start["sigma2_eps"]}
    proc = subprocess.run([args.viprs_python, "-c", VIPRS_SCRIPT, str(args.bfile),
                           str(args.workdir / "ss_magenpy.tsv"), str(args.workdir), str(args.threads),
                           str(args.iterations), str(blocks_bed) if estimator == "block" else "none",
                           json.dumps(theta_0), estimator, str(args.tol), str(args.max_iter),
                           json.dumps([False, True])], capture_output=True, text=True,
                          cwd=args.workdir)
    if proc.returncode != 0:
        raise SystemExit(f"viprs failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def copy_bandwidth(n_bytes=1 << 30, repeats=10):
    """Best of ``repeats`` copies of a 1 GiB array: read + write bytes per second."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * n_bytes / best


def correlations(reference, snps, eta, x, panel_snps):
    if reference["model"] is None or eta is None:
        return np.nan, np.nan
    ref = pd.Series(reference["model"].eta_.astype(float), index=reference["snps"])
    other = pd.Series(eta, index=snps)
    common = ref.index.intersection(other.index)
    effect = np.corrcoef(ref[common], other[common])[0, 1]
    score = np.corrcoef(x @ ref.reindex(panel_snps).fillna(0).to_numpy(),
                        x @ other.reindex(panel_snps).fillna(0).to_numpy())[0, 1]
    return effect, score


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vibank_prs_bench"))
    parser.add_argument("--bfile", help="PLINK panel (default: simulated into the work directory)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=20,
                        help="iterations timed per iteration from the same start")
    parser.add_argument("--tol", type=float, default=1e-6, help="stop at max |delta eta| < tol")
    parser.add_argument("--max-iter", dest="max_iter", type=int, default=1000)
    parser.add_argument("--viprs-python", help="python of an environment with viprs installed")
    parser.add_argument("--n-gwas", dest="n_gwas", type=int, default=100_000)
    parser.add_argument("--ld", choices=("block", "windowed"), nargs="+", default=["block", "windowed"])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 300 samples x 5 Mb, 5 timed iterations")
    args = parser.parse_args()
    if args.quick:
        args.workdir = args.workdir.with_name(args.workdir.name + "_quick")
        args.iterations = min(args.iterations, 5)
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.bfile = args.bfile or make_panel(args.workdir / "panel", n_samples=300 if args.quick else 1000,
                                          length=5_000_000 if args.quick else 30_000_000)
    stores = {}
    for estimator in ("block", "windowed"):
        stores[estimator] = args.workdir / f"chr1_{estimator}.zarr"
        if not stores[estimator].exists():
            build_ld_store(args.bfile, stores[estimator], chrom="1",
                           estimator=LDEstimator(estimator, window_cm=3.0, taper="none"), dtype="int16",
                           n_threads=args.threads, eigenvalues=True)
    block_ld = LDMatrix(stores["block"])
    ss = simulate_sumstats(args.bfile, block_ld, args.workdir / "ss.tsv.gz", n_gwas=args.n_gwas)
    pos = block_ld.variants()["POS"].to_numpy()
    cuts = [0] + [int((pos[a - 1] + pos[a]) // 2) for a, _ in block_ld.attrs["blocks"][1:]] + [int(pos[-1]) + 1]
    blocks_bed = args.workdir / "blocks.bed"  # vibank's blocks for magenpy, LDetect columns
    pd.DataFrame({"chr": "chr1", "start": cuts[:-1], "stop": cuts[1:]}).to_csv(blocks_bed, sep="\t", index=False)
    x, _ = standardised_panel(args.bfile)
    panel_snps = read_bim(args.bfile)["SNP"].to_numpy()
    print(f"Panel {args.bfile}: {x.shape[0]:,} samples x {len(pos):,} variants, 3 cM window, "
          f"N = {args.n_gwas:,}; {args.threads} threads for every tool; same start, likelihood and "
          f"stopping rule (max |delta eta| < {args.tol:g}, at most {args.max_iter} iterations); "
          "LD stored as int16 by both, computed outside the timings")
    print()
    print("| LD | tool, value types (LD streamed / state) | whole fit s (set-up incl.) | "
          "time / vibank float32 | iterations | s / iteration, first "
          f"{args.iterations} from the same start | time / vibank float32 | h2 | ridge "
          "(largest) | effect corr. | score corr. |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    lazy_rows, bounds = [], []
    for estimator, store in stores.items():
        if estimator not in args.ld:
            continue
        start = starting_point(store, ss)
        runs = {}
        for name, dtype in (("float64", np.float64), ("float32", np.float32)):
            runs[name] = vibank_run(store, ss, start, args, dtype=dtype)
            runs[name]["per_iter"] = vibank_run(store, ss, start, args, dtype=dtype,
                                                max_iter=args.iterations)["per_iter"]
        base = runs["float32"]
        label = f"{estimator} ({len(load_inputs(store, ss)[2].data) / 1e6:.1f} M values)"
        for name in ("float32", "float64"):
            r = runs[name]
            fitted = r["model"]
            effect, score = correlations(runs["float64"], r["snps"],
                                         fitted and fitted.eta_.astype(float), x, panel_snps)
            h2, ridge = (np.nan, np.nan) if fitted is None else (fitted.h2_, fitted.ridge_.max())
            print(f"| {label} | vibank, int16 / {name} | {r['seconds']:.2f} | "
                  f"{r['seconds'] / base['seconds']:.2f} | {r['n_iter']} ({r['stop']}) | "
                  f"{r['per_iter']:.4f} | {r['per_iter'] / base['per_iter']:.2f} | "
                  f"{h2:.4f} | {ridge:.3g} | {effect:.6f} | {score:.6f} |")
        if args.viprs_python:
            res = run_viprs(args, estimator, blocks_bed, start)
            snps = np.load(args.workdir / f"viprs_snps_{estimator}.npy")
            for name in ("int16", "float32"):
                r = res[name]
                eta = np.load(args.workdir / f"viprs_eta_{estimator}_{name}.npy")
                effect, score = correlations(runs["float64"], snps, eta, x, panel_snps)
                stop = "converged" if r["success"] else f"failed: {r['stop'].splitlines()[0]}"
                print(f"| {label} | viprs 0.1.5, {name} / float32 (dequantize_on_the_fly="
                      f"{name == 'int16'}) | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.2f} | "
                      f"{r['n_iter']} ({stop}) | {r['per_iter']:.4f} | "
                      f"{r['per_iter'] / base['per_iter']:.2f} | {r['h2']:.4f} | "
                      f"{r['lambda_min']:.3g} (lambda_min) | {effect:.6f} | {score:.6f} |")
        lazy = vibank_run(store, ss, start, args, dtype=np.float32, lazy_tol=1e-4)
        effect, _ = correlations(runs["float32"], lazy["snps"],
                                 lazy["model"] and lazy["model"].eta_.astype(float), x, panel_snps)
        lazy_rows.append((label, base, lazy, effect))
        ld_bytes = load_inputs(store, ss)[2].data.nbytes
        bound = ld_bytes / copy_bandwidth(repeats=3 if args.quick else 10)
        bounds.append(f"{label}: {ld_bytes / 1e6:.0f} MB of int16 band values per exact sweep, "
                      f"bound {bound:.4f} s; vibank float32 {base['per_iter']:.4f} s per iteration "
                      f"({base['per_iter'] / bound:.2f}x the bound), float64 "
                      f"{runs['float64']['per_iter']:.4f} s ({runs['float64']['per_iter'] / bound:.2f}x)")
    print()
    print("Lazy neighbour updates (less work: LD rows of variants whose eta moved less than the "
          "lag are skipped), vibank float32, same start and stopping rule:")
    print()
    print("| LD | exact sweeps s | lazy_tol 1e-4 s | lazy / exact | iterations exact / lazy | "
          "effect corr. lazy vs exact |")
    print("|---|---|---|---|---|---|")
    for label, exact, lazy, effect in lazy_rows:
        print(f"| {label} | {exact['seconds']:.2f} | {lazy['seconds']:.2f} | "
              f"{lazy['seconds'] / exact['seconds']:.2f} | {exact['n_iter']} / {lazy['n_iter']} | "
              f"{effect:.6f} |")
    print()
    print("Memory-bandwidth bound of an exact sweep (every LD row applied once: the band's bytes "
          "/ the copy bandwidth, read + write bytes of np.copyto, best of 10), against the "
          "per-iteration times above (E-step + M-step + ELBO, first iterations from the start):")
    print()
    for line in bounds:
        print(f"- {line}")


if __name__ == "__main__":
    main()
