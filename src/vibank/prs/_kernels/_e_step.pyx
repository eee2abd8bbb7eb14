# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Coordinate-ascent E-step of VIPRS (prs_vi.md section 3), for the spike-and-slab, alpha and
Gaussian-mixture priors: one kernel, with K slab components (K = 1 for spike-and-slab and alpha).

One sweep visits the variants in order. For variant j, with q_j = sum_{k != j} R_jk eta_k kept
current by incremental updates, and r_j = N_j (b_j - q_j) / s2e:

    mu_jk  = v_jk r_j                                       (v_jk precomputed by the caller)
    u_jk   = log_prior_jk + mu_jk^2 / (2 v_jk)              (log_prior_jk = log pi_k + 0.5 log(v_jk / s2_jk))
    u_j0   = log_null                                       (log pi_0, the spike)
    gamma_j. = softmax(u_j.)                                (spike-and-slab: sigmoid(u_j1 - u_j0))
    eta_j  = sum_k gamma_jk mu_jk                            (unchanged if it moves < TINY_*)
    q_k   += R_kj (eta_j(new) - eta_j(old))                 for every neighbour k of j

Lazy neighbour updates (``lazy_tol > 0``): the change of eta_j is added to ``pending[j]``
instead of being streamed into the neighbours' q, until |pending[j]| reaches ``lazy_tol``;
then q_k += R_kj pending_j and pending_j = 0. Meanwhile q = R_offdiag (eta - pending), so
the sweep sees its neighbours' means lagging by less than ``lazy_tol`` each; ``flush`` applies
every pending change, after which q = R_offdiag eta as in the exact sweep (``lazy_tol = 0``,
which never reads ``pending``). Late in a fit most eta_j move by far less than the tolerance,
and skipping their LD rows is what makes a sweep cheap.

The LD is a ``vibank.ld.LDRows``: the symmetric matrix without its diagonal, in CSR rows
(``indices`` int32 or int64) or band rows (row j covers columns first[j] .., its diagonal entry
stored as 0), with values float32/float64, or int8/int16 times its ``scale``. Variants are
processed in its ``segments``: contiguous ranges with no LD between them (LD blocks,
chromosomes of a genome-wide fit), which are independent and run on ``n_threads`` OpenMP
threads; within a segment the sweep is sequential, so the result does not depend on the thread
count. The NumPy twins are ``vibank.prs._reference.e_step`` and ``vibank.prs._reference.flush``.

