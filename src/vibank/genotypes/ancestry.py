"""Ancestry groups of a target biobank by projection onto a labelled reference's PCs.

The reference (e.g. 1000 Genomes with its super-populations, or the study's own genotypes with
their POP labels) gets a PCA on LD-pruned variants it shares with the target, with plink2's
allele weights (``--pca allele-wts``). Reference and target samples are then projected the same
way (``plink2 --score <eigenvec.allele> ... variance-standardize`` with the reference's allele
frequencies, the projection plink2's documentation gives), so both sit in one coordinate
system. Each reference population is summarised by the mean and covariance of its projected
PCs, and a target sample takes the population of smallest squared Mahalanobis distance d² when
d² is within the ``1 - alpha`` quantile of chi-square with n_pcs degrees of freedom, else
``unassigned``: a sample between the clusters, or of a population the reference does not hold,
is not forced into one it does (it can only be flagged where it leaves the reference's PC
space: a population whose own drift the reference's PCs do not span may still land in a
cluster).
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.atomic import write_table
from vibank.io.plink import plink2_input_flag, read_variants

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"


def _projection(prefix, weights, freq, n_pcs, out, threads, memory_mb):
    """Projected PC scores (IID, PC1..PCk) of every sample of ``prefix``."""
    made = run_plink2([plink2_input_flag(prefix), prefix, "--read-freq", freq, "--score", weights, 2, 5,
                       "header-read", "no-mean-imputation", "variance-standardize",
                       "--score-col-nums", f"6-{5 + n_pcs}"], out, threads=threads,
                      memory_mb=memory_mb)
    table = pd.read_csv(f"{made}.sscore", sep="\t", dtype={"#FID": str, "#IID": str, "IID": str})
    table = table.rename(columns={"#FID": col.FID, "#IID": col.IID})
    scores = [c for c in table.columns if c.endswith("_AVG") and c.startswith("PC")]
    return table.set_index(col.IID)[scores].set_axis([f"PC{i + 1}" for i in range(n_pcs)],
                                                     axis=1)


def assign_ancestry(reference, labels, target, out, *, n_pcs=6, alpha=1e-3,
                    prune=(1000, 1, 0.2), threads=1, memory_mb=None):
    """Label each target sample with the reference population it falls in (module docstring).

    Parameters
    ----------
    reference : PLINK prefix (bed or pgen) of the labelled reference
    labels : table (whitespace) with IID and POP for the reference samples to use
    target : PLINK prefix (bed or pgen) of the target
    out : output TSV FID IID GROUP D2 (the smallest squared Mahalanobis distance) PC1..PCk
        (the target's projected PCs)
    alpha : a sample is unassigned when its smallest d² exceeds the chi-square(n_pcs)
        1 - alpha quantile

    Returns
    -------
    DataFrame (what ``out`` holds)
    """
    from scipy import stats

    pops = pd.read_csv(labels, sep=r"\s+", dtype=str)
    if not {col.IID, col.POP} <= set(pops.columns):
        raise VibankError(f"{labels}: needs IID and POP columns")
    pops = pops.set_index(col.IID)[col.POP]
    shared = set(read_variants(reference)[col.SNP]) & set(read_variants(target)[col.SNP])
    if len(shared) < 100:
        raise VibankError(f"{target}: only {len(shared)} variants shared with the ancestry "
                          f"reference {reference}")
    window_kb, step, r2 = prune
    with tempfile.TemporaryDirectory(prefix="vibank_ancestry_") as tmp:
        tmp = Path(tmp)
        (tmp / "shared.txt").write_text("\n".join(sorted(shared)) + "\n")
        pd.DataFrame({"FID": pops.index, "IID": pops.index}).to_csv(
            tmp / "keep.txt", sep="\t", header=False, index=False)
        pruned = run_plink2([plink2_input_flag(reference), reference, "--keep", tmp / "keep.txt",
                             "--extract", tmp / "shared.txt", "--maf", 0.01,
                             "--indep-pairwise", f"{window_kb}kb", step, r2], tmp / "prune",
                            threads=threads, memory_mb=memory_mb)
        pca = run_plink2([plink2_input_flag(reference), reference, "--keep", tmp / "keep.txt", "--extract",
                          f"{pruned}.prune.in", "--freq", "--pca", n_pcs, "allele-wts"],
                         tmp / "pca", threads=threads, memory_mb=memory_mb)
        args = (f"{pca}.eigenvec.allele", f"{pca}.afreq", n_pcs)
        ref = _projection(reference, *args, tmp / "ref", threads, memory_mb)
        tgt = _projection(target, *args, tmp / "tgt", threads, memory_mb)
    ref = ref.loc[ref.index.isin(pops.index)]
    y = pops.loc[ref.index]
    names, d2 = [], []
    for name, rows in ref.groupby(y.to_numpy()):
        if len(rows) <= n_pcs:
            raise VibankError(f"{labels}: population {name} has {len(rows)} samples, fewer "
                              f"than the {n_pcs + 1} its PC covariance needs")
        centred = tgt.to_numpy() - rows.to_numpy().mean(0)
        precision = np.linalg.pinv(np.cov(rows.to_numpy().T))
        names.append(name)
        d2.append(np.einsum("ij,jk,ik->i", centred, precision, centred))
    d2 = np.array(d2)
    best = d2.argmin(0)
    table = pd.DataFrame({col.IID: tgt.index, "GROUP": np.array(names, dtype=object)[best],
                          "D2": d2.min(0)})
    table.loc[table["D2"] > stats.chi2.ppf(1 - alpha, n_pcs), "GROUP"] = UNASSIGNED
    table.insert(0, col.FID, table[col.IID])
    table = pd.concat([table.reset_index(drop=True), tgt.reset_index(drop=True)], axis=1)
    write_table(table, out, float_format="%.6g")
    log.info("ancestry of %d target samples from %d reference samples (%d variants shared): %s",
             len(table), len(ref), len(shared),
             ", ".join(f"{g} {n}" for g, n in table["GROUP"].value_counts().items()))
    return table
