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
  erfcx(|m|/sqrt 2) exp(-m^2/2) / 2, its log taken from erfcx, the larger as log(1 - tail):
  one erfcx and one exp per entry, two logs more with the log-odds, and no underflow of log Phi
  or of the Mills ratios at any |m|. erfcx, exp and log are inline C in ``_probit_math.h``
  (erfcx a polynomial in 4 / (4 + x) below x = 8 and a continued fraction above, within 2e-15
  of scipy's, both ~9e-16 from mpmath; exp and log within 1 ulp of libm's), branch-free, so
  that GCC vectorises each response's loop over predictors (AVX2 + FMA where the CPU has them,
  SSE2 otherwise). Step 12 at p = q = 1,000, one thread, per pair: 46 -> 11 ns with the
  log-odds, 36 -> 6 ns without (before: scipy's erfcx through a function pointer and libm's
  exp, log and log1p; issue 20). ``probit_lpd`` writes the same log-odds for the rows a
  partial sweep reads (37 -> 10 ns per pair).
* ``latent_update``, step 7 at c = 1, the Z sums moved by the responses a sweep changed (the
  ratios floored / capped at -m as in ``moments.truncated_latent_mean``; steps 9 and 11 read
  nothing else of Z, which is never stored); ``latent_sums_annealed`` the sums at c < 1, with
  the ratios at sqrt(c) m computed in the pass (59 -> 6 ns per pair with the inline C).
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
(of ``probit_refresh``'s sums, ``latent_update`` and ``latent_sums_annealed``),
``_reference.response_sums``, ``_reference.entropy_sums``, ``focus.relevance``; of the inline
functions (``special``), scipy.special.erfcx and NumPy's exp, log and log1p.
"""

from cython.parallel import prange
from libc.math cimport expm1, log, log1p, sqrt


cdef extern from "_probit_math.h" nogil:
    double vb_probit_row(const double *theta, double zeta, const double *g, Py_ssize_t p,
                         double *mills_diff, double *z_col, double *lpd, double *probit)
    void vb_lpd_row(const double *theta, double zeta, Py_ssize_t p, double *lpd)
    double vb_annealed_row(const double *theta, double zeta, const double *g, Py_ssize_t p,
                           double sqrt_c, double *z_col)
    void vb_map(int which, const double *x, Py_ssize_t n, double *out)


#: responses per partial column sum of Z (fixed, so that the sums do not depend on the thread
#: count)
cdef Py_ssize_t _ROWS = 64
ROWS = _ROWS
#: ``special``'s functions, in the order of vb_map's ``which``
SPECIAL = ("erfcx", "exp", "log", "log1m")


def special(str name, const double[::1] x, double[::1] out):
    """out = erfcx(x) (x >= 0), exp(x), log(x) (x > 0) or log(1 - x) (0 <= x <= 1/2), as the
    row kernels compute them (``_probit_math.h``); for the tests against scipy and NumPy."""
    if name not in SPECIAL or out.shape[0] != x.shape[0]:
        raise ValueError(f"special: name one of {SPECIAL} and out as long as x")
    if x.shape[0]:  # out[:] = f(x)
        vb_map(SPECIAL.index(name), &x[0], x.shape[0], &out[0])


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
    with the same values. One response is one call of ``vb_probit_row`` (vectorised over s)."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double *lpd_row
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for t in range(b * _ROWS, min((b + 1) * _ROWS, q)):
            # m = zeta[t] + theta; mills_diff[t] = mp - mn; z = m + g[t] mp + (1 - g[t]) mn
            # z_col_parts[b] += z; z_row[t] = z.sum(); with logs lpd[t] = lp - lpn and
            # probit_sum[t] = (g[t] lp + (1 - g[t]) lpn).sum() (lp, lpn = log Phi(+-m))
            lpd_row = &lpd[t, 0] if logs else NULL
            z_row[t] = vb_probit_row(&theta[0], zeta[t], &g[t, 0], p, &mills_diff[t, 0],
                                     &z_col_parts[b, 0], lpd_row, &probit_sum[t])


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
    cdef Py_ssize_t n_units = units.shape[0], p = theta.shape[0], i, t
    for i in prange(n_units, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic",
                    chunksize=8):
        t = units[i]
        # lpd[t] = log_ndtr(zeta[t] + theta) - log_ndtr(-(zeta[t] + theta))
        vb_lpd_row(&theta[0], zeta[t], p, &lpd[t, 0])


def latent_sums_annealed(const double[::1] theta, const double[::1] zeta,
                         const double[:, ::1] g, double c, double[::1] z_row,
                         double[:, ::1] z_col_parts, int n_threads=1):
    """Sums of Z (as ``probit_refresh`` leaves them at c = 1) under annealing (c < 1), with
    the current g: the latent has variance 1/c, so with U = sqrt(c) m,
    Z = m + [g max(phi(U)/Phi(U), -U) + (1 - g) min(-phi(U)/Phi(-U), -U)] / sqrt(c)
    (``moments.truncated_latent_mean``); the ratios computed here, as they are not cached."""
    cdef Py_ssize_t q = zeta.shape[0], p = theta.shape[0], t, s, b
    cdef Py_ssize_t n_blocks = z_col_parts.shape[0]
    cdef double sc = sqrt(c)
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        for s in range(p):
            z_col_parts[b, s] = 0.0
        for t in range(b * _ROWS, min((b + 1) * _ROWS, q)):
            # z = truncated_latent_mean(zeta[t] + theta, g[t], c); z_col_parts[b] += z;
            # z_row[t] = z.sum()
            z_row[t] = vb_annealed_row(&theta[0], zeta[t], &g[t, 0], p, sc,
                                       &z_col_parts[b, 0])


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
