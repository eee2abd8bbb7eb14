"""File-to-file stages that join the I/O layer and the models (called by the workflow and CLI).

``prs`` and ``qtl`` never read files; these functions do, then call them.
"""

import logging
import sys

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.score_files import write_effect_table, write_json, write_pgs_catalog, write_plink_score
from vibank.io.sumstats import read_sumstats
from vibank.ld import LDMatrix, symmetric_band
from vibank.prs import VIPRS, std_beta_from_z, symmetric_offdiagonal

log = logging.getLogger(__name__)


def match_to_ld(sumstats, variants):
    """Align summary statistics to the LD store's variants by ID and alleles.

    Returns the sumstats rows in LD order with Z and BETA signed for the LD's A1, the boolean
    mask over the LD variants, and counts of what was dropped and why. (Full harmonisation,
    with strand and build checks, is ``vibank.sumstats`` territory.)
    """
    merged = variants[[col.SNP, col.A1, col.A2]].reset_index().merge(
        sumstats, on=col.SNP, how="inner", suffixes=("_ld", ""))
    same = (merged[col.A1] == merged[f"{col.A1}_ld"]) & (merged[col.A2] == merged[f"{col.A2}_ld"])
    swapped = (merged[col.A1] == merged[f"{col.A2}_ld"]) & (merged[col.A2] == merged[f"{col.A1}_ld"])
    counts = {"not_in_ld": int(len(sumstats) - len(merged)),
              "allele_mismatch": int((~same & ~swapped).sum()), "swapped": int(swapped.sum())}
    merged = merged[same | swapped].copy()
    sign = np.where(swapped[same | swapped], -1.0, 1.0)
    merged[col.Z] *= sign
    merged[col.BETA] *= sign
    merged[col.A1], merged[col.A2] = merged[f"{col.A1}_ld"], merged[f"{col.A2}_ld"]
    merged = merged.sort_values("index")
    mask = np.zeros(len(variants), dtype=bool)
    mask[merged["index"].to_numpy()] = True
    return merged.drop(columns=["index", f"{col.A1}_ld", f"{col.A2}_ld"]), mask, counts


def fit_prs_chromosome(sumstats_path, ld_path, *, out_effects, out_json, out_pgs, out_score,
                       trait, model_name="viprs-ss-vem", n_threads=1, min_overlap=0.75,
                       max_iter=1000):
    """Fit spike-and-slab VIPRS on one chromosome and write its result files.

    Parameters
    ----------
    sumstats_path : canonical summary statistics of the chromosome
    ld_path : LD store of the chromosome
    out_effects, out_json, out_pgs, out_score : effect table, hyperparameters and convergence,
        PGS Catalog scoring file, plink2 --score file
    min_overlap : refuse when fewer than this share of the sumstats variants match the LD
    """
    sumstats = read_sumstats(sumstats_path)
    ld = LDMatrix(ld_path)
    chrom = ld.attrs.get("chrom", "?")
    matched, mask, counts = match_to_ld(sumstats, ld.variants())
    overlap = len(matched) / max(len(sumstats), 1)
    log.info("chr%s: %d of %d variants matched the LD (%s)", chrom, len(matched), len(sumstats), counts)
    if overlap < min_overlap:
        raise VibankError(f"{sumstats_path}: only {overlap:.1%} of the variants match {ld_path} "
                          f"(min_overlap {min_overlap:.0%})")
    ld.set_mask(mask)
    stored = ld.load(keep_quantised=True)
    scale = 1.0 / ld.attrs["quantisation_scale"]
    n = matched[col.N].to_numpy(float)
    b = std_beta_from_z(matched[col.Z].to_numpy(float), n)
    # a progress bar on a terminal; in a job log the per-iteration ELBO lines do that work
    model = VIPRS(max_iter=max_iter, n_threads=n_threads, progress=sys.stderr.isatty())
    # band rows (windowed, block, sample LD) stream no column indices; other layouts use CSR
    ld_rows = symmetric_band(stored) or symmetric_offdiagonal(stored)
    model.fit(b, n, ld_rows, ld_scale=scale, label=f"chromosome {chrom}")

    sd = np.sqrt(2 * matched[col.MAF].to_numpy(float) * (1 - matched[col.MAF].to_numpy(float)))
    effects = pd.DataFrame({
        "CHR": matched[col.CHR].to_numpy(), "SNP": matched[col.SNP].to_numpy(),
        "POS": matched[col.POS].to_numpy(), "A1": matched[col.A1].to_numpy(),
        "A2": matched[col.A2].to_numpy(), "BETA": model.eta_,
        "BETA_PER_ALLELE": model.eta_ / sd, "PIP": model.pip_, "VAR_BETA": model.var_beta_,
    })
    write_effect_table(effects, out_effects)
    write_pgs_catalog(effects, out_pgs, pgs_name=f"{model_name}_{trait}", trait=trait,
                      n_gwas=np.median(n), genome_build=ld.attrs.get("genome_build", "NR"))
    write_plink_score(effects, out_score)
    r = model.result_
    write_json({
        "trait": trait, "model": model_name, "chrom": chrom, "prior": "spike_slab",
        "elbo": r.elbo, "pi": model.pi_, "sigma2_beta": model.sigma2_beta_,
        "sigma2_eps": model.sigma2_eps_, "h2": model.h2_, "iterations": r.n_iter,
        "stop_reason": r.stop_reason, "seconds": r.seconds, "threads": n_threads,
        "n_variants": len(matched), "ridge_max": float(model.ridge_.max()), "matching": counts,
        "history": r.history,
    }, out_json)
    return model
