"""Fit the competitor viprs 0.1.5 to one chromosome, for side-by-side checks.

Run with the python of the venv made by ``verification/setup_viprs.sh`` (never
vibank's: this script must not import vibank)::

    /work/.viprs-venv/bin/python verification/viprs_runner.py \
        --bfile panel --keep panel.keep --chrom 1 --estimator windowed \
        --sumstats ss.tsv --ld-dir ld_cache --threads 2 --out results/viprs

Steps
-----
1. LD. magenpy reads the PLINK panel (backend ``magenpy``), keeps the samples
   of ``--keep`` (matched on IID only, as magenpy's ``SampleTable`` does) and
   the variants of ``--chrom``, and calls ``GWADataLoader.compute_ld`` with
   magenpy's CLI defaults (``mgp_compute_ld``: int16 storage, zstd level 7)
   plus ``compute_spectral_properties=True`` so that ``lambda_min='infer'``
   finds per-block eigenvalues instead of one global estimate:

   - windowed: ``cm_window_size=--window-cm`` (spectra on 1.2 x window blocks);
   - block: ``ld_blocks`` from ``--blocks``; a variant is in block
     ``[start, stop)`` when ``start <= POS < stop`` (magenpy's rule); variants
     outside every block are dropped by magenpy and so are absent from the fit;
   - shrinkage: Wen & Stephens (2010) with ``genetic_map_ne=11400``,
     ``genetic_map_sample_size=183`` (the HapMap CEU values used by the
     magenpy/viprs getting-started docs; magenpy itself has no default) and
     magenpy's ``threshold=1e-3``. Needs the cM column of the bim.

   The store goes to ``--ld-dir/<estimator>_<key>/ld/chr_<c>``, where ``key``
   hashes the panel files (path, size, mtime), the parsed keep list, the
   chromosome, the estimator settings (parsed blocks), the storage dtype and
   the magenpy version; an existing store with the same key is reused. Stores
   are built in a scratch directory and renamed into place when complete.
2. Fit. ``GWADataLoader(ld_store_files=..., sumstats_files=...)`` +
   ``harmonize_data()`` as in viprs's own ``viprs_fit`` CLI, then
   ``VIPRS(gdl, lambda_min='infer', float_precision='float32',
   low_memory=True, dequantize_on_the_fly=False, threads=--threads).fit(
   max_iter=1000)``; apart from ``lambda_min`` these are the defaults of the
   class and of ``viprs_fit`` 0.1.5 (the CLI's own default is
   ``lambda_min=0`` with a retry at the inferred value after divergence).

Units
-----
magenpy does not read the BETA column for the fit: it derives the
standardised marginal effect from Z and N as ``z / sqrt(N - 1 + z^2)``
(``SumstatsTable.get_snp_pseudo_corr``, Mak et al. 2017 eq. 15), a relative
difference of order 1/(2N) from the harness's ``z / sqrt(N + z^2)``.
viprs's posterior mean ``post_mean_beta`` (``eta = gamma * mu``) is on that
same standardised-genotype scale, so ``PREFIX.effects.tsv`` writes it
unchanged: no per-allele conversion is done. A1 is the panel's (bim) A1,
after magenpy's allele harmonisation (flips sign if the sumstats A1 differs).

Outputs
-------
``PREFIX.effects.tsv`` (SNP A1 BETA, one row per variant in the fit) and
``PREFIX.json`` (status, message, h2, n_iter, converged, stop_reason, LD and
fit seconds, versions, settings). ``status`` is ``ok`` when viprs reports
success; ``failed`` when it stopped on an error condition that its own
``viprs_fit`` CLI raises on (negative MSE, undefined ELBO, h2 outside [0, 1],
decreasing ELBO) or when any exception occurred (its text goes to
``message``); ``not_converged`` when ``max_iter`` was reached. The effects
file is written whenever ``fit()`` returned, so a viprs-level failure still
leaves the estimates at the stopping point. The exit code is 0 in all cases.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

SHRINKAGE_NE, SHRINKAGE_MAP_N, SHRINKAGE_THRESHOLD = 11400, 183, 1e-3
LD_DTYPE, LD_COMPRESSOR, LD_COMPRESSION_LEVEL = "int16", "zstd", 7
MAX_ITER = 1000


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bfile", required=True, help="PLINK 1 prefix of the reference panel")
    ap.add_argument("--keep", help="plink keep file (FID IID), '#FID IID' header allowed")
    ap.add_argument("--chrom", type=int, default=1)
    ap.add_argument("--estimator", choices=("windowed", "block", "shrinkage"), default="windowed")
    ap.add_argument("--window-cm", type=float, default=3.0, help="windowed estimator only")
    ap.add_argument("--blocks", help="block estimator: 'chr start stop' file (LDetect)")
    ap.add_argument("--sumstats", required=True, help="TSV: SNP CHR POS A1 A2 N Z BETA")
    ap.add_argument("--ld-dir", required=True, help="parent directory of cached LD stores")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lambda-min", default="infer", help="'infer' (default) or a number")
    ap.add_argument("--out", required=True, help="output prefix")
    args = ap.parse_args(argv)
    if args.estimator == "block" and not args.blocks:
        ap.error("--estimator block needs --blocks")
    return args


def read_keep(path):
    """IIDs of a plink keep file; whitespace-separated, optional '#FID IID' header."""
    iids = []
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[:2] == ["FID", "IID"]:
            continue
        iids.append(fields[1] if len(fields) > 1 else fields[0])
    return iids


def read_blocks(path, chrom):
    """[start, stop) rows of one chromosome; header and 'chr' prefix optional."""
    import numpy as np

    rows = []
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].lstrip("#").lower() in ("chr", "chrom"):
            continue
        if fields[0].lower().removeprefix("chr") == str(chrom):
            rows.append((int(fields[1]), int(fields[2])))
    if not rows:
        raise ValueError(f"no LD blocks for chromosome {chrom} in {path}")
    return np.array(sorted(rows), dtype=np.int32)  # magenpy merges on int32 positions


def ld_settings(args):
    """The estimator keyword arguments passed to ``compute_ld`` (JSON-friendly)."""
    if args.estimator == "windowed":
        return {"cm_window_size": args.window_cm}
    if args.estimator == "block":
        blocks = read_blocks(args.blocks, args.chrom)
        return {
            "ld_blocks_file": str(Path(args.blocks).resolve()),
            "ld_blocks_sha1": hashlib.sha1(blocks.tobytes()).hexdigest()[:12],
            "n_blocks": len(blocks),
        }
    return {
        "genetic_map_ne": SHRINKAGE_NE,
        "genetic_map_sample_size": SHRINKAGE_MAP_N,
        "threshold": SHRINKAGE_THRESHOLD,
    }


def ld_store_path(args, settings, magenpy_version):
    """``<ld-dir>/<estimator>_<key>``; the key covers everything that changes the store."""
    panel = {}
    for ext in (".bed", ".bim", ".fam"):
        st = os.stat(args.bfile + ext)
        panel[ext] = [str(Path(args.bfile + ext).resolve()), st.st_size, st.st_mtime_ns]
    keep = "\n".join(read_keep(args.keep)) if args.keep else None
    key = {
        "panel": panel,
        "keep": keep and hashlib.sha1(keep.encode()).hexdigest(),
        "chrom": args.chrom,
        "estimator": args.estimator,
        "settings": settings,
        "dtype": LD_DTYPE,
        "spectral": True,
        "magenpy": magenpy_version,
        "fixes": ["block_split_total_samples"],
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(args.ld_dir) / f"{args.estimator}_{digest}"


def chrom_snps(bfile, chrom):
    snps = []
    with open(bfile + ".bim") as fh:
        for line in fh:
            fields = line.split()
            if fields[0].lower().removeprefix("chr") == str(chrom):
                snps.append(fields[1])
    if not snps:
        raise ValueError(f"no variants on chromosome {chrom} in {bfile}.bim")
    return snps


def patch_magenpy_block_split():
    """Work around a magenpy 0.2.2 bug that scrambles block LD computed with --keep.

    ``GenotypeMatrix.split_by_variants`` (used only by ``BlockLD``) builds the
    per-block ``MagenpyGenotypeMatrix`` objects without ``total_samples``, so
    each one infers it as ``max(kept original_index) + 1``. When the kept
    samples do not include the last sample of the .fam, the native reader then
    uses the wrong number of bytes per variant and reads shifted genotypes
    (found here: correlations no longer matched the panel's). Passing the
    parent's ``total_samples`` on restores the sample correlation (checked
    against numpy up to int16 quantisation). Returns a note for the JSON.
    """
    from magenpy.GenotypeMatrix import MagenpyGenotypeMatrix

    original = MagenpyGenotypeMatrix.split_by_variants
    if getattr(original, "_total_samples_fix", False):
        return "MagenpyGenotypeMatrix.split_by_variants passes total_samples on"

    def split_by_variants(self, variant_group_dict):
        parts = original(self, variant_group_dict)
        for part in parts.values():
            part.total_samples = self.total_samples
        return parts

    split_by_variants._total_samples_fix = True
    MagenpyGenotypeMatrix.split_by_variants = split_by_variants
    return "MagenpyGenotypeMatrix.split_by_variants passes total_samples on"


def compute_ld(args, settings, store):
    """Compute the LD store into a scratch dir and move it into place when complete."""
    scratch = store.with_name(store.name + f".tmp{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        _compute_ld_into(args, settings, scratch)
        store.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, store)  # atomic on one filesystem: a half-written store is never reused
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _compute_ld_into(args, settings, scratch):
    import magenpy as mgp

    gdl = mgp.GWADataLoader(
        bed_files=args.bfile,
        keep_samples=read_keep(args.keep) if args.keep else None,
        extract_snps=chrom_snps(args.bfile, args.chrom),
        backend="magenpy",
        temp_dir=str(scratch / "temp"),
        threads=args.threads,
    )
    kwargs = dict(settings)
    if args.estimator == "block":
        kwargs = {"ld_blocks": read_blocks(args.blocks, args.chrom)}
    gdl.compute_ld(
        args.estimator,
        str(scratch / "ld"),
        dtype=LD_DTYPE,
        compressor_name=LD_COMPRESSOR,
        compression_level=LD_COMPRESSION_LEVEL,
        compute_spectral_properties=True,
        **kwargs,
    )
    n_samples = int(gdl.sample_size)
    gdl.cleanup()
    shutil.rmtree(scratch / "temp", ignore_errors=True)
    (scratch / "ld" / "panel_samples.txt").write_text(f"{n_samples}\n")


def fit_viprs(args, store, lambda_min):
    """Harmonise sumstats with the stored LD and fit VIPRS; returns (model, gdl)."""
    import magenpy as mgp
    from viprs import VIPRS

    gdl = mgp.GWADataLoader(
        ld_store_files=str(store / "ld" / f"chr_{args.chrom}"),
        sumstats_files=args.sumstats,
        sumstats_format="magenpy",
        threads=args.threads,
    )
    gdl.harmonize_data()
    model = VIPRS(
        gdl,
        lambda_min=lambda_min,
        float_precision="float32",
        low_memory=True,
        dequantize_on_the_fly=False,
        threads=args.threads,
    )
    model.fit(max_iter=MAX_ITER, disable_pbar=True)
    return model, gdl


def write_effects(model, path):
    table = model.to_table(col_subset=("SNP", "A1"))
    beta_cols = [c for c in table.columns if c.startswith("BETA")]
    table = table[["SNP", "A1", beta_cols[0]]].rename(columns={beta_cols[0]: "BETA"})
    table.to_csv(path, sep="\t", index=False, float_format="%.8g")
    return len(table)


def run(args, meta):
    import magenpy
    import numpy as np
    import viprs

    meta["versions"] = {
        "viprs": viprs.__version__,
        "magenpy": magenpy.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    lambda_min = args.lambda_min if args.lambda_min == "infer" else float(args.lambda_min)
    settings = ld_settings(args)
    meta["settings"] = {
        "ld": {
            "estimator": args.estimator,
            **settings,
            "backend": "magenpy",
            "dtype": LD_DTYPE,
            "compressor": LD_COMPRESSOR,
            "compression_level": LD_COMPRESSION_LEVEL,
            "compute_spectral_properties": True,
        },
        "viprs": {
            "model": "VIPRS",
            "lambda_min": lambda_min,
            "lambda_min_rule": "LDMatrix.get_lambda_min(min_max_ratio=1e-3)",
            "float_precision": "float32",
            "low_memory": True,
            "dequantize_on_the_fly": False,
            "threads": args.threads,
            "max_iter": MAX_ITER,
            "fit_defaults": "min_iter=3, f_abs_tol=1e-6, x_abs_tol=1e-6, patience=10",
        },
        "std_beta": "magenpy z / sqrt(N - 1 + z^2) from Z and N",
        "inputs": {
            "bfile": args.bfile,
            "keep": args.keep,
            "chrom": args.chrom,
            "sumstats": args.sumstats,
            "blocks": args.blocks,
        },
    }

    meta["patches"] = [patch_magenpy_block_split()]
    store = ld_store_path(args, settings, magenpy.__version__)
    meta["ld_store"] = str(store)
    t0 = time.perf_counter()
    meta["ld_cached"] = store.is_dir()
    if not meta["ld_cached"]:
        compute_ld(args, settings, store)
    meta["ld_seconds"] = time.perf_counter() - t0
    meta["ld_panel_samples"] = int((store / "ld" / "panel_samples.txt").read_text())

    t0 = time.perf_counter()
    model, gdl = fit_viprs(args, store, lambda_min)
    meta["fit_seconds"] = time.perf_counter() - t0

    res = model.optim_result
    lam = np.asarray(model.lambda_min, dtype=float)
    meta.update(
        {
            "h2": float(model.get_heritability()),
            "pi": float(np.ravel(model.get_proportion_causal())[0]),
            "sigma_epsilon": float(np.ravel(model.sigma_epsilon)[0]),
            "lambda_min_used": {
                "min": float(lam.min()),
                "mean": float(lam.mean()),
                "max": float(lam.max()),
            },
            "n_iter": int(res.iterations),
            "converged": bool(res.success),
            "stop_reason": str(res.message).replace("\n", " "),
            "elbo": float(res.objective),
        }
    )
    meta["n_variants"] = write_effects(model, f"{args.out}.effects.tsv")
    # viprs_fit raises on error_on_termination (negative MSE, undefined ELBO,
    # h2 out of bounds, decreasing ELBO); reaching max_iter is only a warning.
    meta["status"] = (
        "ok" if res.success else "failed" if res.error_on_termination else "not_converged"
    )
    meta["message"] = meta["stop_reason"]
    gdl.cleanup()


def main(argv=None):
    args = parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.effects.tsv").unlink(missing_ok=True)  # never leave a stale table
    meta = {
        "status": "failed",
        "message": None,
        "h2": None,
        "n_iter": None,
        "converged": False,
        "stop_reason": None,
        "ld_seconds": None,
        "fit_seconds": None,
    }
    try:
        run(args, meta)
    # The harness records failures, so nothing may escape: hence the blind catch.
    except Exception as exc:  # noqa: BLE001
        meta["status"] = "failed"
        meta["message"] = f"{type(exc).__name__}: {exc}"
        meta["traceback"] = traceback.format_exc()
        sys.stderr.write(meta["traceback"])
    with open(f"{args.out}.json", "w") as fh:
        json.dump(meta, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
