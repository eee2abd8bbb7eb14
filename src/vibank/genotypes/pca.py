"""Genotype principal components with plink2 (on LD-pruned variants) and the covariate table."""

import logging
import tempfile
from pathlib import Path

import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.atomic import atomic_path, write_table
from vibank.io.plink import read_fam, read_sample_table

log = logging.getLogger(__name__)

#: plink2's approximate (randomised) PCA is recommended from a few thousand samples on
APPROX_MIN_SAMPLES = 5000


def compute_pcs(bfile, out_eigenvec, out_eigenval, *, n_pcs=10, approx="auto",
                prune=(1000, 1, 0.2), seed=1, threads=1, memory_mb=None):
    """Prune with ``--indep-pairwise`` and run ``plink2 --pca`` on the QC'd genotypes.

    Parameters
    ----------
    bfile : PLINK prefix of the QC'd genotypes
    out_eigenvec, out_eigenval : output paths (plink2 formats)
    n_pcs : number of components
    approx : True, False or "auto" (approximate PCA when there are >= 5000 samples)
    prune : (window_kb, step, r2) for ``--indep-pairwise``
    seed : seed of plink2's randomised (approximate) PCA, so reruns give identical PCs
    """
    n_samples = len(read_fam(bfile))
    if approx == "auto":
        approx = n_samples >= APPROX_MIN_SAMPLES
    if n_pcs >= n_samples:
        raise VibankError(f"pca.n_pcs = {n_pcs} needs more than {n_samples} samples in {bfile}.fam")
    window_kb, step, r2 = prune
    with tempfile.TemporaryDirectory(prefix="vibank_pca_") as workdir:
        workdir = Path(workdir)
        pruned = run_plink2(
            ["--bfile", bfile, "--indep-pairwise", f"{window_kb}kb", step, r2],
            workdir / "prune", threads=threads, memory_mb=memory_mb,
        )
        n_pruned = sum(1 for _ in open(f"{pruned}.prune.in"))
        pca_args = ["--pca", "approx", n_pcs] if approx else ["--pca", n_pcs]
        out = run_plink2(
            ["--bfile", bfile, "--extract", f"{pruned}.prune.in", *pca_args, "--seed", seed],
            workdir / "pca", threads=threads, memory_mb=memory_mb,
        )
        log.info("pca: %d components (%s) on %d samples x %d pruned variants", n_pcs,
                 "approx" if approx else "exact", n_samples, n_pruned)
        for src, dst in ((f"{out}.eigenvec", out_eigenvec), (f"{out}.eigenval", out_eigenval)):
            with atomic_path(dst) as tmp:
                Path(src).replace(tmp)


def make_covariates(eigenvec, sample_table, out_path):
    """Write the GWAS covariate table: FID IID SEX AGE PC1..PCk (SEX coded 0 = male, 1 = female)."""
    pcs = pd.read_csv(eigenvec, sep="\t", dtype={"#FID": str, "FID": str, "IID": str})
    pcs = pcs.rename(columns={"#FID": col.FID, "#IID": col.IID})
    samples = read_sample_table(sample_table)
    covar = pcs.merge(samples[[col.IID, col.SEX, col.AGE]], on=col.IID, how="left")
    lacking = covar[col.SEX].isna() | covar[col.AGE].isna()
    if lacking.any():
        raise VibankError(f"{sample_table}: SEX or AGE missing for sample {covar[col.IID][lacking].iloc[0]}")
    covar[col.SEX] = covar[col.SEX].astype(int) - 1
    if col.FID not in covar.columns:
        covar.insert(0, col.FID, covar[col.IID])
    pc_names = [c for c in pcs.columns if c.startswith("PC")]
    write_table(covar[[col.FID, col.IID, col.SEX, col.AGE, *pc_names]], out_path)
    return covar
