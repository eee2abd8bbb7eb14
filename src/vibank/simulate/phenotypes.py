"""Phenotypes with known genetic architecture on a genotype set (the built-in cohort or any bed).

Effects are drawn on the standardised scale of the reference population (EUR by default),
converted to per-allele effects, and applied to *every* individual, so that the same causal
effects act in all populations and ancestry transfer can be measured. The genetic value is
scaled so that its variance in the reference population is exactly h2; sex and age explain
``covariate_variance`` and noise the rest (h2 is a share of the total phenotypic variance).
Binary traits follow the liability-threshold model with the prevalence set in the reference
population (other populations get the prevalence their liabilities give).
"""

import logging
import zlib

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.atomic import write_table
from vibank.io.plink import read_bim, read_dosages, read_fam, samples_for_fam
from vibank.ld import standardise_genotypes

log = logging.getLogger(__name__)

#: paper mixtures: (component probabilities, variance multipliers)
MIXTURES = {
    "mixture_sparse": ((0.95, 0.02, 0.02, 0.01), (0.0, 0.01, 0.1, 1.0)),
    "mixture_infinitesimal": ((0.95, 0.02, 0.02, 0.01), (0.001, 0.01, 0.1, 1.0)),
}
ARCHITECTURES = ("spike_slab", "infinitesimal", *MIXTURES)
CHUNK = 2000  # variants per block when forming the genetic value


