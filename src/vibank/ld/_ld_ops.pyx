# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled genotype operations shared by the LD estimators and the simulators.

Every function here has a pure-NumPy twin in ``vibank.ld._reference`` and a test comparing
the two (tests/kernels/test_ld_ops.py).
"""

from cython.parallel import prange
from libc.math cimport sqrt

ctypedef fused floating:
    float
    double

cdef extern from *:
    """
    #ifndef VIBANK_OPENMP
    #define VIBANK_OPENMP 0
    #endif
    """
    int VIBANK_OPENMP


def openmp_enabled():
    """True when the extension was compiled with OpenMP (threads > 1 then run in parallel)."""
    return VIBANK_OPENMP == 1


def standardise_genotypes(const signed char[:, ::1] geno, floating[:, ::1] out,
                          floating[::1] mean, floating[::1] std, Py_ssize_t[::1] n_observed,
                          int n_threads=1):
    """Standardise allele counts per variant, mean-imputing missing calls.

    Parameters
    ----------
    geno : int8 array (n_variants, n_samples), C order
        Allele counts 0, 1, 2; any negative value (bed-reader writes -127) is a missing call.
    out : float32/float64 array (n_variants, n_samples), C order
        Receives (g - mean) / std; missing calls become 0 (the imputed mean). Rows of
        monomorphic variants (std == 0) are all zero.
    mean, std : float arrays (n_variants,)
        Receive the mean allele count (2p) and the population standard deviation over the
        observed calls.
    n_observed : intp array (n_variants,)
        Receives the number of observed (non-missing) calls per variant.
    n_threads : int
        OpenMP threads; variants are split statically between them.
    """
    cdef Py_ssize_t m = geno.shape[0], n = geno.shape[1]
    cdef Py_ssize_t j, i
    cdef Py_ssize_t n_obs
    cdef double s, ss, mu, sd, g
    for j in prange(m, nogil=True, num_threads=n_threads, schedule="static"):
        # mean and variance over observed calls: mu = g[obs].mean(); sd = g[obs].std()
        s = 0.0
        ss = 0.0
        n_obs = 0
        for i in range(n):
            if geno[j, i] >= 0:
                g = geno[j, i]
                s = s + g
                ss = ss + g * g
                n_obs = n_obs + 1
        if n_obs > 0:
            mu = s / n_obs
            sd = ss / n_obs - mu * mu
            sd = sqrt(sd) if sd > 1e-12 else 0.0
        else:
            mu = 0.0
            sd = 0.0
        mean[j] = <floating> mu
        std[j] = <floating> sd
        n_observed[j] = n_obs
        # out[j] = where(obs, (g - mu) / sd, 0), or 0 everywhere when sd == 0
        for i in range(n):
            if sd > 0.0 and geno[j, i] >= 0:
                out[j, i] = <floating> ((geno[j, i] - mu) / sd)
            else:
                out[j, i] = 0
