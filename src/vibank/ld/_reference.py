"""Pure-NumPy twins of the compiled kernels in ``_ld_ops.pyx`` (the specification they are tested against)."""

import numpy as np


def standardise_genotypes(geno, dtype=np.float64):
    """NumPy twin of ``_ld_ops.standardise_genotypes``.

    Parameters
    ----------
    geno : int8 array (n_variants, n_samples); negative values are missing calls.
    dtype : output float dtype.

    Returns
    -------
    out, mean, std, n_observed
    """
    obs = geno >= 0
    g = np.where(obs, geno, 0).astype(np.float64)
    n_obs = obs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_obs > 0, g.sum(axis=1) / n_obs, 0.0)
        var = np.where(n_obs > 0, (g * g).sum(axis=1) / n_obs - mean**2, 0.0)
    std = np.where(var > 1e-12, np.sqrt(np.maximum(var, 0.0)), 0.0)
    scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    out = np.where(obs, (g - mean[:, None]) * scale[:, None], 0.0)
    return out.astype(dtype), mean.astype(dtype), std.astype(dtype), n_obs.astype(np.intp)
