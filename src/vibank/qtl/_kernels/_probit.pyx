# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Elementwise (response, predictor) passes of atlasQTL outside the core loop (pqtl_afcavi.md (c)
steps 7 and 12, (d) term B), fused and run over OpenMP threads (issue 20: with the core loop a
matrix product, these p x q passes of scipy special functions took most of an iteration).

* ``probit_refresh``, step 12: m_st = theta_s + zeta_t; the two inverse Mills ratios
  phi(m)/Phi(m) and -phi(m)/Phi(-m) and the sums of Z = m + g phi/Phi(m) - (1 - g) phi/Phi(-m)
  over predictors and over responses that step 7 of the next iteration needs at c = 1 (with the
  g before that iteration's sweep; ``latent_update`` adds the change of the swept responses, Z
  being linear in g) and, when asked (an ELBO is due, or the next sweep
  covers every response), the log-odds log Phi(m) - log Phi(-m) that the core loop reads and per
  response the probit part of ELBO term B, sum_s g log Phi(m) + (1 - g) log Phi(-m), with the
  current g, so that log Phi(+-m) are never stored. The smaller tail Phi(-|m|) =
  erfcx(|m|/sqrt 2) exp(-m^2/2) / 2, its log taken from erfcx (scipy's Faddeeva erfcx, through
  its C-API capsule), the larger as log1p(-tail): one erfcx and one exp per entry, one log and
  one log1p more with the log-odds, and no underflow of log Phi or of the Mills ratios at any
  |m|. ``probit_lpd`` writes the same log-odds for the rows a partial sweep reads.
* ``latent_update``, step 7 at c = 1, the Z sums moved by the responses a sweep changed (the
  ratios floored / capped at -m as in ``moments.truncated_latent_mean``; steps 9 and 11 read
  nothing else of Z, which is never stored); ``latent_sums_annealed`` the sums at c < 1, with
  the ratios at sqrt(c) m computed in the pass.
* ``response_sums``, per response the sums of g, g mu^2, diag g mu^2, diag g, bbar Y'X, GB bbar
  and diag bbar^2 (steps 1-2 and the ELBO), and ``entropy_sums``, the entropy of q(gamma) per
  response (ELBO term B): functions of one response's own block, computed for the responses a
  sweep changed only (adaptive focus; issue 20) and cached for the others.
* ``relevance``, r_t = 1 - prod_s (1 - g_st), the response weights of adaptive focus (section
  (f)), one log1p per entry, likewise for the responses swept since it was last computed.

Every pass hands out responses (or blocks of them) to the threads dynamically: on a shared
machine a thread that is descheduled in the middle of a static share holds the whole pass at its
barrier. Each output entry is computed by one thread in a fixed order, so the results do not
depend on the thread count or the schedule.

