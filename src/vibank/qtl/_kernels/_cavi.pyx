# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Core CAVI loop of atlasQTL (pqtl_afcavi.md section (c), step 5), over the Gram matrix.

Response-major: for each selected response t, every predictor s in the order ``order`` gets

    r      = YtX[t, s] - (GB[t, s] - G_t[s, s] * bbar[t, s])         x_s'(y_t - sum_{l != s} x_l bbar_lt)
    mu     = c * s2b[t, s] * tau[t] * r                               (= r / (G_t[s, s] + E sigma^-2))
    logit  = c * (logPhi(m) - logPhi(-m) + mu^2 / (2 s2b) + log(s2b) / 2 + cst[t])
    g      = 1 / (1 + exp(-logit))                                    (overflow-safe)
    bbar   = g * mu
    GB[t] += (bbar(new) - bbar(old)) * G_t[s, :]                      O(p) per predictor

with cst[t] = (E log tau_t + E log sigma^-2) / 2 and G_t = G - C_t (C_t the Gram matrix of the
rows where y_t is missing; none when ``miss_index[t] < 0``). The whole log-odds, including the
log Phi and slab-normaliser terms, is multiplied by the inverse temperature c: this is the
reference implementation's annealed update (spec (k.3)), kept so that ELBOs are comparable.

Within step 5 everything a response reads besides its own row (tau, s2b, m, E sigma^-2) is held
fixed, and the update of response t writes only row t of g, mu, bbar and GB: responses are
conditionally independent inside the loop. They therefore run in parallel over OpenMP threads
(prange), and the result depends neither on the thread count nor on the response order; only
the predictor order matters. The NumPy twin is ``vibank.qtl._reference.cavi_sweep``.
"""

from cython.parallel import prange
from libc.math cimport exp, log, log1p


cdef inline double _sigmoid(double x) noexcept nogil:
    """1 / (1 + exp(-x)) as exp(-log1pexp(-x)), without overflow for large |x|."""
    cdef double z = -x
    if z > 0:
        return exp(-(z + log1p(exp(-z))))
    return exp(-log1p(exp(z)))


cdef enum:
    # responses swept together: each row G[s, :] is read once from memory for the whole block
    # (the loop is memory-bound otherwise: q passes over the p x p Gram matrix per sweep)
    _BLOCK = 16


cdef extern from "../../prs/_kernels/_axpy.h" nogil:
    # y[:p] += a * x[:p], compiled for AVX2 + FMA and the baseline, chosen at load time
    void vibank_axpy_f64_f64(double* q, const double* d, Py_ssize_t n, double step)


cdef inline void _axpy(double* y, const double* x, Py_ssize_t p, double a) noexcept nogil:
    vibank_axpy_f64_f64(y, x, p, a)


cdef void _sweep_block(const long long* block, Py_ssize_t size, Py_ssize_t p,
                       const double[:, ::1] G, const double[:, :, ::1] C_miss,
                       const long long[::1] miss_index, const double[:, ::1] YtX,
                       const double[:, ::1] s2b, const double[::1] tau,
                       const double[:, ::1] log_phi, const double[:, ::1] log_phi_neg,
                       const double[::1] cst, double c, const long long[::1] order,
                       double[:, ::1] g, double[:, ::1] mu, double[:, ::1] bbar,
                       double[:, ::1] GB) noexcept nogil:
    """Sweep the responses block[:size] over all predictors; predictor-outer, response-inner,
    which performs for each response exactly the operations of a response-by-response sweep."""
    cdef Py_ssize_t i, j, s, t, miss
    cdef double diag, r, m, v, logit, g_new, b_new, delta
    for i in range(p):
        s = order[i]
        for j in range(size):
            t = block[j]
            miss = miss_index[t]
            v = s2b[t, s]
            diag = G[s, s]
            if miss >= 0:
                diag = diag - C_miss[miss, s, s]
            # r = YtX[t, s] - (GB[t, s] - G_t[s, s] * bbar[t, s])
            r = YtX[t, s] - (GB[t, s] - diag * bbar[t, s])
            m = c * v * tau[t] * r
            logit = c * (log_phi[t, s] - log_phi_neg[t, s] + m * m / (2.0 * v) + 0.5 * log(v)
                         + cst[t])
            g_new = _sigmoid(logit)
            b_new = g_new * m
            delta = b_new - bbar[t, s]
            mu[t, s] = m
            g[t, s] = g_new
            bbar[t, s] = b_new
            if delta == 0.0:
                continue
            # GB[t, :] += delta * G[s, :]
            _axpy(&GB[t, 0], &G[s, 0], p, delta)
            if miss >= 0:
                # GB[t, :] -= delta * C_miss[miss, s, :]
                _axpy(&GB[t, 0], &C_miss[miss, s, 0], p, -delta)


def cavi_sweep(const double[:, ::1] G, const double[:, :, ::1] C_miss,
               const long long[::1] miss_index, const double[:, ::1] YtX,
               const double[:, ::1] s2b, const double[::1] tau,
               const double[:, ::1] log_phi, const double[:, ::1] log_phi_neg,
               const double[::1] cst, double c, const long long[::1] units,
               const long long[::1] order, double[:, ::1] g, double[:, ::1] mu,
               double[:, ::1] bbar, double[:, ::1] GB, int n_threads=1):
    """One sweep of step 5 over the responses ``units``, in place on g, mu, bbar and GB.

    Parameters
    ----------
    G : (p, p) X'X of the standardised predictors (diagonal n - 1)
    C_miss : (m, p, p) Gram matrices of the rows missing for the responses with NAs
    miss_index : (q,) row of ``C_miss`` for each response, -1 when y_t has no NA
    YtX : (q, p) Y'X (NA entries of Y set to 0)
    s2b : (q, p) slab variances s2b_st (constant over s when Y has no NA)
    tau : (q,) E tau_t
    log_phi, log_phi_neg : (q, p) log Phi(m_st), log Phi(-m_st), m_st = theta_s + zeta_t
    cst : (q,) (E log tau_t + E log sigma^-2) / 2
    c : inverse temperature (1 after annealing)
    units : responses to update (any order: the result does not depend on it)
    order : (p,) predictor order
    g, mu, bbar, GB : (q, p) PPIs, slab means, posterior means g * mu, and (X'X Bbar)' kept
        current (per response, with G_t)
    n_threads : OpenMP threads over the responses

    Returns
    -------
    n_updated : number of responses swept
    """
    cdef Py_ssize_t n_units = units.shape[0]
    cdef Py_ssize_t p = G.shape[0]
    cdef Py_ssize_t n_blocks = (n_units + _BLOCK - 1) // _BLOCK
    cdef Py_ssize_t b, first, size
    if n_units == 0:
        return 0
    for b in prange(n_blocks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        first = b * _BLOCK
        size = min(_BLOCK, n_units - first)
        _sweep_block(&units[first], size, p, G, C_miss, miss_index, YtX, s2b, tau, log_phi,
                     log_phi_neg, cst, c, order, g, mu, bbar, GB)
    return n_units
