# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""One sweep of the spike-and-slab Gibbs sampler on summary statistics (prs_vi.md section 10).

The sampler targets the RSS posterior: b | beta ~ N(R beta, s2e R / N), beta_j ~ pi N(0, s2b) +
(1 - pi) delta_0. For variant j, with q_j = sum_{k != j} R_jk beta_k kept current by incremental
updates (the sampled effects play the part of eta in the VI E-step):

    mu_j   = v_j N_j (b_j - q_j) / s2e                 (v_j = s2e / (N_j + s2e / s2b), precomputed)
    u_j    = lpo_j + mu_j^2 / (2 v_j)                   (lpo_j = logit(pi) + 0.5 log(v_j / s2b))
    s_j    = [uniform_j < sigmoid(u_j)]                (beta_j integrated out: collapsed draw)
    beta_j = s_j (mu_j + sqrt(v_j) normal_j)           (then beta_j | s_j)
    q_k   += R_kj (beta_j(new) - beta_j(old))          for every neighbour k of j

The random numbers come in as arrays (``uniform`` and ``normal``, one of each per variant and
sweep), drawn by the caller with numpy.random.Generator: the NumPy twin
``vibank.prs._reference_gibbs.gibbs_sweep`` then reproduces the chain exactly, and since variant j
always uses entry j, the result does not depend on the number of threads.

The LD is a ``vibank.ld.LDRows``, as in ``_e_step`` (R without its diagonal in CSR or band
rows, float32/float64 or int8/int16 times its scale), with the same row apply
(``_ld_rows.apply_row``). Its independent ``segments`` (LD blocks) run on ``n_threads`` OpenMP
threads, never more threads than segments.
"""

import numpy as np
from cython.parallel import prange
from libc.math cimport exp, sqrt

from vibank.prs._kernels._ld_rows cimport apply_row, floating, index_t, ld_t


cdef inline double _sigmoid(double u) noexcept nogil:
    """1 / (1 + exp(-u)) without overflow for any |u|."""
    cdef double e
    if u >= 0.0:
        return 1.0 / (1.0 + exp(-u))
    e = exp(u)
    return e / (1.0 + e)


def gibbs_sweep(ld, std_beta, n_per_variant, var_mu, log_prior_odds, uniform, normal, beta,
                included, q, double sigma2_eps, int n_threads=1):
    """One Gibbs sweep in variant order, in place on beta, included and q.

    Parameters
    ----------
    ld : ``vibank.ld.LDRows``, R without its diagonal (its rows, scale and segments)
    std_beta : b_j; n_per_variant : N_j
    var_mu : v_j = s2e / (N_j + s2e / s2b), the conditional variance of an included beta_j
    log_prior_odds : logit(pi) + 0.5 log(v_j / s2b), the part of logit(gamma_j) without mu_j
    uniform, normal : (M,) U(0, 1) and N(0, 1) draws for this sweep (float64), entry j for
        variant j
    beta : sampled effects; included : s_j (uint8, 0 or 1); q = R_offdiag beta
    sigma2_eps : s2e
    n_threads : OpenMP threads over the segments

    Returns
    -------
    n_included : number of variants with s_j = 1 after the sweep
    """
    return _sweep(*ld.kernel_arrays(), std_beta, n_per_variant, var_mu, log_prior_odds, uniform,
                  normal, beta, included, q, sigma2_eps, n_threads)


def _sweep(const ld_t[::1] ld_data, const index_t[::1] ld_indices,
           const long long[::1] ld_first, const long long[::1] ld_indptr, double ld_scale,
           const long long[::1] segments, const floating[::1] std_beta,
           const floating[::1] n_per_variant, const floating[::1] var_mu,
           const floating[::1] log_prior_odds, const double[::1] uniform,
           const double[::1] normal, floating[::1] beta, unsigned char[::1] included,
           floating[::1] q, double sigma2_eps, int n_threads=1):
    """The sweep of :func:`gibbs_sweep` on the LD's arrays (``LDRows.kernel_arrays``)."""
    cdef Py_ssize_t n_seg = segments.shape[0] - 1
    cdef bint band = ld_first.shape[0] > 0
    cdef Py_ssize_t s, j
    cdef double mu, beta_new, delta
    cdef long long count
    cdef long long[::1] seg_counts = np.zeros(n_seg, dtype=np.int64)
    for s in prange(n_seg, nogil=True, num_threads=max(min(n_threads, n_seg), 1),
                    schedule="dynamic"):
        count = 0
        for j in range(segments[s], segments[s + 1]):
            mu = ((<double> var_mu[j]) * n_per_variant[j] * (<double> std_beta[j] - q[j])
                  / sigma2_eps)
            if uniform[j] < _sigmoid(log_prior_odds[j] + mu * mu / (2.0 * var_mu[j])):
                included[j] = 1
                count = count + 1
                beta_new = mu + sqrt(<double> var_mu[j]) * normal[j]
            else:
                included[j] = 0
                beta_new = 0.0
            delta = beta_new - beta[j]
            beta[j] = <floating> beta_new
            if delta == 0.0:
                continue
            apply_row(j, delta * ld_scale, band, ld_data, ld_indices, ld_first, ld_indptr, q)
        seg_counts[s] = count
    return int(np.sum(seg_counts))
