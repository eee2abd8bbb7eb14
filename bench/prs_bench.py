"""Spike-and-slab VIPRS on one chromosome: vibank vs the PyPI ``viprs`` package vs the memory bound.

Usage::

    .venv/bin/python bench/prs_bench.py --viprs-python /tmp/magenv/bin/python [--threads 2]

Uses the panel of ``bench/ld_bench.py`` (1,000 simulated EUR-like samples x 19,104 variants on
one chromosome; run that first or pass --bfile). The LD is block-diagonal (vibank's block finder
on the 3 cM window; the same blocks are handed to magenpy as an LDetect-style file), hence positive
semi-definite, and the summary statistics of a sparse trait (h2 = 0.3, pi = 0.01, N = 100,000)
are drawn from the RSS likelihood with exactly that LD, so both tools fit the same model and
neither needs regularisation. Each tool gets the same thread count:

- vibank: LD store from ``build_ld_store``, loaded as symmetric band rows (int16, no column
  indices); ``VIPRS`` timed over a fixed number of iterations (E-step + M-step + ELBO) and to
  convergence;
- viprs 0.1 (in its own environment with magenpy, never a vibank dependency): LD computed by
  magenpy (int16) on the same panel, ``viprs.VIPRS`` timed the same two ways;
- bandwidth bound: bytes of LD that one vibank iteration streams (the int16 values of the
  symmetric band) divided by the copy bandwidth measured here with NumPy.

Prints seconds per iteration, ratios, iterations and seconds to convergence, h2, and the
correlation of the two posterior means.
"""

import argparse
import json
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from vibank.io.plink import read_bim, read_dosages
from vibank.io.sumstats import write_sumstats
from vibank.ld import LDEstimator, LDMatrix, build_ld_store, symmetric_band
from vibank.pipelines import match_to_ld
from vibank.prs import VIPRS, std_beta_from_z, symmetric_offdiagonal

VIPRS_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import magenpy as mgp
    import viprs as vp
    bfile, sumstats, work, threads, n_iter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    blocks = sys.argv[6]
    g = mgp.GWADataLoader(bed_files=bfile, backend="magenpy", threads=threads)
    if blocks == "none":
        g.compute_ld("windowed", work + "/viprs_ld", window_size=None, kb_window_size=None,
                     cm_window_size=3.0, dtype="int16")
    else:
        g.compute_ld("block", work + "/viprs_ld", ld_blocks_file=blocks, dtype="int16")
    g = mgp.GWADataLoader(ld_store_files=work + "/viprs_ld/chr_1", sumstats_files=sumstats,
                          sumstats_format="magenpy", threads=threads)
    model = vp.VIPRS(g, threads=threads)
    t0 = time.perf_counter()
    model.fit(max_iter=n_iter, min_iter=n_iter, f_abs_tol=0.0, x_abs_tol=0.0, disable_pbar=True)
    per_iter = (time.perf_counter() - t0) / n_iter
    model = vp.VIPRS(g, threads=threads)
    t0 = time.perf_counter()
    model.fit(disable_pbar=True)
    seconds = time.perf_counter() - t0
    eta = model.post_mean_beta[1] if isinstance(model.post_mean_beta, dict) else model.post_mean_beta
    snps = g.sumstats_table[1].snps
    np.save(work + "/viprs_eta.npy", np.asarray(eta, dtype=float))
    np.save(work + "/viprs_snps.npy", np.asarray(snps, dtype=str))
    print(json.dumps({"nnz": int(g.ld[1].stored_n_elements) if hasattr(g.ld[1], "stored_n_elements") else -1,
                      "per_iter": per_iter, "seconds": seconds, "n_iter": int(model.optim_result.iterations),
                      "h2": float(model.get_heritability())}))