NumPy twins: ``_reference.probit_refresh`` (also of ``probit_lpd``), ``_reference.latent_sums``
(of ``probit_refresh``'s sums, ``latent_update`` and ``latent_sums_annealed``), ``_reference.response_sums``, ``_reference.entropy_sums``, ``focus.relevance``.
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


cdef inline double _log_tail(double a, double e) noexcept nogil:
    """log Phi(-a) for a = |m| >= 0 and e = erfcx(a / sqrt 2): the smaller tail
    Phi(-a) = e exp(-a^2 / 2) / 2 in log space (no underflow at any a)."""
    return log(0.5 * e) - 0.5 * a * a


cdef inline double _log_body(double e, double k) noexcept nogil:
    """log Phi(a) = log1p(-Phi(-a)) for k = exp(-a^2 / 2): the larger probability."""
    return log1p(-0.5 * e * k)


#: responses per partial column sum of Z (fixed, so that the sums do not depend on the thread
#: count)
cdef Py_ssize_t _ROWS = 64
ROWS = _ROWS


def probit_refresh(const double[::1] theta, const double[::1] zeta, const double[:, ::1] g,
                   double[:, ::1] lpd, double[:, ::1] mills_diff, double[::1] z_row,
                   double[:, ::1] z_col_parts, double[::1] probit_sum, bint logs=True,
                   int n_threads=1):
    """Step 12 for m_st = theta_s + zeta_t, in place: the Mills ratios mp = max(phi/Phi(m), -m)
    and mn = min(-phi/Phi(-m), -m), their difference ``mills_diff`` (q, p), and the sums of
    Z = m + g mp + (1 - g) mn (step 7 of the next iteration at c = 1, with the current g) over
    predictors, z_row[t], and over the responses of each block of ROWS, z_col_parts[b, s] (the
    caller sums the blocks in order); ``latent_update`` then adds what the next sweep changes.
    If ``logs``, also log Phi(m) - log Phi(-m) and the (q,) sums over s of g log Phi(m) +
    (1 - g) log Phi(-m); without (no ELBO due and a partial sweep next) ``lpd`` and
    ``probit_sum`` are left as they are: ``probit_lpd`` fills the rows the next sweep reads,
    with the same values."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double m, a, e, k, lp, lpn, r, r2, tail, acc, z, zacc
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for t in range(b * _ROWS, min((b + 1) * _ROWS, q)):
            acc = 0.0
            zacc = 0.0
            for s in range(p):
                m = zeta[t] + theta[s]
                a = fabs(m)
                e = _erfcx(a * SQRT1_2, 0)
                k = exp(-0.5 * a * a)
                tail = 0.5 * e * k
                if logs:
                    lp = _log_tail(a, e)
                    lpn = _log_body(e, k)
                    if m >= 0:  # Phi(m) is the larger probability
                        lp, lpn = lpn, lp
                    lpd[t, s] = lp - lpn
                    acc = acc + (g[t, s] * lp + (1.0 - g[t, s]) * lpn)
                # phi(a) / Phi(-a) = sqrt(2 / pi) / erfcx(a / sqrt 2) (no exp: finite for any
                # a), phi(a) / Phi(a) = k / (sqrt(2 pi) (1 - tail)); Phi(m) is the smaller tail
                # if m < 0
                if m < 0:
                    r = SQRT_2_PI / e
                    r2 = -INV_SQRT_2PI * k / (1.0 - tail)
                else:
                    r = INV_SQRT_2PI * k / (1.0 - tail)
                    r2 = -SQRT_2_PI / e
                r = r if r > -m else -m
                r2 = r2 if r2 < -m else -m
                mills_diff[t, s] = r - r2
                z = m + g[t, s] * r + (1.0 - g[t, s]) * r2
                zacc = zacc + z
                z_col_parts[b, s] += z
            z_row[t] = zacc
            if logs:
                probit_sum[t] = acc


def latent_update(const double[:, ::1] g, const double[:, ::1] g_old,
                  const long long[::1] units, const double[:, ::1] mills_diff,
                  double[::1] z_row, double[:, ::1] z_col_parts, int n_threads=1):
    """Step 7 at c = 1 after a sweep of ``units``: Z = m + mn + g (mp - mn) is linear in g, so
    the sums ``probit_refresh`` left (with the g before the sweep, ``g_old``, (len(units), p))
    move by (g - g_old)(mp - mn): z_row[t] += sum_s of it in place, and z_col_parts[b, s] = its
    sum over the units of block b (ROWS units each, summed by the caller in order)."""
    cdef Py_ssize_t n_units = units.shape[0], p = g.shape[1], i, t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double dz, acc
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for i in range(b * _ROWS, min((b + 1) * _ROWS, n_units)):
            t = units[i]
            acc = 0.0
            for s in range(p):
                dz = (g[t, s] - g_old[i, s]) * mills_diff[t, s]
                acc = acc + dz
                z_col_parts[b, s] += dz
            z_row[t] += acc


def probit_lpd(const double[::1] theta, const double[::1] zeta, const long long[::1] units,
               double[:, ::1] lpd, int n_threads=1):
    """lpd[t, s] = log Phi(m_st) - log Phi(-m_st) for the responses ``units`` only (the rows a
    partial sweep reads), the values ``probit_refresh`` writes with ``logs``."""
    cdef Py_ssize_t n_units = units.shape[0], p = theta.shape[0], i, t, s
    cdef double m, a, e, lt, lb
    for i in prange(n_units, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic",
                    chunksize=8):
        t = units[i]
        for s in range(p):
            m = zeta[t] + theta[s]
            a = fabs(m)
            e = _erfcx(a * SQRT1_2, 0)
            lt = _log_tail(a, e)
            lb = _log_body(e, exp(-0.5 * a * a))
            lpd[t, s] = lt - lb if m < 0 else lb - lt


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
    """Sums of Z (as ``probit_refresh`` leaves them at c = 1) under annealing (c < 1), with
    the current g: the latent has variance 1/c, so with U = sqrt(c) m, Z = m + [g max(phi(U)/Phi(U), -U) + (1 - g) min(-phi(U)/Phi(-U), -U)] / sqrt(c)
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


def response_sums(const double[:, ::1] g, const double[:, ::1] mu, const double[:, ::1] diag,
                  const double[:, ::1] bbar, const double[:, ::1] ytx, const double[:, ::1] gb,
                  const long long[::1] units, double[:, ::1] out, int n_threads=1):
    """For each response t in ``units``, the sums over s that depend on its own block only
    (g, mu, bbar, GB: what a sweep of t changes), into column t of ``out`` (7, q):

        0: sum g, 1: sum g mu^2, 2: sum diag g mu^2, 3: sum diag g,
        4: sum bbar YtX, 5: sum GB bbar, 6: sum diag bbar^2

    Steps 1-2 and the ELBO read m2 = g (mu^2 + s2b) only through sum m2 = (1) + sum g s2b and
    sum diag m2 = (2) + sum diag g s2b; without NAs s2b_t is constant along t, so these are
    (1) + s2b_t (0) and (2) + s2b_t (3) (``AtlasQTL._local_sums``): a response the core loop
    did not sweep keeps its column."""
    cdef Py_ssize_t n_units = units.shape[0], p = g.shape[1], i, t, s
    cdef double a0, a1, a2, a3, a4, a5, a6, gm2, dg, b
    for i in prange(n_units, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic",
                    chunksize=8):
        t = units[i]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        a4 = 0.0
        a5 = 0.0
        a6 = 0.0
        for s in range(p):
            gm2 = g[t, s] * mu[t, s] * mu[t, s]
            dg = diag[t, s]
            b = bbar[t, s]
            a0 = a0 + g[t, s]
            a1 = a1 + gm2
            a2 = a2 + dg * gm2
            a3 = a3 + dg * g[t, s]
            a4 = a4 + b * ytx[t, s]
            a5 = a5 + gb[t, s] * b
            a6 = a6 + dg * b * b
        out[0, t] = a0
        out[1, t] = a1
        out[2, t] = a2
        out[3, t] = a3
        out[4, t] = a4
        out[5, t] = a5
        out[6, t] = a6


def entropy_sums(const double[:, ::1] g, const long long[::1] units, double eps,
                 double[::1] out, int n_threads=1):
    """out[t] = sum_s -g log(g + eps) - (1 - g) log(1 - g + eps) for t in ``units`` (the
    entropy of q(gamma) in ELBO term B, section (d)): two logs per pair, a function of g alone,
    so only the responses swept since the last ELBO need it again."""
    cdef Py_ssize_t n_units = units.shape[0], p = g.shape[1], i, t, s
    cdef double acc, gi
    for i in prange(n_units, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic",
                    chunksize=8):
        t = units[i]
        acc = 0.0
        for s in range(p):
            gi = g[t, s]
            acc = acc - gi * log(gi + eps) - (1.0 - gi) * log(1.0 - gi + eps)
        out[t] = acc


def relevance(const double[:, ::1] g, const long long[::1] units, double[::1] out,
              int n_threads=1):
    """out[t] = 1 - prod_s (1 - g_st) for t in ``units``, the probability that response t has an
    associated predictor (section (f), selection rule 1), as
    -expm1(sum_s log1p(-min(g_st, 1 - 1e-16))); a function of g_t alone."""
    cdef Py_ssize_t n_units = units.shape[0], p = g.shape[1], i, t, s
    cdef double acc, gi
    for i in prange(n_units, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic",
                    chunksize=8):
        t = units[i]
        acc = 0.0
        for s in range(p):
            gi = g[t, s]
            if gi > 1.0 - 1e-16:
                gi = 1.0 - 1e-16
            acc = acc + log1p(-gi)
        out[t] = -expm1(acc)
