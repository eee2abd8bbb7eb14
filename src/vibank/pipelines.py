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


def _load_chromosome(sumstats_path, ld_path, min_overlap):
    """Sumstats matched to one chromosome's LD store, with the LD as E-step rows."""
    sumstats = read_sumstats(sumstats_path)
    ld = LDMatrix(ld_path)
    chrom = ld.attrs.get("chrom", "?")
    variants = ld.variants()
    matched, mask, counts = match_to_ld(sumstats, variants)
    overlap = len(matched) / max(len(sumstats), 1)
    log.info("chr%s: %d of %d variants matched the LD (%s)", chrom, len(matched), len(sumstats), counts)
    if overlap < min_overlap:
        raise VibankError(f"{sumstats_path}: only {overlap:.1%} of the variants match {ld_path} "
                          f"(min_overlap {min_overlap:.0%})")
    ld.set_mask(mask)
    stored = ld.load(keep_quantised=True)
    n = matched[col.N].to_numpy(float)
    # allele frequency for the alpha prior: the GWAS MAF, else the LD panel's
    maf = matched[col.MAF].to_numpy(float) if col.MAF in matched else np.full(len(matched), np.nan)
    maf = np.where(np.isnan(maf), variants[col.MAF].to_numpy(float)[mask], maf)
    return {
        "path": sumstats_path, "matched": matched, "counts": counts, "chrom": chrom, "n": n,
        "b": std_beta_from_z(matched[col.Z].to_numpy(float), n), "maf": maf,
        # band rows (windowed, block, sample LD) stream no column indices; other layouts use CSR
        "rows": symmetric_band(stored) or symmetric_offdiagonal(stored),
        "scale": 1.0 / ld.attrs["quantisation_scale"], "build": ld.attrs.get("genome_build", "NR"),
    }


def _make_model(prior, prior_options, n_threads, max_iter):
    options = dict(prior_options or {})
    # a progress bar on a terminal; in a job log the per-iteration ELBO lines do that work
    return VIPRS(prior, **options, max_iter=max_iter, n_threads=n_threads,
                 progress=sys.stderr.isatty())


def _frequencies(chromosomes, prior):
    if prior != "alpha":
        return None
    for c in chromosomes:
        bad = ~((c["maf"] > 0) & (c["maf"] < 1))
        if bad.any():
            snp = c["matched"][col.SNP].to_numpy()[np.argmax(bad)]
            raise VibankError(f"{c['path']}: the alpha prior needs an allele frequency in (0, 1); "
                              f"variant {snp} has MAF {c['maf'][np.argmax(bad)]}")
    return [c["maf"] for c in chromosomes]


def _write_chromosome(c, model, part, outputs, *, trait, model_name, prior, n_threads, h2):
    """One chromosome's effect table, PGS Catalog file, plink2 score file and JSON."""
    matched = c["matched"]
    maf = matched[col.MAF].to_numpy(float) if col.MAF in matched else c["maf"]
    sd = np.sqrt(2 * maf * (1 - maf))
    eta = model.eta_[part].astype(np.float64)
    effects = pd.DataFrame({
        "CHR": matched[col.CHR].to_numpy(), "SNP": matched[col.SNP].to_numpy(),
        "POS": matched[col.POS].to_numpy(), "A1": matched[col.A1].to_numpy(),
        "A2": matched[col.A2].to_numpy(), "BETA": eta, "BETA_PER_ALLELE": eta / sd,
        "PIP": model.pip_[part], "VAR_BETA": model.var_beta_[part],
    })
    write_effect_table(effects, outputs["effects"])
    write_pgs_catalog(effects, outputs["pgs"], pgs_name=f"{model_name}_{trait}", trait=trait,
                      n_gwas=np.median(c["n"]), genome_build=c["build"])
    write_plink_score(effects, outputs["score"])
    r = model.result_
    write_json({
        "trait": trait, "model": model_name, "chrom": c["chrom"], "prior": prior,
        "elbo": r.elbo, "pi": model.pi_, "sigma2_beta": model.sigma2_beta_,
        "pi_components": model.pi_components_.tolist(),
        "sigma2_components": model.sigma2_components_.tolist(),
        "alpha": model.alpha_ if prior == "alpha" else None,
        "sigma2_eps": model.sigma2_eps_, "h2": h2, "h2_genome": model.h2_,
        "iterations": r.n_iter, "stop_reason": r.stop_reason, "seconds": r.seconds,
        "threads": n_threads, "n_variants": len(matched), "ridge_max": float(model.ridge_[part].max()),
        "genome_wide": part != slice(None), "matching": c["counts"],
        "initial": model.initial_hyperparameters_, "history": r.history,
    }, outputs["json"])


