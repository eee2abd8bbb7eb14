"""Pure-NumPy twin of the Gibbs-sampler kernel ``_kernels._gibbs`` (prs_vi.md section 10).

Kept apart from ``_reference.py`` (the VI twins) so the two can change independently. Besides
the one-sweep twin, :func:`gibbs_chain` runs the whole chain with the random stream that
``vibank.prs.baselines.GibbsSpikeSlab`` uses, and returns every sweep's state.
"""

import math

import numpy as np

from vibank.ld import LDRows


def gibbs_sweep(ld, std_beta, n_per_variant, var_mu, log_prior_odds, uniform, normal, beta,
                included, q, sigma2_eps):
    """NumPy twin of ``_kernels._gibbs.gibbs_sweep``: one sweep in variant order (segments are
    independent, so visiting them in order gives the kernel's result), in place; returns the
    number of included variants. ``ld`` an ``LDRows``."""
    for j in range(len(std_beta)):
        v = float(var_mu[j])
        mu = v * float(n_per_variant[j]) * (float(std_beta[j]) - float(q[j])) / sigma2_eps
        u = float(log_prior_odds[j]) + mu * mu / (2.0 * v)
        # the same overflow-free logistic as the kernel
        gamma = 1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u))
        if uniform[j] < gamma:
            included[j] = 1
            beta_new = mu + math.sqrt(v) * normal[j]
        else:
            included[j] = 0
            beta_new = 0.0
        delta = beta_new - float(beta[j])
        beta[j] = beta_new
        if delta == 0.0:
            continue
        columns, values = ld.row(j)
        q[columns] += values * (delta * ld.scale)
    return int(np.sum(included))


def draws(rng, n_variants):
    """One sweep's random numbers, in the order the sampler takes them: M uniforms, then M
    standard normals."""
    return rng.random(n_variants), rng.standard_normal(n_variants)


def gibbs_chain(r, std_beta, n_per_variant, *, pi, sigma2_beta, sigma2_eps, n_sweeps, seed):
    """The whole chain on a dense R (unit diagonal), from beta = 0, in float64.

    Returns (n_sweeps, M) arrays of beta and s after each sweep: the samples that
    ``GibbsSpikeSlab(pi=..., sigma2_beta=..., sigma2_eps=..., seed=seed)`` averages.
    """
    r = np.asarray(r, dtype=np.float64)
    m = len(std_beta)
    off = r - np.diag(np.diag(r))
    n = np.broadcast_to(np.asarray(n_per_variant, dtype=np.float64), (m,))
    var_mu = sigma2_eps / (n + sigma2_eps / sigma2_beta)
    log_prior_odds = math.log(pi) - math.log1p(-pi) + 0.5 * np.log(var_mu / sigma2_beta)
    # every entry of the dense off-diagonal R as one CSR row per variant
    ld = LDRows(off.ravel(), np.arange(0, m * m + 1, m), m, indices=np.tile(np.arange(m), m))
    beta, included, q = np.zeros(m), np.zeros(m, dtype=np.uint8), np.zeros(m)
    rng = np.random.default_rng(seed)
    betas, inclusions = np.empty((n_sweeps, m)), np.empty((n_sweeps, m), dtype=np.uint8)
    for sweep in range(n_sweeps):
        uniform, normal = draws(rng, m)
        gibbs_sweep(ld, np.asarray(std_beta, dtype=np.float64), n, var_mu,
                    log_prior_odds, uniform, normal, beta, included, q, sigma2_eps)
        betas[sweep], inclusions[sweep] = beta, included
    return betas, inclusions