LD in the ``"upper"`` layout (the strict upper triangle alone) goes to the sweep of ``_upper``,
which reads each row once; it has no lazy updates, and leaves q = 2 L rather than R_offdiag eta
(same eta'q; see that module).
"""

import numpy as np
from cython.parallel import prange
from libc.math cimport fabs

from vibank.prs._kernels._coordinate cimport _MAX_K, _coordinate
from vibank.prs._kernels._ld_rows cimport apply_row, floating, index_t, ld_t

# TINY_FLOAT32 / TINY_FLOAT64: changes of eta_j smaller than these are not applied; defined
# with the upper sweep, which applies the same rule
from vibank.prs._kernels._upper import TINY_FLOAT32, TINY_FLOAT64, upper_e_step, upper_flush

#: largest number of slab components a kernel call accepts
MAX_COMPONENTS = _MAX_K


def e_step(ld, std_beta, n_per_variant, var_mu, log_prior, double log_null, gamma, mu, eta, q,
           double sigma2_eps, int n_threads=1, pending=None, double lazy_tol=0.0):
    """One E-step sweep, in place on gamma, mu, eta and q.

    Parameters
    ----------
    ld : ``vibank.ld.LDRows``, R without its diagonal (its rows, scale and segments)
    std_beta : (M,) b_j, standardised marginal effects
    n_per_variant : (M,) N_j
    var_mu : (M, K) v_jk = s2e / (N_j d_j + s2e / s2_jk), d_j the diagonal of R (1 + ridge)
    log_prior : (M, K) log pi_k + 0.5 log(v_jk / s2_jk), the part of u_jk without mu_jk
    log_null : log pi_0 (spike-and-slab: log(1 - pi))
    gamma, mu : (M, K) variational parameters; eta = sum_k gamma mu; q = R_offdiag eta
    sigma2_eps : s2e
    n_threads : OpenMP threads over the segments
    pending : (M,) eta changes not yet applied to q (only read when ``lazy_tol > 0``)
    lazy_tol : apply a variant's change to its neighbours only once |pending_j| reaches this;
        0 (default) applies every change at once (the exact sweep)

    All arrays C-contiguous, the state (b .. q, pending) of one float type.

    Returns
    -------
    max_delta_eta : largest |eta_j(new) - eta_j(old)| in the sweep

    Raises
    ------
    ValueError : ``lazy_tol > 0`` on LD of layout "upper"
    """
    if ld.layout == "upper":
        if lazy_tol > 0:
            raise ValueError("lazy E-step sweeps need both triangles of the LD rows: give "
                             "LDRows.symmetric() instead of the upper layout")
        return upper_e_step(ld, std_beta, n_per_variant, var_mu, log_prior, log_null, gamma, mu,
                            eta, q, sigma2_eps, n_threads)
    return _sweep(*ld.kernel_arrays(), std_beta, n_per_variant, var_mu, log_prior, log_null,
                  gamma, mu, eta, q, sigma2_eps, n_threads, pending, lazy_tol)


def flush(ld, pending, q, int n_threads=1):
    """Apply every pending eta change to q (q += R_offdiag pending, pending = 0), in place.

    After it q = R_offdiag eta again. ``ld`` a ``vibank.ld.LDRows``; returns how many variants
    had a pending change.
    """
    if ld.layout == "upper":
        return upper_flush(ld, pending, q, n_threads)
    return _flush(*ld.kernel_arrays(), pending, q, n_threads)


def _sweep(const ld_t[::1] ld_data, const index_t[::1] ld_indices, const long long[::1] ld_first,
           const long long[::1] ld_indptr, double ld_scale, const long long[::1] segments,
           const floating[::1] std_beta, const floating[::1] n_per_variant,
           const floating[:, ::1] var_mu, const floating[:, ::1] log_prior, double log_null,
           floating[:, ::1] gamma, floating[:, ::1] mu, floating[::1] eta, floating[::1] q,
           double sigma2_eps, int n_threads=1, floating[::1] pending=None, double lazy_tol=0.0):
    """The sweep of :func:`e_step` on the LD's arrays (``LDRows.kernel_arrays``: values,
    column indices or an empty array for band rows, band-row first columns or an empty array
    for CSR, row pointers, scale, segments); the other arguments as there."""
    cdef Py_ssize_t n_seg = segments.shape[0] - 1
    cdef Py_ssize_t n_comp = var_mu.shape[1]
    cdef bint band = ld_first.shape[0] > 0
    cdef Py_ssize_t s, j, t, start, stop
    cdef double eta_new, delta, step, seg_max
    cdef double tiny = TINY_FLOAT32 if floating is float else TINY_FLOAT64
    cdef double[::1] seg_maxes = np.zeros(n_seg)
    cdef bint lazy = lazy_tol > 0
    if n_comp > _MAX_K:
        raise ValueError(f"at most {_MAX_K} slab components")
    if lazy and (pending is None or pending.shape[0] != eta.shape[0]):
        raise ValueError("lazy_tol > 0 needs a pending array with one value per variant")
    # no more threads than segments: an idle OpenMP thread costs nothing on a quiet machine, but
    # on a busy one the sweep waits at the region's end until that thread has been scheduled
    # (windowed LD, one segment, load 2 on 2 vCPUs: median E-step 20-28 ms at 2 threads vs
    # 12-16 ms at 1)
    for s in prange(n_seg, nogil=True, num_threads=max(min(n_threads, n_seg), 1),
                    schedule="dynamic"):
        seg_max = 0.0
        for j in range(segments[s], segments[s + 1]):
            eta_new = _coordinate(j, n_comp, n_per_variant[j] * (std_beta[j] - q[j]) / sigma2_eps,
                                  log_null, var_mu, log_prior, gamma, mu)
            # the change of the stored eta_j (float32 state: after rounding), so that q follows
            # exactly the values eta holds
            delta = <double> (<floating> eta_new) - eta[j]
            if fabs(delta) < tiny:
                # a change this small would only feed subnormal numbers (100x slower on x86)
                # into q; eta keeps its value, so q stays exactly R_offdiag eta
                continue
            eta[j] = <floating> eta_new
            if fabs(delta) > seg_max:
                seg_max = fabs(delta)
            step = delta
            if lazy:
                # step = pending[j] + delta; below the tolerance it waits in pending
                step = pending[j] + delta
                if fabs(step) < lazy_tol:
                    pending[j] = <floating> step
                    continue
                pending[j] = 0
            apply_row(j, step * ld_scale, band, ld_data, ld_indices, ld_first, ld_indptr, q)
        seg_maxes[s] = seg_max
    return float(np.max(seg_maxes)) if n_seg else 0.0


def _flush(const ld_t[::1] ld_data, const index_t[::1] ld_indices,
           const long long[::1] ld_first, const long long[::1] ld_indptr, double ld_scale,
           const long long[::1] segments, floating[::1] pending, floating[::1] q,
           int n_threads=1):
    """The flush of :func:`flush` on the LD's arrays (as :func:`_sweep`)."""
    cdef Py_ssize_t n_seg = segments.shape[0] - 1
    cdef bint band = ld_first.shape[0] > 0
    cdef Py_ssize_t s, j, count = 0
    for s in prange(n_seg, nogil=True, num_threads=max(min(n_threads, n_seg), 1),
                    schedule="dynamic"):
        for j in range(segments[s], segments[s + 1]):
            if pending[j] != 0:
                apply_row(j, pending[j] * ld_scale, band, ld_data, ld_indices, ld_first, ld_indptr, q)
                pending[j] = 0
                count += 1
    return int(count)