def fit_prs_chromosome(sumstats_path, ld_path, *, out_effects, out_json, out_pgs, out_score,
                       trait, model_name="viprs-ss-vem", prior="spike_slab", prior_options=None,
                       n_threads=1, min_overlap=0.75, max_iter=1000):
    """Fit VIPRS on one chromosome and write its result files.

    Parameters
    ----------
    sumstats_path : canonical summary statistics of the chromosome
    ld_path : LD store of the chromosome
    out_effects, out_json, out_pgs, out_score : effect table, hyperparameters and convergence,
        PGS Catalog scoring file, plink2 --score file
    prior : "spike_slab", "mixture" or "alpha"; ``prior_options`` go to ``VIPRS``
        (n_components, update_components, alpha, fit_alpha)
    min_overlap : refuse when fewer than this share of the sumstats variants match the LD
    """
    c = _load_chromosome(sumstats_path, ld_path, min_overlap)
    model = _make_model(prior, prior_options, n_threads, max_iter)
    freq = _frequencies([c], prior)
    model.fit(c["b"], c["n"], c["rows"], ld_scale=c["scale"],
              allele_frequency=None if freq is None else freq[0], label=f"chromosome {c['chrom']}")
    outputs = {"effects": out_effects, "json": out_json, "pgs": out_pgs, "score": out_score}
    _write_chromosome(c, model, slice(None), outputs, trait=trait, model_name=model_name,
                      prior=prior, n_threads=n_threads, h2=model.h2_)
    return model


def fit_prs_genome(sumstats_paths, ld_paths, outputs, *, trait, model_name="viprs-ss-vem",
                   prior="spike_slab", prior_options=None, n_threads=1, min_overlap=0.75,
                   max_iter=1000):
    """Fit VIPRS jointly on several chromosomes (shared hyperparameters) and write the result
    files of each chromosome.

    Parameters
    ----------
    sumstats_paths, ld_paths : per chromosome, in the same order
    outputs : per chromosome, a dict with the paths "effects", "json", "pgs", "score"
    Other parameters as ``fit_prs_chromosome``; each JSON holds the shared hyperparameters, the
    chromosome's own h2 and the genome's (``h2_genome``).
    """
    chromosomes = [_load_chromosome(s, l, min_overlap) for s, l in zip(sumstats_paths, ld_paths)]
    scales = {c["scale"] for c in chromosomes}
    if len(scales) > 1 or len({np.asarray(c["rows"].data).dtype for c in chromosomes}) > 1:
        raise VibankError(f"{', '.join(map(str, ld_paths))}: a genome-wide fit needs LD stores "
                          "with one value type (dtype); rebuild them with the same ld dtype")
    model = _make_model(prior, prior_options, n_threads, max_iter)
    model.fit([c["b"] for c in chromosomes], [c["n"] for c in chromosomes],
              [c["rows"] for c in chromosomes], ld_scale=scales.pop(),
              allele_frequency=_frequencies(chromosomes, prior),
              label=f"chromosomes {', '.join(str(c['chrom']) for c in chromosomes)}")
    bounds = np.cumsum([0] + [len(c["b"]) for c in chromosomes])
    for c, lo, hi, out, h2 in zip(chromosomes, bounds[:-1], bounds[1:], outputs, model.h2_parts_):
        _write_chromosome(c, model, slice(lo, hi), out, trait=trait, model_name=model_name,
                          prior=prior, n_threads=n_threads, h2=h2)
    return model