""")


def simulate_sumstats(bfile, ld, out, *, n_gwas=100_000, seed=3, h2=0.3, pi=0.01):
    """Summary statistics of a sparse trait drawn from the RSS likelihood of the panel's LD.

    b ~ N(R beta, (1 - h2) R / N) with R the panel's block-diagonal LD and N = ``n_gwas``: the
    sumstats of a large GWAS whose LD is exactly R (X_b' e_b / sqrt(n) has covariance R_b).
    """
    rng = np.random.default_rng(seed)
    g = read_dosages(bfile).astype(np.float64)
    g[g < 0] = np.nan
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    x = (g - g.mean(0)) / g.std(0)
    n, m = x.shape
    r = symmetric_offdiagonal(ld.load(dtype=np.float64)) + sp.identity(m)
    beta = np.where(rng.random(m) < pi, rng.standard_normal(m), 0.0)
    beta *= np.sqrt(h2 / (beta @ (r @ beta)))
    noise = np.zeros(m)
    for start, stop in ld.attrs["blocks"]:
        noise[start:stop] = x[:, start:stop].T @ rng.standard_normal(n) / np.sqrt(n)
    b = r @ beta + np.sqrt((1 - h2) / n_gwas) * noise
    z = b * np.sqrt(n_gwas)
    bim = read_bim(bfile)
    freq = g.mean(0) / 2
    ss = pd.DataFrame({"CHR": bim["CHR"], "SNP": bim["SNP"], "POS": bim["POS"], "A1": bim["A1"],
                       "A2": bim["A2"], "N": n_gwas, "MAF": np.minimum(freq, 1 - freq), "BETA": b,
                       "SE": b / z, "Z": z, "P": 0.5})
    write_sumstats(ss, out)
    # magenpy's own format for viprs (it reads PVAL rather than P)
    ss.rename(columns={"P": "PVAL"}).to_csv(Path(out).parent / "ss_magenpy.tsv", sep="\t", index=False)
    return ss


def copy_bandwidth(n_bytes=1 << 30):
    """Best of 3 copies of a 1 GiB array: read + write bytes per second."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * n_bytes / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vibank_prs_bench"))
    parser.add_argument("--bfile", default="/tmp/vibank_ld_bench/panel")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--viprs-python", help="python of an environment with viprs installed")
    parser.add_argument("--n-gwas", dest="n_gwas", type=int, default=100_000)
    parser.add_argument("--estimator", choices=["block"], default="block",
                        help="block (default) is positive semi-definite with in-sample LD, so "
                             "both tools fit the same model without regularisation")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / "chr1.zarr"
    build_ld_store(args.bfile, store, chrom="1", estimator=LDEstimator(args.estimator, window_cm=3.0),
                   dtype="int16", n_threads=args.threads, eigenvalues=False)
    ld = LDMatrix(store)
    ss = simulate_sumstats(args.bfile, ld, args.workdir / "ss.tsv.gz", n_gwas=args.n_gwas)
    blocks_arg = "none"
    if args.estimator == "block":  # hand vibank's blocks to magenpy as a BED file
        pos = ld.variants()["POS"].to_numpy()
        cuts = [0] + [int((pos[a - 1] + pos[a]) // 2) for a, _ in ld.attrs["blocks"][1:]] + [int(pos[-1]) + 1]
        bed = pd.DataFrame({"chr": "chr1", "start": cuts[:-1], "stop": cuts[1:]})  # LDetect columns
        blocks_arg = str(args.workdir / "blocks.bed")
        bed.to_csv(blocks_arg, sep="\t", index=False)
    matched, mask, _ = match_to_ld(ss, ld.variants())
    t0 = time.perf_counter()
    stored = ld.load(keep_quantised=True)
    r = symmetric_band(stored)
    load_seconds = time.perf_counter() - t0
    b = std_beta_from_z(matched["Z"].to_numpy(), matched["N"].to_numpy(float))
    n = matched["N"].to_numpy(float)
    scale = 1.0 / ld.attrs["quantisation_scale"]
    t0 = time.perf_counter()
    model = VIPRS(n_threads=args.threads, dtype=np.float32).fit(b, n, r, ld_scale=scale)
    seconds = time.perf_counter() - t0
    # per iteration: E-step + M-step + ELBO, continued from the fitted state (no set-up costs)
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        model.e_step()
        model.m_step()
        model.elbo()
    per_iter = (time.perf_counter() - t0) / args.iterations
    streamed = r.data.nbytes  # band rows: values only, no column indices
    bound = streamed / copy_bandwidth()
    print(f"chromosome: {len(b)} variants, {args.estimator} LD, {len(r.data)} stored values (symmetric band, "
          f"int16), {args.threads} threads; LD load {load_seconds:.2f} s; ridge {model.ridge_.max():.3g}")
    print("| tool | s / iteration | iteration time / vibank | iterations to converge | "
          "s to converge | h2 |")
    print("|---|---|---|---|---|---|")
    print(f"| vibank | {per_iter:.4f} | 1.00 | {model.result_.n_iter} | {seconds:.2f} | {model.h2_:.4f} |")
    print(f"| memory-bandwidth bound ({streamed / 1e6:.0f} MB per iteration) | {bound:.4f} | "
          f"{bound / per_iter:.2f} | | | |")
    if args.viprs_python:
        proc = subprocess.run([args.viprs_python, "-c", VIPRS_SCRIPT, args.bfile,
                               str(args.workdir / "ss_magenpy.tsv"), str(args.workdir), str(args.threads),
                               str(args.iterations), blocks_arg], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"viprs failed:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        eta = pd.Series(np.load(args.workdir / "viprs_eta.npy"), index=np.load(args.workdir / "viprs_snps.npy"))
        ours = pd.Series(model.eta_, index=matched["SNP"].to_numpy())
        common = ours.index.intersection(eta.index)
        corr = np.corrcoef(ours[common], eta[common])[0, 1]
        # the scores they give: genetic values X eta on the panel samples
        g = read_dosages(args.bfile).astype(np.float64)
        x = (g - g.mean(0)) / g.std(0)
        snps = read_bim(args.bfile)["SNP"].to_numpy()
        score_corr = np.corrcoef(x @ ours.reindex(snps).fillna(0).to_numpy(),
                                 x @ eta.reindex(snps).fillna(0).to_numpy())[0, 1]
        print(f"| viprs {res.get('version', '0.1')} | {res['per_iter']:.4f} | {res['per_iter'] / per_iter:.2f} | "
              f"{res['n_iter']} | {res['seconds']:.2f} | {res['h2']:.4f} |")
        print(f"\ncorrelation of posterior means, vibank vs viprs: {corr:.4f} ({len(common)} variants); "
              f"of the polygenic scores they give on the panel samples: {score_corr:.4f}")


if __name__ == "__main__":
    main()
