# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Elementwise (response, predictor) passes of atlasQTL outside the core loop (pqtl_afcavi.md (c)
steps 7 and 12, (d) term B), fused and run over OpenMP threads (issue 20: with the core loop a
matrix product, these p x q passes of scipy special functions took most of an iteration).

* ``probit_refresh``, step 12: m_st = theta_s + zeta_t, log Phi(+-m) and the two inverse Mills
  ratios phi(m)/Phi(m) and -phi(m)/Phi(-m) that step 7 of the next iteration needs (at c = 1
  they depend on m only, so Z costs no special function). One erfc per entry: the smaller tail
  Phi(-|m|) = erfc(|m|/sqrt 2)/2 directly, the larger as log1p(-tail); beyond |m| = 30 the
  asymptotic series of log Phi.
* ``latent_mean``, step 7 at c = 1: Z = m + g phi/Phi(m) - (1 - g) phi/Phi(-m), the ratios
  floored / capped at -m as in ``moments.truncated_latent_mean``.
* ``elbo_gamma_terms``, the (s, t) sum of ELBO term B, per response (summed by the caller in a
  fixed order, so the value does not depend on the thread count).

NumPy twins: ``_reference.probit_refresh``, ``_reference.latent_mean``,
``_reference.elbo_gamma_terms``.
"""

from cython.parallel import prange
from libc.math cimport erfc, exp, fabs, log, log1p

cdef double SQRT1_2 = 0.70710678118654752440
cdef double LOG_SQRT_2PI = 0.91893853320467274178
#: beyond this |m| the tail erfc(|m|/sqrt 2)/2 is evaluated by its asymptotic series
cdef double ASYMPTOTIC = 30.0


cdef inline double _log_tail(double a, double* tail) noexcept nogil:
    """log Phi(-a) for a >= 0; Phi(-a) itself into ``tail``."""
    cdef double x2, series, term, out
    cdef int k
    if a < ASYMPTOTIC:
        tail[0] = 0.5 * erfc(a * SQRT1_2)
        return log(tail[0])
    # log Phi(-a) = -a^2/2 - log a - log sqrt(2 pi) + log(sum_k (-1)^k (2k - 1)!! / a^(2k)),
    # 16 terms: the last is below 1e-25 for a >= 30
    x2 = 1.0 / (a * a)
    series = 1.0
    term = 1.0
    for k in range(1, 16):
        term = -term * (2 * k - 1) * x2
        series = series + term
    out = -0.5 * a * a - log(a) - LOG_SQRT_2PI + log(series)
    tail[0] = exp(out)
    return out


def probit_refresh(const double[::1] theta, const double[::1] zeta, double[:, ::1] log_phi,
                   double[:, ::1] log_phi_neg, double[:, ::1] mills_pos,
                   double[:, ::1] mills_neg, int n_threads=1):
    """Fill the (q, p) arrays log Phi(m), log Phi(-m), max(phi/Phi(m), -m) and
    min(-phi/Phi(-m), -m) for m_st = theta_s + zeta_t, in place."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s
    cdef double m, lt, lb, log_dens, r, r2, tail, dens
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="static"):
        for s in range(p):
            m = zeta[t] + theta[s]
            tail = 0.0  # assigned in the loop body, so private to each thread
            lt = _log_tail(fabs(m), &tail)
            lb = log1p(-tail)
            if m < 0:
                log_phi[t, s] = lt
                log_phi_neg[t, s] = lb
            else:
                log_phi[t, s] = lb
                log_phi_neg[t, s] = lt
            log_dens = -0.5 * m * m - LOG_SQRT_2PI
            if fabs(m) < ASYMPTOTIC:
                # phi(m) / Phi(+-m) with Phi(-|m|) = tail, Phi(|m|) = 1 - tail: one exp
                dens = exp(log_dens)
                r = dens / (tail if m < 0 else 1.0 - tail)
                r2 = -dens / (1.0 - tail if m < 0 else tail)
            else:  # phi(m) underflows: the ratios in log space
                r = exp(log_dens - log_phi[t, s])
                r2 = -exp(log_dens - log_phi_neg[t, s])
            mills_pos[t, s] = r if r > -m else -m
            mills_neg[t, s] = r2 if r2 < -m else -m


def latent_mean(const double[::1] theta, const double[::1] zeta, const double[:, ::1] g,
                const double[:, ::1] mills_pos, const double[:, ::1] mills_neg,
                double[:, ::1] z, int n_threads=1):
    """Z_st = m_st + g_st mills_pos_st + (1 - g_st) mills_neg_st (step 7 at c = 1), in place."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="static"):
        for s in range(p):
            z[t, s] = (zeta[t] + theta[s] + g[t, s] * mills_pos[t, s]
                       + (1.0 - g[t, s]) * mills_neg[t, s])


def elbo_gamma_terms(const double[:, ::1] g, const double[:, ::1] m2, const double[:, ::1] s2b,
                     const double[:, ::1] log_phi, const double[:, ::1] log_phi_neg,
                     const double[::1] log_tau, const double[::1] tau, double log_sig,
                     double sig2_inv, double eps, double[::1] out, int n_threads=1):
    """out[t] = sum_s of the (beta, gamma) part of ELBO term B (section (d)):

        g (E log sigma^-2 + E log tau_t)/2 - E tau_t E sigma^-2 m2 / 2 + g log Phi(m)
        + (1 - g) log Phi(-m) - g log(g + eps) - (1 - g) log(1 - g + eps) + g (log s2b + 1)/2
    """
    cdef Py_ssize_t q = g.shape[0], p = g.shape[1], t, s
    cdef double acc, gi, half_log, v, log_v
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="static"):
        acc = 0.0
        half_log = 0.5 * (log_sig + log_tau[t])
        v = -1.0
        log_v = 0.0
        for s in range(p):
            gi = g[t, s]
            if s2b[t, s] != v:  # s2b is constant along a response without NAs: one log
                v = s2b[t, s]
                log_v = log(v)
            acc = acc + (gi * half_log - 0.5 * tau[t] * sig2_inv * m2[t, s]
                         + gi * log_phi[t, s] + (1.0 - gi) * log_phi_neg[t, s]
                         - gi * log(gi + eps) - (1.0 - gi) * log(1.0 - gi + eps)
                         + 0.5 * gi * (log_v + 1.0))
        out[t] = acc
