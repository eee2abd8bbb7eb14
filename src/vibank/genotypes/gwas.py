"""GWAS with ``plink2 --glm`` and conversion to vibank's canonical summary statistics.

The tested allele A1 is always the .bim's allele 1 (plink2's ALT, ``omit-ref``), the allele
vibank counts everywhere, so GWAS effects and LD matrices refer to the same allele.
Quantitative traits: linear regression. Binary traits: logistic regression with Firth fallback
(``firth-fallback``), effects reported as log odds ratios (``cols=+beta``). Covariates are
variance-standardised by plink2, which changes no genotype coefficient.
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.sumstats import write_sumstats

log = logging.getLogger(__name__)


def glm_to_sumstats(glm_path):
    """Read a plink2 ``--glm`` output (with A1_FREQ and AX columns) as canonical sumstats.

    Rows plink2 could not fit (ERRCODE other than '.', or non-finite BETA/SE/P) are dropped and
    counted in the log.

    Returns
    -------
    sumstats : DataFrame with the columns of ``columns.SUMSTATS_ORDER``
    n_dropped : dict reason -> count
    """
    glm = pd.read_csv(glm_path, sep="\t", dtype={"#CHROM": str, "ID": str}, na_values=["NA"])
    stat = "T_STAT" if "T_STAT" in glm.columns else "Z_STAT"
    for name in ("#CHROM", "POS", "ID", "A1", "AX", "A1_FREQ", "OBS_CT", "BETA", "SE", stat, "P"):
        if name not in glm.columns:
            raise VibankError(f"{glm_path}: column {name} is missing (run --glm with cols=+a1freq,+ax)")
    dropped = {}
    if "ERRCODE" in glm.columns:
        bad_err = (glm["ERRCODE"].astype(str) != ".").to_numpy()
        for code, n in glm.loc[bad_err, "ERRCODE"].value_counts().items():
            dropped[f"plink2_{code}"] = int(n)
    else:
        bad_err = np.zeros(len(glm), dtype=bool)
    numeric = glm[["BETA", "SE", stat, "P", "A1_FREQ", "OBS_CT"]].apply(pd.to_numeric, errors="coerce")
    nonfinite = ~bad_err & ~np.isfinite(numeric.to_numpy(float)).all(axis=1)
    if nonfinite.any():
        dropped["non_finite"] = int(nonfinite.sum())
    glm = glm[~bad_err & ~nonfinite]
    freq = glm["A1_FREQ"].to_numpy(float)
    out = pd.DataFrame(
        {
            col.CHR: glm["#CHROM"].to_numpy(),
            col.SNP: glm["ID"].to_numpy(),
            col.POS: glm["POS"].to_numpy(np.int64),
            col.A1: glm["A1"].to_numpy(),
            col.A2: glm["AX"].to_numpy(),
            col.N: glm["OBS_CT"].to_numpy(np.int64),
            col.MAF: np.minimum(freq, 1 - freq),
            col.BETA: glm["BETA"].to_numpy(float),
            col.SE: glm["SE"].to_numpy(float),
            col.Z: glm[stat].to_numpy(float),
            col.P: glm["P"].to_numpy(float),
            col.A1_FREQ: freq,
        }
    )
    for reason, n in dropped.items():
        log.info("sumstats %s: dropped %d variants (%s)", glm_path, n, reason)
    return out, dropped


def run_gwas(bfile, out_path, *, chrom, keep, phenotypes, trait, binary, covariates=None,
             covariate_names=None, firth_fallback=True, threads=1, memory_mb=None):
    """Run ``plink2 --glm`` for one trait on one chromosome and write canonical sumstats.

    Parameters
    ----------
    bfile : PLINK prefix of the QC'd genotypes
    out_path : canonical sumstats (.tsv.gz)
    chrom : chromosome to test
    keep : plink keep file of the training samples
    phenotypes : TSV FID IID <trait>... (binary coded 1/2)
    trait : phenotype column
    binary : logistic (True) or linear (False) regression
    covariates : TSV FID IID <covariates>... or None
    covariate_names : columns of ``covariates`` to use (all when None)
    """
    return run_gwas_many(bfile, {trait: {str(chrom): out_path}}, keep=keep,
                         phenotypes=phenotypes, binary={trait: binary}, covariates=covariates,
                         covariate_names=covariate_names, firth_fallback=firth_fallback,
                         threads=threads, memory_mb=memory_mb)[trait][str(chrom)]


def run_gwas_many(bfile, out_paths, *, keep, phenotypes, binary, covariates=None,
                  covariate_names=None, firth_fallback=True, threads=1, memory_mb=None):
    """Run one ``plink2 --glm`` over several traits and chromosomes and write one canonical
    sumstats file per trait and chromosome.

    plink2 reads the genotypes once and fits every phenotype (each on its own non-missing
    samples, linear or logistic by its coding); a variant's test does not depend on the other
    variants or traits, so each file equals that of :func:`run_gwas` on its trait and
    chromosome alone.

    Parameters
    ----------
    out_paths : dict trait -> {chromosome: output path (.tsv.gz)}; the chromosomes tested
        are the union of those named
    binary : dict trait -> logistic (True) or linear (False) regression
    Other parameters as in :func:`run_gwas`.

    Returns
    -------
    dict trait -> {chromosome: sumstats DataFrame}
    """
    traits = list(out_paths)
    chroms = sorted({str(c) for paths in out_paths.values() for c in paths})
    any_binary = any(binary[t] for t in traits)
    with tempfile.TemporaryDirectory(prefix="vibank_gwas_") as tmp:
        # omit-ref: A1 is always ALT, i.e. the counted allele 1 of the .bim, as in the LD stores;
        # +beta reports logistic effects as log odds ratios (linear ones are betas anyway)
        modifiers = ["hide-covar", "omit-ref", "cols=+a1freq,+ax" + (",+beta" if any_binary else "")]
        if any_binary and firth_fallback:
            modifiers.insert(1, "firth-fallback")
        args = ["--bfile", bfile, "--chr", ",".join(chroms), "--keep", keep,
                "--pheno", phenotypes, "--pheno-name", ",".join(traits)]
        if covariates is not None:
            args += ["--covar", covariates, "--covar-variance-standardize"]
            if covariate_names:
                args += ["--covar-name", ",".join(covariate_names)]
        else:
            modifiers.append("allow-no-covars")
        out = run_plink2([*args, "--glm", *modifiers], Path(tmp) / "gwas",
                         threads=threads, memory_mb=memory_mb)
        results = {}
        for trait in traits:
            found = sorted(Path(tmp).glob(f"{out.name}.{trait}.glm.*"))
            found = [p for p in found if not p.name.endswith(".id")]
            if not found:
                raise VibankError(f"plink2 --glm wrote no result for trait {trait}")
            logistic = ".glm.logistic" in found[0].name
            if logistic != bool(binary[trait]):
                raise VibankError(
                    f"{phenotypes}: column {trait} is declared "
                    f"{'binary' if binary[trait] else 'quantitative'} but plink2 read it as "
                    f"{'case/control' if logistic else 'quantitative'} (binary traits are "
                    "coded 1 control, 2 case)")
            sumstats, _ = glm_to_sumstats(found[0])
            by_chrom = dict(tuple(sumstats.groupby(col.CHR, sort=False)))
            results[trait] = {}
            for chrom, path in out_paths[trait].items():
                part = by_chrom.get(str(chrom))
                if part is None or part.empty:
                    raise VibankError(
                        f"GWAS of {trait} on chromosome {chrom}: no variant could be tested")
                part = part.reset_index(drop=True)
                write_sumstats(part, path)
                chi2 = float(np.mean(part[col.Z] ** 2))
                log.info("gwas %s chr%s: %d variants, N = %d, mean chi2 = %.3f", trait, chrom,
                         len(part), int(part[col.N].median()), chi2)
                results[trait][str(chrom)] = part
    return results


def summarise_gwas(paths, keys):
    """One row per GWAS: trait, fold, chrom, variants, median N, mean chi2, lambda GC, hits.

    Parameters
    ----------
    paths : canonical sumstats files
    keys : (trait, fold, chrom) for each path
    """
    from scipy.stats import chi2 as chi2_dist

    from vibank.io.sumstats import read_sumstats

    rows = []
    for path, (trait, fold, chrom) in zip(paths, keys):
        ss = read_sumstats(path)
        chi2 = ss[col.Z].to_numpy() ** 2
        rows.append({
            "trait": trait, "fold": fold, "chrom": chrom, "n_variants": len(ss),
            "median_n": int(ss[col.N].median()), "mean_chi2": float(chi2.mean()),
            "lambda_gc": float(np.median(chi2) / chi2_dist.ppf(0.5, 1)),
            "n_p_below_5e-8": int((ss[col.P] < 5e-8).sum()),
        })
    return pd.DataFrame(rows)
