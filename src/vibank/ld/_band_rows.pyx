# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The symmetric band rows of ``vibank.ld.LDRows`` from a store's strict upper triangle, and the
upper band rows of its kept variants.

A band strict upper triangle holds in row j the columns j+1 .. end_j - 1 contiguously. The
symmetric band row j holds the columns first_j .. end_j - 1: the lower part (k < j, the value
R_kj of upper row k), a 0 on the diagonal, then upper row j. Each output row is written by one
thread: its upper part is a contiguous copy, its lower part a gather down a column of the upper
triangle (consecutive rows read neighbouring values of the same upper rows, so the gather stays
in cache). No per-value index arrays: the NumPy twin (``vibank.ld._reference.symmetric_band``)
needs 16 bytes of int64 indices per stored value.

The kept variants of a masked store are read straight from the unmasked triangle: ``variant``
gives each output row's stored variant, ``keep`` flags the stored variants kept.
"""

from cython.parallel import prange

ctypedef signed char int8

ctypedef fused value_t:
    int8
    short
    float
    double


def symmetric_band(const value_t[::1] upper, const long long[::1] upper_indptr,
                   const long long[::1] variant, const unsigned char[::1] keep,
                   const long long[::1] first, const long long[::1] indptr, value_t[::1] out,
                   int n_threads=1):
    """Write the symmetric band rows of the kept variants of a band strict upper triangle.

    Parameters
    ----------
    upper : values of the stored strict upper triangle; stored row s is
        ``upper[upper_indptr[s]:upper_indptr[s + 1]]``, columns s+1, s+2, ...
    upper_indptr : (n_stored + 1,) its row boundaries
    variant : (m,) stored index of each output row, increasing
    keep : (n_stored,) 1 for the kept stored variants (those in ``variant``), or empty when
        every stored variant is kept (``variant`` is then 0 .. m-1)
    first : (m,) first column of each output row, in the output numbering; every row
        first_i .. i-1 must reach column i (the band's row ends do not decrease)
    indptr : (m + 1,) output row boundaries: row i has ``first_i + (i - first_i) + 1 + kept
        columns of its upper row`` values
    out : receives the rows, every value written (it may come from ``np.empty``)
    n_threads : OpenMP threads over the output rows
    """
    cdef Py_ssize_t m = variant.shape[0], i, t, k, j, s, base, pos, lo, n
    cdef bint masked = keep.shape[0] > 0
    for i in prange(m, nogil=True, num_threads=n_threads, schedule="static"):
        j = variant[i]
        base = indptr[i]
        # lower part: out[base + k - first_i] = R_kj = upper row s = variant[k] at column j
        for k in range(first[i], i):
            s = variant[k]
            out[base + k - first[i]] = upper[upper_indptr[s] + j - s - 1]
        pos = base + i - first[i]
        out[pos] = 0  # the diagonal slot
        pos = pos + 1
        lo = upper_indptr[j]
        n = upper_indptr[j + 1] - lo
        if masked:
            # out[pos:indptr[i+1]] = upper[lo:lo+n][keep[j+1:j+1+n] == 1]
            for t in range(n):
                if keep[j + 1 + t]:
                    out[pos] = upper[lo + t]
                    pos = pos + 1
        else:
            # out[pos:pos+n] = upper[lo:lo+n]
            for t in range(n):
                out[pos + t] = upper[lo + t]


def kept_upper(const value_t[::1] upper, const long long[::1] upper_indptr,
               const long long[::1] variant, const unsigned char[::1] keep,
               const long long[::1] indptr, value_t[::1] out):
    """Write the upper band rows of the kept variants of a band strict upper triangle: output
    row i holds the kept columns of stored row ``variant[i]``, which are i+1, i+2, ... in the
    kept variants' numbering.

    Parameters
    ----------
    upper, upper_indptr : the stored triangle (as :func:`symmetric_band`)
    variant : (m,) stored index of each output row, increasing
    keep : (n_stored,) 1 for the kept stored variants
    indptr : (m + 1,) output row boundaries (row i: the kept columns of its stored row)
    out : receives the rows; may be ``upper`` itself: the rows are written in order, and no
        value is written past the one being read (out[indptr[i] + w] with w kept values before
        it, read from upper[upper_indptr[variant[i]] + t], t >= w), so nothing unread is
        overwritten (one thread: a later row may write where an earlier one reads)
    """
    cdef Py_ssize_t m = variant.shape[0], i, t, j, lo, n, pos
    with nogil:
        for i in range(m):
            j = variant[i]
            lo = upper_indptr[j]
            n = upper_indptr[j + 1] - lo
            pos = indptr[i]
            # out[indptr[i]:indptr[i+1]] = upper[lo:lo+n][keep[j+1:j+1+n] == 1]
            for t in range(n):
                if keep[j + 1 + t]:
                    out[pos] = upper[lo + t]
                    pos = pos + 1


def dense_block(const value_t[::1] upper, const long long[::1] upper_indptr, Py_ssize_t start,
                double scale, double[:, ::1] out):
    """Write R[start:start+n, start:start+n] with a unit diagonal, values times ``scale``,
    into ``out`` (n, n), which must hold zeros: the dense block whose extremal eigenvalues
    ``vibank.ld.eigenvalues`` computes, from a band strict upper triangle (row j holds columns
    j+1, j+2, ...). Upper values go along row r, their mirror down column r."""
    cdef Py_ssize_t n = out.shape[0], r, t, lo, count
    cdef double v
    with nogil:
        for r in range(n):
            out[r, r] = 1.0
            lo = upper_indptr[start + r]
            # row start + r within the block: columns r+1 .. r+count
            count = min(upper_indptr[start + r + 1] - lo, n - r - 1)
            for t in range(count):
                # out[r, r+1+t] = out[r+1+t, r] = upper[lo+t] * scale
                v = <double> upper[lo + t] * scale
                out[r, r + 1 + t] = v
                out[r + 1 + t, r] = v
