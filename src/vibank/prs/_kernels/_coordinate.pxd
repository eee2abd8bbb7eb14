# cython: language_level=3
"""Variant j's coordinate update of the VIPRS E-step (prs_vi.md section 3), shared by the
sweeps of ``_e_step`` (symmetric rows, incremental q) and ``_upper`` (upper band rows)."""

from libc.math cimport exp

from vibank.prs._kernels._ld_rows cimport floating

cdef enum:
    _MAX_K = 32


cdef inline double _coordinate(Py_ssize_t j, Py_ssize_t n_comp, double r, double log_null,
                               const floating[:, ::1] var_mu, const floating[:, ::1] log_prior,
                               floating[:, ::1] gamma, floating[:, ::1] mu) noexcept nogil:
    """Variant j's update of mu_j., gamma_j. (in place); returns the new eta_j. Overflow-free:
    the softmax subtracts the largest log-odds first."""
    cdef double u[_MAX_K]
    cdef double m_k, top = log_null, total, eta = 0.0
    cdef Py_ssize_t k
    for k in range(n_comp):
        m_k = var_mu[j, k] * r
        mu[j, k] = <floating> m_k
        u[k] = log_prior[j, k] + m_k * m_k / (2.0 * var_mu[j, k])
        if u[k] > top:
            top = u[k]
    total = exp(log_null - top)
    for k in range(n_comp):
        u[k] = exp(u[k] - top)
        total = total + u[k]
    for k in range(n_comp):
        gamma[j, k] = <floating> (u[k] / total)
        eta = eta + (u[k] / total) * (var_mu[j, k] * r)
    return eta