def trait_rng(seed, trait):
    """Random generator for one trait, fixed by the study seed and the trait's name."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(trait.encode())]))


#: trait settings that must be numbers
NUMERIC_TRAIT_KEYS = ("h2", "pi", "prevalence")


def check_traits(traits):
    """One-line error (``phenotypes.traits.<trait>.<key>: ...``) for a malformed trait spec."""
    for name, spec in traits.items():
        where = f"phenotypes.traits.{name}"
        if not isinstance(spec, dict):
            raise VibankError(f"{where} must be a mapping (type, architecture, h2, ...)")
        arch = spec.get("architecture", "spike_slab")
        if arch not in ARCHITECTURES:
            raise VibankError(f"{where}.architecture: unknown architecture {arch!r}; choose "
                              f"from {', '.join(ARCHITECTURES)}")
        for key in NUMERIC_TRAIT_KEYS:
            value = spec.get(key)
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, (int, float))):
                raise VibankError(f"{where}.{key}: {value!r} is not a number")


def draw_effects(n_variants, spec, rng):
    """Unscaled standardised effects for one trait and its causal mask.

    Parameters
    ----------
    n_variants : int
    spec : dict with ``architecture`` and, depending on it, ``pi`` or ``mixture_pi`` /
        ``mixture_variance_multipliers``
    rng : numpy Generator

    Returns
    -------
    beta : (n_variants,) float64, causal : (n_variants,) bool
    """
    arch = spec.get("architecture", "spike_slab")
    if arch == "spike_slab":
        causal = rng.random(n_variants) < spec.get("pi", 1e-3)
        if not causal.any():
            causal[rng.integers(n_variants)] = True
        beta = np.where(causal, rng.standard_normal(n_variants), 0.0)
    elif arch == "infinitesimal":
        causal = np.ones(n_variants, dtype=bool)
        beta = rng.standard_normal(n_variants)
    elif arch in MIXTURES:
        probs = np.asarray(spec.get("mixture_pi") or MIXTURES[arch][0], dtype=float)
        mult = np.asarray(spec.get("mixture_variance_multipliers") or MIXTURES[arch][1], dtype=float)
        if probs.shape != mult.shape or not np.isclose(probs.sum(), 1.0):
            raise VibankError(f"trait mixture: mixture_pi must sum to 1 and match the multipliers")
        component = rng.choice(len(probs), size=n_variants, p=probs)
        beta = rng.standard_normal(n_variants) * np.sqrt(mult[component])
        causal = beta != 0
    else:
        raise VibankError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    return beta, causal


def _genetic_values(bfile, betas, ref_index, n_threads):
    """G-tilde @ B with per-allele effects: returns (values (n, T), per-allele B, ref sd)."""
    bim = read_bim(bfile)
    n = len(read_fam(bfile))
    m, n_traits = betas.shape
    values = np.zeros((n, n_traits))
    per_allele = np.zeros_like(betas)
    sd = np.zeros(m)
    for start in range(0, m, CHUNK):
        stop = min(start + CHUNK, m)
        geno = read_dosages(bfile, variant_index=np.s_[start:stop]).T  # (variants, samples)
        # standardise with the reference population's mean and sd; missing calls -> the mean
        _, mean, std, _ = standardise_genotypes(
            np.ascontiguousarray(geno[:, ref_index]), dtype=np.float64, n_threads=n_threads
        )
        scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
        centred = np.where(geno >= 0, geno - mean[:, None], 0.0)
        per_allele[start:stop] = betas[start:stop] * scale[:, None]
        values += centred.T @ per_allele[start:stop]
        sd[start:stop] = std
    log.info("genetic values computed over %d variants of %s", len(bim), bfile)
    return values, per_allele, sd


def simulate_phenotypes(bfile, sample_table, traits, out_phenotypes, out_effects, out_summary, *,
                        seed, reference_population="EUR", covariate_variance=0.05, n_threads=1):
    """Simulate every trait in ``traits`` and write phenotypes, true effects and a summary.

    Parameters
    ----------
    bfile : PLINK prefix (QC'd genotypes)
    sample_table : TSV with IID, POP, SEX, AGE
    traits : dict trait -> {type, architecture, pi, h2, prevalence, ...}
    out_phenotypes : TSV FID IID <trait>... (binary: 1 = control, 2 = case)
    out_effects : dict trait -> path of the true-effect table (gzip TSV)
    out_summary : TSV, one row per trait (architecture, h2, pi, n_causal, prevalence, ...)
    seed : study seed; each trait's randomness depends on the seed and its name only
    """
    if not traits:
        raise VibankError("phenotypes.traits is empty: define at least one trait")
    check_traits(traits)
    bim, fam = read_bim(bfile), read_fam(bfile)
    samples = samples_for_fam(sample_table, bfile).set_index(col.IID)
    ref = (samples[col.POP] == reference_population).to_numpy()
    if not ref.any():
        raise VibankError(f"{sample_table}: no sample of reference population {reference_population}")
    names = list(traits)
    rngs = {t: trait_rng(seed, t) for t in names}
    draws = [draw_effects(len(bim), traits[t], rngs[t]) for t in names]
    betas = np.column_stack([d[0] for d in draws])
    values, per_allele, sd = _genetic_values(bfile, betas, np.flatnonzero(ref), n_threads)
    # a variant without variation in the reference population has no standardised effect there
    # and gets none anywhere (per-allele effect 0): it is not causal
    betas[sd == 0] = 0.0
    for _, causal in draws:
        causal[sd == 0] = False

    covar = np.column_stack([samples[col.SEX].to_numpy(float), samples[col.AGE].to_numpy(float)])
    covar = (covar - covar[ref].mean(0)) / covar[ref].std(0)
    pheno = pd.DataFrame({col.FID: fam[col.FID], col.IID: fam[col.IID]})
    summary = []
    for k, t in enumerate(names):
        spec, rng = traits[t], rngs[t]
        h2 = float(spec.get("h2", 0.3))
        if not 0 < h2 + covariate_variance < 1:
            raise VibankError(f"trait {t}: h2 + covariate_variance must be below 1")
        g = values[:, k] - values[ref, k].mean()
        if not g[ref].var() > 0:
            raise VibankError(f"trait {t}: no causal variant varies in the reference population "
                              f"{reference_population}; raise pi or filter variants by MAF there")
        c = np.sqrt(h2 / g[ref].var())
        g *= c
        cov = covar @ np.sqrt(np.full(2, covariate_variance / 2))
        y = g + cov + rng.standard_normal(len(g)) * np.sqrt(1 - h2 - covariate_variance)
        row = {"trait": t, "type": spec.get("type", "quantitative"),
               "architecture": spec.get("architecture", "spike_slab"), "h2": h2,
               "pi": float(draws[k][1].mean()), "n_causal": int(draws[k][1].sum()),
               "covariate_variance": covariate_variance}
        if row["type"] == "binary":
            prevalence = float(spec.get("prevalence", 0.15))
            threshold = np.quantile(y[ref], 1 - prevalence)
            pheno[t] = np.where(y > threshold, 2, 1)
            row["prevalence"] = prevalence
        else:
            pheno[t] = y
            row["prevalence"] = np.nan
        effects = bim[[col.CHR, col.SNP, col.POS, col.A1, col.A2]].copy()
        effects[col.BETA] = betas[:, k] * c
        effects["BETA_PER_ALLELE"] = per_allele[:, k] * c
        effects["CAUSAL"] = draws[k][1].astype(int)
        effects["REF_SD"] = sd
        write_table(effects, out_effects[t])
        for pop, in_pop in samples.groupby(col.POP).groups.items():
            mask = samples.index.isin(in_pop)
            row[f"h2_observed_{pop}"] = float(np.var(g[mask]) / np.var(y[mask]))
        summary.append(row)
        log.info("trait %s: %s, %d causal variants, h2 = %.3f", t, row["architecture"], row["n_causal"], h2)
    write_table(pheno, out_phenotypes, float_format="%.6g")
    write_table(pd.DataFrame(summary), out_summary, float_format="%.6g")
    return pheno


def check_phenotype_file(path, traits, bfile, out_phenotypes):
    """Validate a user's phenotype file (FID IID <trait>...) and write it in vibank's layout."""
    pheno = pd.read_csv(path, sep=r"\s+", dtype={"FID": str, "IID": str, "#FID": str})
    pheno = pheno.rename(columns={"#FID": col.FID})
    for name in [col.FID, col.IID, *traits]:
        if name not in pheno.columns:
            raise VibankError(f"{path}: column {name} is missing")
    for t, spec in traits.items():
        values = pd.to_numeric(pheno[t], errors="coerce")
        bad = values.isna() & pheno[t].notna() & (pheno[t].astype(str) != "NA")
        if bad.any():
            raise VibankError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 2}, column {t}: not a number")
        if spec.get("type") == "binary":
            codes = set(values.dropna().unique())
            if not codes <= {1, 2}:
                raise VibankError(f"{path}: column {t}: binary traits must be coded 1 (control) / 2 (case)")
        pheno[t] = values
    fam = read_fam(bfile)
    pheno = pheno[pheno[col.IID].isin(fam[col.IID])]
    if pheno.empty:
        raise VibankError(f"{path}: no sample of {bfile}.fam is in the phenotype file")
    write_table(pheno[[col.FID, col.IID, *traits]], out_phenotypes, na_rep="NA")
    return pheno
