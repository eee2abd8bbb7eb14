# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled genotype operations shared by the LD estimators and the simulators.

Every function here has a pure-NumPy twin in ``vibank.ld._reference`` and a test comparing
the two (tests/kernels/test_ld_ops.py).
"""

from cython.parallel import prange
from libc.math cimport nearbyint, sqrt
from libc.stdlib cimport free, malloc

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


ctypedef fused quantised:
    short
    signed char


def copy_band_tile(const floating[:, ::1] block, Py_ssize_t a, const long long[::1] ends,
                   const long long[::1] indptr, floating[::1] data):
    """Copy a tile's band rows into the row-compressed strict upper triangle, clipped to [-1, 1].

    Parameters
    ----------
    block : (b - a, hi - a) products r[j, k] of the tile's rows j in [a, b) with columns k in
        [a, hi), hi >= max(ends[a:b])
    a : first row of the tile
    ends : (m,) exclusive end of each row's band (row j keeps columns j+1 .. ends[j]-1)
    indptr : (m + 1,) row boundaries in ``data``
    data : (nnz,) receives row j's values at data[indptr[j]:indptr[j+1]]
    """
    cdef Py_ssize_t rows = block.shape[0], r, j, k, start
    cdef floating v
    with nogil:
        for r in range(rows):
            j = a + r
            start = indptr[j]
            # data[indptr[j]:indptr[j+1]] = clip(block[r, r+1:ends[j]-a], -1, 1)
            for k in range(ends[j] - j - 1):
                v = block[r, r + 1 + k]
                if v > 1:
                    v = 1
                elif v < -1:
                    v = -1
                data[start + k] = v


def quantise_values(const floating[::1] values, quantised[::1] out, double scale, int n_threads=1):
    """out = clip(rint(values * scale), -scale, scale) as int16/int8, products in double
    (``vibank.io.ld_store.quantise``; rint rounds halves to even, as ``np.rint``)."""
    cdef Py_ssize_t n = values.shape[0], i
    cdef double v
    for i in prange(n, nogil=True, num_threads=n_threads, schedule="static"):
        v = nearbyint(<double> values[i] * scale)
        if v > scale:
            v = scale
        elif v < -scale:
            v = -scale
        out[i] = <quantised> v


cdef double _pairwise_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """NumPy's pairwise summation of a[0:n] (``np.add.reduce``), the same additions in the same
    order, so that the sums equal NumPy's to the last bit."""
    cdef Py_ssize_t i, n2
    cdef double res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = 0.0
        for i in range(n):
            res = res + a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
        i = 8
        while i < n - (n % 8):
            r0 = r0 + a[i]
            r1 = r1 + a[i + 1]
            r2 = r2 + a[i + 2]
            r3 = r3 + a[i + 3]
            r4 = r4 + a[i + 4]
            r5 = r5 + a[i + 5]
            r6 = r6 + a[i + 6]
            r7 = r7 + a[i + 7]
            i = i + 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res = res + a[i]
            i = i + 1
        return res
    n2 = n // 2
    n2 = n2 - n2 % 8
    return _pairwise_sum(a, n2) + _pairwise_sum(a + n2, n - n2)


def band_r2_sums(const floating[::1] data, const long long[::1] indptr, double[::1] row_sums,
                 double[::1] col_sums, double n_ref=0.0):
    """Sums of r^2 over each row and each column of a band strict upper triangle (row j holds
    columns j+1, j+2, ...): the two halves of the LD score.

    ``n_ref > 2`` uses the bias-corrected r^2 - (1 - r^2) / (n_ref - 2). ``row_sums`` and
    ``col_sums`` (m,) are overwritten. Serial: every row adds to many columns. A row's sum is
    ``np.add.reduceat``'s (its first value plus the pairwise sum of the others), a column's
    the sum over rows in order, as the NumPy twin computes them.
    """
    cdef Py_ssize_t m = row_sums.shape[0], j, t, start, length, longest = 0
    cdef double r2
    cdef bint corrected = n_ref > 2
    cdef double* values
    for j in range(m):
        longest = max(longest, indptr[j + 1] - indptr[j])
    values = <double*> malloc(max(longest, 1) * sizeof(double))
    if values == NULL:
        raise MemoryError()
    with nogil:
        for j in range(m):
            col_sums[j] = 0.0
        for j in range(m):
            start = indptr[j]
            length = indptr[j + 1] - start
            for t in range(length):
                # r2 = data[t]^2 (minus (1 - r2) / (n_ref - 2) when corrected)
                r2 = <double> data[start + t] * <double> data[start + t]
                if corrected:
                    r2 = r2 - (1.0 - r2) / (n_ref - 2.0)
                values[t] = r2
                col_sums[j + 1 + t] += r2
            row_sums[j] = values[0] + _pairwise_sum(values + 1, length - 1) if length else 0.0
    free(values)
