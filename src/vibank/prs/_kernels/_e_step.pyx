# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Coordinate-ascent E-step of the spike-and-slab VIPRS model (prs_vi.md section 3).

One sweep visits the variants in order. For variant j, with q_j = sum_{k != j} R_jk eta_k kept
current by incremental updates:

    mu_j    = (N_j v_j / s2e) (b_j - q_j)
    logit(gamma_j) = logit(pi) + 0.5 log(v_j / s2b_j) + mu_j^2 / (2 v_j)
    eta_j   = gamma_j mu_j
    q_k    += R_kj (eta_j(new) - eta_j(old))   for every neighbour k of j

The LD is the symmetric matrix without its diagonal, either in CSR form (``indices`` int32 or
int64) or in band rows (row j covers columns first[j] .., its diagonal entry stored as 0), with
values float32/float64, or int8/int16 scaled by ``ld_scale``. v_j and the constant part of the
logit are precomputed by the caller. The NumPy twin is ``vibank.prs._reference.e_step``.
"""

from cython.parallel import prange
from libc.math cimport exp, fabs, log

ctypedef fused ld_t:
    signed char
    short
    float
    double

ctypedef fused index_t:
    int
    long long

ctypedef fused floating:
    float
    double


cdef inline double _sigmoid(double u) noexcept nogil:
    # no overflow for large |u|
    if u >= 0:
        return 1.0 / (1.0 + exp(-u))
    cdef double e = exp(u)
    return e / (1.0 + e)


cdef inline double _coordinate(double b, double q, double n, double v, double logit_prior,
                              double sigma2_eps, double* mu, double* gamma) noexcept nogil:
    """Variant j's update: mu_j, gamma_j (through the pointers) and the new eta_j."""
    mu[0] = n * v / sigma2_eps * (b - q)
    gamma[0] = _sigmoid(logit_prior + mu[0] * mu[0] / (2.0 * v))
    return gamma[0] * mu[0]


def e_step_spike_slab(const ld_t[::1] ld_data, const index_t[::1] ld_indices,
                      const long long[::1] ld_indptr, double ld_scale,
                      const floating[::1] std_beta, const floating[::1] n_per_variant,
                      const floating[::1] var_mu, const floating[::1] logit_prior,
                      floating[::1] gamma, floating[::1] mu, floating[::1] eta,
                      floating[::1] q, double sigma2_eps, int n_threads=1,
                      Py_ssize_t min_parallel_row=4096):
    """One E-step sweep, in place on gamma, mu, eta and q.

    Parameters
    ----------
    ld_data, ld_indices, ld_indptr : symmetric LD without diagonal, CSR
    ld_scale : multiply stored values by this (1/32767 or 1/127 for quantised LD, else 1)
    std_beta : b_j, standardised marginal effects
    n_per_variant : N_j
    var_mu : v_j = s2e / (N_j + s2e / s2b_j)
    logit_prior : logit(pi) + 0.5 log(v_j / s2b_j), the part of logit(gamma_j) without mu_j
    gamma, mu, eta, q : variational parameters and q = R_offdiag eta, updated in place
    sigma2_eps : s2e
    n_threads : OpenMP threads for the neighbour updates of long rows
    min_parallel_row : rows with at least this many neighbours update q in parallel

    Returns
    -------
    max_delta_eta : largest |eta_j(new) - eta_j(old)| in the sweep
    """
    cdef Py_ssize_t m = std_beta.shape[0]
    cdef Py_ssize_t j, t, start, stop
    cdef double mu_j, gamma_j, eta_new, delta, max_delta = 0.0
    with nogil:
        for j in range(m):
            eta_new = _coordinate(std_beta[j], q[j], n_per_variant[j], var_mu[j], logit_prior[j],
                                  sigma2_eps, &mu_j, &gamma_j)
            delta = eta_new - eta[j]
            mu[j] = <floating> mu_j
            gamma[j] = <floating> gamma_j
            eta[j] = <floating> eta_new
            if fabs(delta) > max_delta:
                max_delta = fabs(delta)
            if delta != 0.0:
                start = ld_indptr[j]
                stop = ld_indptr[j + 1]
                delta = delta * ld_scale
                # q[ld_indices[start:stop]] += ld_data[start:stop] * delta
                if n_threads > 1 and stop - start >= min_parallel_row:
                    for t in prange(start, stop, num_threads=n_threads, schedule="static"):
                        q[ld_indices[t]] += <floating> (ld_data[t] * delta)
                else:
                    for t in range(start, stop):
                        q[ld_indices[t]] += <floating> (ld_data[t] * delta)
    return max_delta


def e_step_spike_slab_band(const ld_t[::1] ld_data, const long long[::1] ld_first,
                           const long long[::1] ld_indptr, double ld_scale,
                           const floating[::1] std_beta, const floating[::1] n_per_variant,
                           const floating[::1] var_mu, const floating[::1] logit_prior,
                           floating[::1] gamma, floating[::1] mu, floating[::1] eta,
                           floating[::1] q, double sigma2_eps):
    """``e_step_spike_slab`` for band rows: the neighbour update is a contiguous axpy
    q[first_j : first_j + len_j] += R_j. * delta (the zero diagonal entry adds nothing), which
    the compiler vectorises and which streams only the values, no column indices.

    Returns max |delta eta| over the sweep.
    """
    cdef Py_ssize_t m = std_beta.shape[0]
    cdef Py_ssize_t j, t, start, length
    cdef double mu_j, gamma_j, eta_new, delta, max_delta = 0.0
    cdef floating step
    cdef floating* qp
    cdef const ld_t* dp
    with nogil:
        for j in range(m):
            eta_new = _coordinate(std_beta[j], q[j], n_per_variant[j], var_mu[j], logit_prior[j],
                                  sigma2_eps, &mu_j, &gamma_j)
            delta = eta_new - eta[j]
            mu[j] = <floating> mu_j
            gamma[j] = <floating> gamma_j
            eta[j] = <floating> eta_new
            if fabs(delta) > max_delta:
                max_delta = fabs(delta)
            if delta != 0.0:
                start = ld_indptr[j]
                length = ld_indptr[j + 1] - start
                if length > 0:
                    step = <floating> (delta * ld_scale)
                    qp = &q[ld_first[j]]
                    dp = &ld_data[start]
                    # q[first_j:first_j + length] += ld_data[start:start + length] * step
                    for t in range(length):
                        qp[t] += dp[t] * step
    return max_delta
