# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Elementwise (response, predictor) passes of atlasQTL outside the core loop (pqtl_afcavi.md (c)
steps 7 and 12, (d) term B), fused and run over OpenMP threads (issue 20: with the core loop a
matrix product, these p x q passes of scipy special functions took most of an iteration).

* ``probit_refresh``, step 12: m_st = theta_s + zeta_t; the log-odds log Phi(m) - log Phi(-m)
  that the core loop reads, the two inverse Mills ratios phi(m)/Phi(m) and -phi(m)/Phi(-m) that
  step 7 of the next iteration needs (at c = 1 they depend on m only, so Z costs no special
  function), and per response the probit part of ELBO term B, sum_s g log Phi(m) + (1 - g)
  log Phi(-m), with the current g (the g the ELBO of this iteration sees), so that log Phi(+-m)
  are never stored. The smaller tail Phi(-|m|) = erfcx(|m|/sqrt 2) exp(-m^2/2) / 2, its log
  taken from erfcx (scipy's Faddeeva erfcx, through its C-API capsule), the larger as
  log1p(-tail): one erfcx, one exp, one log and one log1p per entry, and no underflow of
  log Phi or of the Mills ratios at any |m|.
* ``latent_sums``, step 7 at c = 1: Z = m + g phi/Phi(m) - (1 - g) phi/Phi(-m), the ratios
  floored / capped at -m as in ``moments.truncated_latent_mean``, summed over predictors and
  over responses (all that steps 9 and 11 read; Z is never stored); ``latent_sums_annealed``
  the same at c < 1, with the ratios at sqrt(c) m computed in the pass.
* ``local_sums``, per response the sums of g, m2, diag m2, bbar Y'X, GB bbar and diag bbar^2
  (steps 1-2 and the ELBO), in one pass after the core loop.
* ``elbo_gamma_terms``, the (s, t) sum of ELBO term B, per response (summed by the caller in a
  fixed order, so the value does not depend on the thread count), from g, s2b and the per-response
  sums of m2 and of the probit part: one pass over g and s2b.
* ``relevance``, r_t = 1 - prod_s (1 - g_st), the response weights of adaptive focus (section
  (f)), one log1p per entry (a partial iteration's NumPy version cost as much as a sixth of the
  iteration at q = 1000).

Every pass hands out responses (or blocks of them) to the threads dynamically: on a shared
machine a thread that is descheduled in the middle of a static share holds the whole pass at its
barrier. Each output entry is computed by one thread in a fixed order, so the results do not
depend on the thread count or the schedule.

NumPy twins: ``_reference.probit_refresh``, ``_reference.latent_sums`` (both),
``_reference.local_sums``, ``_reference.elbo_gamma_terms``, ``focus.relevance``.
"""

from cython.parallel import prange
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.math cimport exp, expm1, fabs, log, log1p, sqrt

from scipy.special import cython_special

ctypedef double (*erfcx_t)(double, int) noexcept nogil

# scipy's scaled complementary error function erfcx(x) = exp(x^2) erfc(x) (Faddeeva package:
# Chebyshev fits, relative error ~1e-15 for all x), through its C-API capsule (the real
# specialisation of the fused cpdef; the int is Cython's skip-dispatch flag)
cdef object _capsule = cython_special.__pyx_capi__["__pyx_fuse_1erfcx"]
cdef erfcx_t _erfcx = <erfcx_t>PyCapsule_GetPointer(_capsule, PyCapsule_GetName(_capsule))

cdef double SQRT1_2 = 0.70710678118654752440
#: sqrt(2 / pi)
cdef double SQRT_2_PI = 0.79788456080286535588
cdef double INV_SQRT_2PI = 0.39894228040143267794


def probit_refresh(const double[::1] theta, const double[::1] zeta, const double[:, ::1] g,
                   double[:, ::1] lpd, double[:, ::1] mills_pos, double[:, ::1] mills_neg,
                   double[::1] probit_sum, int n_threads=1):
    """Fill the (q, p) arrays log Phi(m) - log Phi(-m), max(phi/Phi(m), -m) and
    min(-phi/Phi(-m), -m) for m_st = theta_s + zeta_t, and the (q,) sums over s of
    g log Phi(m) + (1 - g) log Phi(-m), in place."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s
    cdef double m, a, e, k, lt, lb, lp, lpn, r, r2, tail, acc
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic", chunksize=8):
        acc = 0.0
        for s in range(p):
            m = zeta[t] + theta[s]
            a = fabs(m)
            # the smaller tail Phi(-a) = erfcx(a / sqrt 2) exp(-a^2 / 2) / 2, in log space from
            # erfcx (no underflow), the larger as log1p(-tail)
            e = _erfcx(a * SQRT1_2, 0)
            k = exp(-0.5 * a * a)
            tail = 0.5 * e * k
            lt = log(0.5 * e) - 0.5 * a * a
            lb = log1p(-tail)
            if m < 0:
                lp = lt
                lpn = lb
            else:
                lp = lb
                lpn = lt
            lpd[t, s] = lp - lpn
            acc = acc + (g[t, s] * lp + (1.0 - g[t, s]) * lpn)
            # phi(a) / Phi(-a) = sqrt(2 / pi) / erfcx(a / sqrt 2) (no exp: finite for any a),
            # phi(a) / Phi(a) = k / (sqrt(2 pi) (1 - tail)); Phi(m) is the smaller tail if m < 0
            if m < 0:
                r = SQRT_2_PI / e
                r2 = -INV_SQRT_2PI * k / (1.0 - tail)
            else:
                r = INV_SQRT_2PI * k / (1.0 - tail)
                r2 = -SQRT_2_PI / e
            mills_pos[t, s] = r if r > -m else -m
            mills_neg[t, s] = r2 if r2 < -m else -m
        probit_sum[t] = acc


#: responses per partial column sum of ``latent_sums`` (fixed, so that the sums do not depend
#: on the thread count)
cdef Py_ssize_t _ROWS = 64
ROWS = _ROWS


def latent_sums(const double[::1] theta, const double[::1] zeta, const double[:, ::1] g,
                const double[:, ::1] mills_pos, const double[:, ::1] mills_neg,
                double[::1] z_row, double[:, ::1] z_col_parts, int n_threads=1):
    """Sums of Z_st = m_st + g_st mills_pos_st + (1 - g_st) mills_neg_st (step 7 at c = 1),
    the only use of Z (steps 9 and 11): z_row[t] = sum_s Z_st, and z_col_parts[b, s] = sum of
    Z_st over the responses t of block b (ROWS each; the caller sums the blocks in order)."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double z, acc
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for t in range(b * _ROWS, min((b + 1) * _ROWS, q)):
            acc = 0.0
            for s in range(p):
                z = (zeta[t] + theta[s] + g[t, s] * mills_pos[t, s]
                     + (1.0 - g[t, s]) * mills_neg[t, s])
                acc = acc + z
                z_col_parts[b, s] += z
            z_row[t] = acc


cdef inline double _ratio_pos(double u) noexcept nogil:
    """max(phi(u) / Phi(u), -u), through erfcx as in ``probit_refresh``."""
    cdef double a = fabs(u), e = _erfcx(a * SQRT1_2, 0), r
    if u < 0:
        r = SQRT_2_PI / e
    else:
        r = INV_SQRT_2PI * exp(-0.5 * a * a) / (1.0 - 0.5 * e * exp(-0.5 * a * a))
    return r if r > -u else -u


def latent_sums_annealed(const double[::1] theta, const double[::1] zeta,
                         const double[:, ::1] g, double c, double[::1] z_row,
                         double[:, ::1] z_col_parts, int n_threads=1):
    """``latent_sums`` under annealing (c < 1): the latent has variance 1/c, so with
    U = sqrt(c) m, Z = m + [g max(phi(U)/Phi(U), -U) + (1 - g) min(-phi(U)/Phi(-U), -U)] / sqrt(c)
    (``moments.truncated_latent_mean``); the ratios computed here, as they are not cached."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double z, acc, m, u, sc = sqrt(c)
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for t in range(b * _ROWS, min((b + 1) * _ROWS, q)):
            acc = 0.0
            for s in range(p):
                m = zeta[t] + theta[s]
                u = sc * m
                # min(-phi(U)/Phi(-U), -U) = -max(phi(-U)/Phi(-U), U)
                z = m + (g[t, s] * _ratio_pos(u) - (1.0 - g[t, s]) * _ratio_pos(-u)) / sc
                acc = acc + z
                z_col_parts[b, s] += z
            z_row[t] = acc


def local_sums(const double[:, ::1] g, const double[:, ::1] mu, const double[:, ::1] s2b,
               const double[:, ::1] diag, const double[:, ::1] bbar, const double[:, ::1] ytx,
               const double[:, ::1] gb, double[:, ::1] out, int n_threads=1):
    """Per response t, the sums over s that steps 1-2 and the ELBO need (the second moments
    m2 = g (mu^2 + s2b) are never stored), into the rows of ``out`` (6, q):

        0: sum g, 1: sum m2, 2: sum diag m2, 3: sum bbar YtX, 4: sum GB bbar, 5: sum diag bbar^2
    """
    cdef Py_ssize_t q = g.shape[0], p = g.shape[1], t, s
    cdef double a0, a1, a2, a3, a4, a5, m2, b
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic", chunksize=8):
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        a4 = 0.0
        a5 = 0.0
        for s in range(p):
            m2 = g[t, s] * (mu[t, s] * mu[t, s] + s2b[t, s])
            b = bbar[t, s]
            a0 = a0 + g[t, s]
            a1 = a1 + m2
            a2 = a2 + diag[t, s] * m2
            a3 = a3 + b * ytx[t, s]
            a4 = a4 + gb[t, s] * b
            a5 = a5 + diag[t, s] * b * b
        out[0, t] = a0
        out[1, t] = a1
        out[2, t] = a2
        out[3, t] = a3
        out[4, t] = a4
        out[5, t] = a5


def elbo_gamma_terms(const double[:, ::1] g, const double[:, ::1] s2b,
                     const double[::1] m2_sum, const double[::1] probit_sum,
                     const double[::1] log_tau, const double[::1] tau, double log_sig,
                     double sig2_inv, double eps, double[::1] out, int n_threads=1):
    """out[t] = sum_s of the (beta, gamma) part of ELBO term B (section (d)):

        g (E log sigma^-2 + E log tau_t)/2 - E tau_t E sigma^-2 m2 / 2 + g log Phi(m)
        + (1 - g) log Phi(-m) - g log(g + eps) - (1 - g) log(1 - g + eps) + g (log s2b + 1)/2

    with sum_s m2 = ``m2_sum[t]`` and sum_s g log Phi(m) + (1 - g) log Phi(-m) = ``probit_sum[t]``
    (from ``probit_refresh``) given: the pass reads only g and s2b.
    """
    cdef Py_ssize_t q = g.shape[0], p = g.shape[1], t, s
    cdef double acc, g_sum, gi, v, log_v
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic", chunksize=8):
        acc = 0.0
        g_sum = 0.0
        v = -1.0
        log_v = 0.0
        for s in range(p):
            gi = g[t, s]
            if s2b[t, s] != v:  # s2b is constant along a response without NAs: one log
                v = s2b[t, s]
                log_v = log(v)
            g_sum = g_sum + gi
            acc = acc + (0.5 * gi * log_v - gi * log(gi + eps) - (1.0 - gi) * log(1.0 - gi + eps))
        out[t] = (acc + g_sum * 0.5 * (log_sig + log_tau[t] + 1.0)
                  - 0.5 * tau[t] * sig2_inv * m2_sum[t] + probit_sum[t])


def relevance(const double[:, ::1] g, double[::1] out, int n_threads=1):
    """out[t] = 1 - prod_s (1 - g_st), the probability that response t has an associated
    predictor (section (f), selection rule 1), as -expm1(sum_s log1p(-min(g_st, 1 - 1e-16)))."""
    cdef Py_ssize_t q = g.shape[0], p = g.shape[1], t, s
    cdef double acc, gi
    for t in prange(q, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic", chunksize=8):
        acc = 0.0
        for s in range(p):
            gi = g[t, s]
            if gi > 1.0 - 1e-16:
                gi = 1.0 - 1e-16
            acc = acc + log1p(-gi)
        out[t] = -expm1(acc)
