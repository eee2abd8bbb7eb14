# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The exact E-step sweep of VIPRS on upper band rows, which reads each LD row once.

The ``"upper"`` layout of ``vibank.ld.LDRows`` holds only the strict upper triangle: row j is
U_j = (R_j,j+1, ..., R_j,j+len_j), contiguous, half the values of the symmetric band rows
that ``_e_step`` streams. A sweep over a segment (independent range, ``LDRows.segments``)
keeps an accumulator L, zero at its start, and visits j in order:

    q_j   = L_j + U_j . eta[j+1 : j+1+len_j]     (eta_k, k > j: the previous sweep's values)
    eta_j = the coordinate update of variant j (``_coordinate``, as in ``_e_step``)
    L[j+1 : j+1+len_j] += U_j eta_j               (the new eta_j)

so q_j = sum_{k<j} R_jk eta_k(new) + sum_{k>j} R_jk eta_k(old), the value the symmetric
incremental sweep sees: the two sweeps agree to rounding. The dot and the axpy read the same
row, the axpy from cache. At the end L_j = sum_{k<j} R_jk eta_k, and the kernel leaves

    q = 2 L,    so that  eta' q = eta' R_offdiag eta

and sum_{j in [a, b)} eta_j q_j = eta_ab' R_offdiag eta_ab over any range [a, b) with no LD
crossing its ends (a chromosome): what the model reads from q (its ELBO fit term, h2 and the
chromosomes' shares of h2). Element by element q is *not* R_offdiag eta after an upper sweep;
the sweep never reads q's previous value (L is q's storage). Lazy updates (``pending``) need
both triangles of a row at once and are not available on this layout.

``upper_flush`` applies pending changes q += R_offdiag pending on the same rows (each row read
once, its two triangles by one dot and one axpy): ``LDRows.dot`` of an upper layout.

Segments run on ``n_threads`` OpenMP threads, each sequential, so the result does not depend on
the thread count. NumPy twins: ``vibank.prs._reference.upper_e_step`` and ``upper_flush``.
"""

import numpy as np
from cython.parallel import prange
from libc.math cimport fabs

from vibank.prs._kernels._coordinate cimport _MAX_K, _coordinate
from vibank.prs._kernels._ld_rows cimport axpy, dot, floating, ld_t

#: changes of eta_j smaller than these are not applied (float32, float64 state), here and in
#: _e_step's sweep: far below the precision of eta, and they would put subnormal numbers into q
TINY_FLOAT32 = 1e-30
TINY_FLOAT64 = 1e-280


def upper_e_step(ld, std_beta, n_per_variant, var_mu, log_prior, double log_null, gamma, mu, eta,
                 q, double sigma2_eps, int n_threads=1):
    """One exact E-step sweep on upper band rows, in place on gamma, mu, eta and q (q = 2 L on
    return: module docstring). Arguments as ``_e_step.e_step`` without the lazy ones; ``ld`` a
    ``vibank.ld.LDRows`` of layout "upper". Returns max |delta eta|."""
    return _sweep(ld.data, ld.indptr, ld.scale, ld.segments, std_beta, n_per_variant, var_mu,
                  log_prior, log_null, gamma, mu, eta, q, sigma2_eps, n_threads)


def upper_flush(ld, pending, q, int n_threads=1):
    """q += R_offdiag pending and pending = 0, in place, on upper band rows; returns how many
    variants had a pending change."""
    return _flush(ld.data, ld.indptr, ld.scale, ld.segments, pending, q, n_threads)


def _sweep(const ld_t[::1] ld_data, const long long[::1] ld_indptr, double ld_scale,
           const long long[::1] segments, const floating[::1] std_beta,
           const floating[::1] n_per_variant, const floating[:, ::1] var_mu,
           const floating[:, ::1] log_prior, double log_null, floating[:, ::1] gamma,
           floating[:, ::1] mu, floating[::1] eta, floating[::1] q, double sigma2_eps,
           int n_threads=1):
    """The sweep of :func:`upper_e_step` on the LD's values, row pointers, scale and segments."""
    cdef Py_ssize_t n_seg = segments.shape[0] - 1
    cdef Py_ssize_t n_comp = var_mu.shape[1]
    cdef Py_ssize_t s, j, lo, n
    cdef double q_j, eta_new, delta, seg_max
    cdef double tiny = TINY_FLOAT32 if floating is float else TINY_FLOAT64
    cdef double[::1] seg_maxes = np.zeros(n_seg)
    if n_comp > _MAX_K:
        raise ValueError(f"at most {_MAX_K} slab components")
    # no more threads than segments (see _e_step._sweep)
    for s in prange(n_seg, nogil=True, num_threads=max(min(n_threads, n_seg), 1),
                    schedule="dynamic"):
        seg_max = 0.0
        for j in range(segments[s], segments[s + 1]):
            q[j] = 0  # L
        for j in range(segments[s], segments[s + 1]):
            lo = ld_indptr[j]
            n = ld_indptr[j + 1] - lo
            # q_j = L_j + scale * ld_data[lo:lo+n] @ eta[j+1:j+1+n]
            q_j = q[j]
            if n > 0:
                q_j = q_j + ld_scale * dot(&ld_data[lo], &eta[j + 1], n)
            eta_new = _coordinate(j, n_comp, n_per_variant[j] * (std_beta[j] - q_j) / sigma2_eps,
                                  log_null, var_mu, log_prior, gamma, mu)
            delta = <double> (<floating> eta_new) - eta[j]
            if fabs(delta) >= tiny:  # smaller changes are dropped, as in _e_step
                eta[j] = <floating> eta_new
                if fabs(delta) > seg_max:
                    seg_max = fabs(delta)
            if n > 0 and eta[j] != 0:
                # q[j+1:j+1+n] += ld_data[lo:lo+n] * (eta[j] * scale)
                axpy(&q[j + 1], &ld_data[lo], n, <floating> (eta[j] * ld_scale))
        for j in range(segments[s], segments[s + 1]):
            q[j] = 2 * q[j]
        seg_maxes[s] = seg_max
    return float(np.max(seg_maxes)) if n_seg else 0.0


def _flush(const ld_t[::1] ld_data, const long long[::1] ld_indptr, double ld_scale,
           const long long[::1] segments, floating[::1] pending, floating[::1] q,
           int n_threads=1):
    """The flush of :func:`upper_flush` on the LD's arrays (as :func:`_sweep`)."""
    cdef Py_ssize_t n_seg = segments.shape[0] - 1
    cdef Py_ssize_t s, j, lo, n, count = 0
    for s in prange(n_seg, nogil=True, num_threads=max(min(n_threads, n_seg), 1),
                    schedule="dynamic"):
        for j in range(segments[s], segments[s + 1]):
            lo = ld_indptr[j]
            n = ld_indptr[j + 1] - lo
            if n > 0:
                # q_j += scale * ld_data[lo:lo+n] @ pending[j+1:j+1+n]  (the upper triangle)
                q[j] += <floating> (ld_scale * dot(&ld_data[lo], &pending[j + 1], n))
                if pending[j] != 0:
                    # q[j+1:j+1+n] += ld_data[lo:lo+n] * (pending[j] * scale)  (the lower one)
                    axpy(&q[j + 1], &ld_data[lo], n, <floating> (pending[j] * ld_scale))
        # zeroed after the segment's products: each row reads the pending values after it
        for j in range(segments[s], segments[s + 1]):
            if pending[j] != 0:
                pending[j] = 0
                count += 1
    return int(count)
