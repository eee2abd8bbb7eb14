"""A fit's effects as the result files carry them."""

import numpy as np
import pandas as pd

from vibank import columns as col


def effects_table(matched, posterior, allele_frequency):
    """The effect table of fitted variants: CHR SNP POS A1 A2, BETA (standardised), BETA_PER_ALLELE
    (BETA / sqrt(2 p (1 - p))), PIP and VAR_BETA.

    Parameters
    ----------
    matched : harmonised summary statistics of the variants (CHR SNP POS A1 A2)
    posterior : dict of (M,) arrays eta, pip, var_beta in the order of ``matched``
    allele_frequency : (M,) p of each variant (the GWAS's, else the LD panel's)
    """
    p = np.asarray(allele_frequency, dtype=float)
    eta = np.asarray(posterior["eta"], dtype=np.float64)
    return pd.DataFrame({
        "CHR": matched[col.CHR].to_numpy(), "SNP": matched[col.SNP].to_numpy(),
        "POS": matched[col.POS].to_numpy(), "A1": matched[col.A1].to_numpy(),
        "A2": matched[col.A2].to_numpy(), "BETA": eta,
        "BETA_PER_ALLELE": eta / np.sqrt(2 * p * (1 - p)),
        "PIP": posterior["pip"], "VAR_BETA": posterior["var_beta"],
    })


def score_variance_shares(eta, parts):
    """Each part's (e.g. chromosome's) share of eta'eta, the variance of a score of standardised
    effects over independent variants: eta_c'eta_c / eta'eta (0 for an all-zero eta)."""
    eta = np.asarray(eta, dtype=np.float64)
    total = max(float(eta @ eta), 1e-300)
    return [float(eta[part] @ eta[part]) / total for part in parts]
