"""GWAS summary statistics of any size from the genotypes of a simulated population.

The real regime of a PRS fit (prs_vi.md section 6a) is a GWAS of N = 1e5-1e6 people against an
LD panel of a few hundred. Simulating N genomes is out of reach, but the summary statistics of
such a GWAS have a known distribution given the population's LD R and the standardised effects
beta: b ~ N(R beta, (1 - h2) R / N). With the standardised genotypes G (M x n) of n individuals
standing for the population, R = G G' / n, and

    b = G (G' beta) / n + G e sqrt((1 - h2) / (n N)),   e ~ N(0, I_n),

draws exactly that (the covariance of the second term is (1 - h2) G G' / (n N)), for any N,
without forming R. The same G gives a fit's expected prediction R^2 in the population,
(beta' R eta)^2 / (eta' R eta var(y)), with var(y) = 1.
"""

import numpy as np
import pandas as pd
from scipy import stats

from vibank import columns as col


def draw_effects(genotypes, n_causal, h2, rng):
    """Standardised effects of ``n_causal`` variants drawn at random, N(0, 1), scaled so the
    genetic variance in the population, beta' R beta, is exactly ``h2``.

    Parameters
    ----------
    genotypes : (M, n) standardised genotypes of the population (float32/float64)
    n_causal : number of causal variants (1 <= n_causal <= M)
    h2 : heritability carried by the M variants
    rng : numpy Generator
    """
    m = genotypes.shape[0]
    if not 1 <= n_causal <= m:
        raise ValueError(f"n_causal must be in [1, {m}], not {n_causal}")
    beta = np.zeros(m)
    causal = rng.choice(m, size=n_causal, replace=False)
    beta[causal] = rng.standard_normal(n_causal)
    variance = genetic_variance(genotypes, beta)
    return beta * np.sqrt(h2 / variance)


def genetic_values(genotypes, beta):
    """G' beta: each individual's genetic value (float64)."""
    return np.asarray(genotypes.T @ beta.astype(genotypes.dtype), dtype=np.float64)


def genetic_variance(genotypes, beta):
    """beta' R beta with R = G G' / n."""
    g = genetic_values(genotypes, beta)
    return float(g @ g) / genotypes.shape[1]


def simulate_sumstats(genotypes, beta, n_gwas, rng, *, h2=None):
    """Standardised marginal effects b ~ N(R beta, (1 - h2) R / N) of a GWAS of ``n_gwas``
    people (module docstring); ``h2`` defaults to beta' R beta."""
    n = genotypes.shape[1]
    h2 = genetic_variance(genotypes, beta) if h2 is None else h2
    signal = genotypes @ genetic_values(genotypes, beta).astype(genotypes.dtype) / n
    noise = genotypes @ rng.standard_normal(n).astype(genotypes.dtype)
    return np.asarray(signal, np.float64) + np.asarray(noise, np.float64) * np.sqrt(
        (1 - h2) / (n * n_gwas))


def expected_r2(genotypes, beta, eta):
    """Expected prediction R^2 of the score eta in the population: (beta' R eta)^2 /
    (eta' R eta), phenotype variance 1 (0 for an all-zero score)."""
    g, score = genetic_values(genotypes, beta), genetic_values(genotypes, eta)
    n = genotypes.shape[1]
    variance = float(score @ score) / n
    return float((g @ score / n) ** 2 / variance) if variance > 0 else 0.0


def sumstats_table(variants, std_beta, n_gwas, allele_frequency):
    """Canonical summary statistics (vibank format) of standardised marginal effects b_j of A1:
    Z = b sqrt(N) / sqrt(1 - b^2) (the inverse of b = Z / sqrt(N + Z^2)), the per-allele BETA
    and SE from the allele frequency p of A1, P two-sided.

    ``variants``: a table with CHR SNP POS A1 A2 (a .bim)."""
    b = np.asarray(std_beta, dtype=np.float64)
    p = np.asarray(allele_frequency, dtype=np.float64)
    z = b * np.sqrt(n_gwas) / np.sqrt(1 - b**2)
    sd = np.sqrt(2 * p * (1 - p))
    se = 1 / (sd * np.sqrt(n_gwas + z**2))
    return pd.DataFrame({
        col.CHR: variants[col.CHR].astype(str).to_numpy(), col.SNP: variants[col.SNP].to_numpy(),
        col.POS: variants[col.POS].to_numpy(), col.A1: variants[col.A1].to_numpy(),
        col.A2: variants[col.A2].to_numpy(), col.N: np.full(len(b), int(n_gwas)),
        col.MAF: np.minimum(p, 1 - p), col.BETA: z * se, col.SE: se, col.Z: z,
        col.P: 2 * stats.norm.sf(np.abs(z)),
    })
