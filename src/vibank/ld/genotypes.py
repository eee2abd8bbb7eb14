"""Validated Python entry point to the compiled standardisation kernel."""

import numpy as np

from vibank.ld import _ld_ops


def standardise_genotypes(geno, *, dtype=np.float32, n_threads=1):
    """Standardise an (n_variants, n_samples) int8 allele-count matrix per variant.

    Missing calls (negative codes) are mean-imputed, so they become 0 after centring.

    Parameters
    ----------
    geno : array-like of int8, shape (n_variants, n_samples)
    dtype : numpy.float32 or numpy.float64
    n_threads : int, keyword-only
        OpenMP threads for the compiled kernel.

    Returns
    -------
    out : ndarray (n_variants, n_samples) of ``dtype``
    mean : ndarray (n_variants,), mean allele count (2 x frequency of the counted allele)
    std : ndarray (n_variants,), standard deviation over observed calls (0 if monomorphic)
    n_observed : ndarray (n_variants,) of intp, observed calls per variant
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    geno = np.ascontiguousarray(geno, dtype=np.int8)
    if geno.ndim != 2:
        raise ValueError(f"geno must be 2-D (n_variants, n_samples), got shape {geno.shape}")
    out = np.empty(geno.shape, dtype=dtype)
    mean = np.empty(geno.shape[0], dtype=dtype)
    std = np.empty(geno.shape[0], dtype=dtype)
    n_observed = np.empty(geno.shape[0], dtype=np.intp)
    _ld_ops.standardise_genotypes(geno, out, mean, std, n_observed, n_threads)
    return out, mean, std, n_observed
