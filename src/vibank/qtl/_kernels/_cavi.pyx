# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Core CAVI loop of atlasQTL (pqtl_afcavi.md section (c), step 5), over the Gram matrix.

Response-major: for each selected response t, every predictor s in the order ``order`` gets

    r      = YtX[t, s] - (GB[t, s] - G_t[s, s] * bbar[t, s])         x_s'(y_t - sum_{l != s} x_l bbar_lt)
    mu     = c * s2b[t, s] * tau[t] * r                               (= r / (G_t[s, s] + E sigma^-2))
    logit  = c * (lpd[t, s] + mu^2 / (2 s2b) + log(s2b) / 2 + cst[t])
    g      = 1 / (1 + exp(-logit))                                    (overflow-safe)
    bbar   = g * mu
    GB[t] += (bbar(new) - bbar(old)) * G_t[s, :]                      O(p) per predictor

with lpd = log Phi(m) - log Phi(-m), cst[t] = (E log tau_t + E log sigma^-2) / 2 and
G_t = G - C_t (C_t the Gram matrix of the rows where y_t is missing; none when
``miss_index[t] < 0``). The whole log-odds, including the log Phi and slab-normaliser terms, is
multiplied by the inverse temperature c: this is the reference implementation's annealed update
(spec (k.3)), kept so that ELBOs are comparable.

Within step 5 everything a response reads besides its own row (tau, s2b, m, E sigma^-2) is held
fixed, and the update of response t writes only row t of g, mu, bbar and GB: responses are
conditionally independent inside the loop. They therefore run in parallel over OpenMP threads
(prange over chunks of responses); only the predictor order matters.

Delayed GB updates (issue 20). Updated one predictor at a time, GB costs p axpys of length p per
response per sweep, which stream the Gram matrix at a few GFMA/s. Here the predictors are taken
in blocks J of ``block`` consecutive entries of ``order``; inside a block each response keeps
only GB[t, J] current (O(|J|^2) with the in-block Gram G[J, J]), and after the block the rest of
GB receives all |J| updates of every response of the chunk at once:

    GB[chunk, :] += Delta[chunk, J] @ G[J, :]                           one dgemm per block

(minus Delta @ C_t[J, :] for responses with NAs). Inside a chunk the state is held
predictor-major (the chunk's rows of GB, Y'X, lpd, s2b and bbar transposed into buffers once per
sweep), and each predictor of a block is updated for all responses of the chunk before the next
one: predictor s of the chunk is then one contiguous run of memory whatever the random order
(response-major, every coordinate touched a new cache line of six arrays), and the responses'
chains of dependent operations (r -> mu -> exp -> g -> the next predictor's r) overlap instead
of running one after another (issue 20: 25-35 % off the sweep, bitwise the same PPIs).
Every coordinate still sees the exact current
state when it is updated, in the same order, so this is the same coordinate-ascent schedule as
the one-at-a-time loop (the sequential NumPy twin ``_reference.cavi_sweep``); only rounding
differs. It is not a Jacobi (simultaneous) update. The blocked NumPy twin is
``_reference.cavi_sweep_blocked``. The dgemm is scipy's BLAS (``scipy.linalg.cython_blas``),
called single-threaded from each OpenMP thread on its own chunk (the caller limits BLAS
threads: ``AtlasQTL.fit`` runs its iterations under threadpoolctl). float64 only: the
convergence test resolves ELBO differences of 0.01 on ELBOs of size 1e6-1e8, below float32
precision.
"""

from cython.parallel import prange
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.math cimport exp, log
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from scipy.linalg import cython_blas

ctypedef void (*dgemm_t)(char* transa, char* transb, int* m, int* n, int* k, double* alpha,
                         double* a, int* lda, double* b, int* ldb, double* beta, double* c,
                         int* ldc) noexcept nogil

# scipy's dgemm through its C-API capsule (no build-time dependency on scipy's .pxd files)
cdef object _capsule = cython_blas.__pyx_capi__["dgemm"]
cdef dgemm_t _dgemm = <dgemm_t>PyCapsule_GetPointer(_capsule, PyCapsule_GetName(_capsule))

#: predictors whose GB updates are delayed and applied as one matrix product
BLOCK = 32
#: responses one thread task sweeps together (their rows transposed into its buffers); block 32
#: and chunk 64 measured best at p = 1000, q = 1000-3000 (issue 20; 16-64 x 32-128 within 10 %)
CHUNK = 64


cdef inline double _sigmoid(double x) noexcept nogil:
    """1 / (1 + exp(-x)) with one exp and no overflow for large |x| (the reference's
    exp(-log1pexp(-x)) in fewer operations; the two agree to rounding)."""
    cdef double e
    if x >= 0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)
    return e / (1.0 + e)


cdef void _sweep_chunk(const long long* units, Py_ssize_t size, Py_ssize_t p, Py_ssize_t block,
                       const double[:, ::1] G, const double[:, :, ::1] C_miss,
                       const long long[::1] miss_index, const double[:, ::1] YtX,
                       const double[:, ::1] s2b, const double[::1] tau,
                       const double[:, ::1] lpd, const double[::1] cst, double c,
                       const long long[::1] order,
                       double[:, ::1] g, double[:, ::1] mu, double[:, ::1] bbar,
                       double[:, ::1] GB) noexcept nogil:
    """Sweep the responses units[:size] over all predictors, block by block (module docstring).

    The chunk's rows are transposed into predictor-major buffers, X_T[s * size + j] =
    X[units[j], s], so that predictor s of every response of the chunk is one contiguous run
    whatever the order, and predictor k of a block is updated for all responses of the chunk
    before predictor k + 1 (each response still sees its predictors in ``order``; the
    responses' chains of dependent operations are independent and overlap)."""
    cdef Py_ssize_t i, j, k, k2, s, t, miss, bi, b0, nb, idx
    cdef double diag, r, m, logit, g_new, delta, v, w
    cdef double one = 1.0
    cdef int m_, n_, k_, ldc_, ldb_
    cdef const long long* J
    cdef Py_ssize_t n = size * p
    cdef double* gbw = <double*>malloc(n * sizeof(double))   # GB[units, :]'
    cdef double* ytx = <double*>malloc(n * sizeof(double))   # YtX[units, :]'
    cdef double* lo = <double*>malloc(n * sizeof(double))    # lpd[units, :]'
    cdef double* vo = <double*>malloc(n * sizeof(double))    # s2b[units, :]'
    cdef double* bo = <double*>malloc(n * sizeof(double))    # bbar[units, :]', kept current
    cdef double* mo = <double*>malloc(n * sizeof(double))    # mu[units, :]' (new)
    cdef double* go = <double*>malloc(n * sizeof(double))    # g[units, :]' (new)
    cdef double* gj = <double*>malloc(block * p * sizeof(double))     # G[J, :]
    cdef double* gjj = <double*>malloc(block * block * sizeof(double))  # G[J, J]
    cdef double* dl = <double*>malloc(block * size * sizeof(double))  # Delta[units, J]'
    cdef double* h = <double*>malloc(block * size * sizeof(double))   # GB[units, J]', current
    cdef double* tc = <double*>malloc(size * sizeof(double))          # tau[units]
    cdef double* cc = <double*>malloc(size * sizeof(double))          # cst[units]
    cdef long long* mc = <long long*>malloc(size * sizeof(long long))  # miss_index[units]
    cdef bint any_miss = False
    for j in range(size):
        t = units[j]
        tc[j] = tau[t]
        cc[j] = cst[t]
        mc[j] = miss_index[t]
        any_miss = any_miss or mc[j] >= 0
        for s in range(p):
            idx = s * size + j
            gbw[idx] = GB[t, s]
            ytx[idx] = YtX[t, s]
            lo[idx] = lpd[t, s]
            vo[idx] = s2b[t, s]
            bo[idx] = bbar[t, s]
    for bi in range((p + block - 1) // block):
        b0 = bi * block
        nb = min(block, p - b0)
        J = &order[b0]
        for k in range(nb):
            memcpy(&gj[k * p], &G[J[k], 0], p * sizeof(double))
            memcpy(&h[k * size], &gbw[J[k] * size], size * sizeof(double))
            for k2 in range(nb):
                gjj[k * nb + k2] = G[J[k], J[k2]]
        for k in range(nb):
            s = J[k]
            for j in range(size):
                idx = s * size + j
                v = vo[idx]
                diag = gjj[k * nb + k]
                if mc[j] >= 0:
                    diag = diag - C_miss[mc[j], s, s]
                # r = YtX[t, s] - (GB[t, s] - G_t[s, s] * bbar[t, s])
                r = ytx[idx] - (h[k * size + j] - diag * bo[idx])
                m = c * v * tc[j] * r
                logit = c * (lo[idx] + m * m / (2.0 * v) + 0.5 * log(v) + cc[j])
                g_new = _sigmoid(logit)
                delta = g_new * m - bo[idx]
                mo[idx] = m
                go[idx] = g_new
                bo[idx] = g_new * m
                dl[k * size + j] = delta
            # h[k+1:, :] += G_t[s, J[k+1:]]' Delta[:, k]': the rest of the block sees the update
            for k2 in range(k + 1, nb):
                w = gjj[k * nb + k2]
                for j in range(size):
                    h[k2 * size + j] += dl[k * size + j] * w
            if any_miss:
                for j in range(size):
                    if mc[j] >= 0:
                        for k2 in range(k + 1, nb):
                            h[k2 * size + j] -= dl[k * size + j] * C_miss[mc[j], s, J[k2]]
        # gbw' (size x p) += Delta[:, J] (size x nb) @ G[J, :] (nb x p), column-major: gbw is
        # (size x p) with ld size, dl (size x nb) with ld size, gj (p x nb) with ld p, transposed
        m_, n_, k_, ldc_, ldb_ = <int>size, <int>p, <int>nb, <int>size, <int>p
        _dgemm(b"N", b"T", &m_, &n_, &k_, &one, dl, &ldc_, gj, &ldb_, &one, gbw, &ldc_)
        if any_miss:
            for j in range(size):
                if mc[j] >= 0:
                    for k in range(nb):
                        # gbw[:, j] -= dl[k, j] * C_miss[miss, J[k], :]
                        for i in range(p):
                            gbw[i * size + j] -= dl[k * size + j] * C_miss[mc[j], J[k], i]
    for j in range(size):
        t = units[j]
        for s in range(p):
            idx = s * size + j
            GB[t, s] = gbw[idx]
            mu[t, s] = mo[idx]
            g[t, s] = go[idx]
            bbar[t, s] = bo[idx]
    free(gbw)
    free(ytx)
    free(lo)
    free(vo)
    free(bo)
    free(mo)
    free(go)
    free(gj)
    free(gjj)
    free(dl)
    free(h)
    free(tc)
    free(cc)
    free(mc)


def cavi_sweep(const double[:, ::1] G, const double[:, :, ::1] C_miss,
               const long long[::1] miss_index, const double[:, ::1] YtX,
               const double[:, ::1] s2b, const double[::1] tau,
               const double[:, ::1] lpd, const double[::1] cst, double c,
               const long long[::1] units,
               const long long[::1] order, double[:, ::1] g, double[:, ::1] mu,
               double[:, ::1] bbar, double[:, ::1] GB, int n_threads=1,
               Py_ssize_t block=BLOCK, Py_ssize_t chunk=CHUNK):
    """One sweep of step 5 over the responses ``units``, in place on g, mu, bbar and GB.

    Parameters
    ----------
    G : (p, p) X'X of the standardised predictors (diagonal n - 1)
    C_miss : (m, p, p) Gram matrices of the rows missing for the responses with NAs
    miss_index : (q,) row of ``C_miss`` for each response, -1 when y_t has no NA
    YtX : (q, p) Y'X (NA entries of Y set to 0)
    s2b : (q, p) slab variances s2b_st (constant over s when Y has no NA)
    tau : (q,) E tau_t
    lpd : (q, p) log Phi(m_st) - log Phi(-m_st), m_st = theta_s + zeta_t
    cst : (q,) (E log tau_t + E log sigma^-2) / 2
    c : inverse temperature (1 after annealing)
    units : distinct responses to update (any order: each is swept on its own; the order
        decides only which share a dgemm call, hence the last bits of rounding)
    order : (p,) predictor order
    g, mu, bbar, GB : (q, p) PPIs, slab means, posterior means g * mu, and (X'X Bbar)' kept
        current (per response, with G_t)
    n_threads : OpenMP threads over chunks of responses
    block : predictors per delayed GB update (1: the one-at-a-time loop)
    chunk : responses per thread task (independent of ``n_threads``: the result does not
        depend on the thread count)

    Returns
    -------
    n_updated : number of responses swept
    """
    cdef Py_ssize_t n_units = units.shape[0]
    cdef Py_ssize_t p = G.shape[0]
    cdef Py_ssize_t n_chunks, i, first, size
    if n_units == 0:
        return 0
    if block < 1 or chunk < 1:
        raise ValueError("block and chunk must be positive")
    block = min(block, p)
    # chunks of ``chunk`` consecutive units whatever the thread count, so that the dgemm calls,
    # hence the rounding, are the same with 1 or 2 threads
    n_chunks = (n_units + chunk - 1) // chunk
    for i in prange(n_chunks, nogil=True, num_threads=max(n_threads, 1), schedule="dynamic"):
        first = i * chunk
        size = min(chunk, n_units - first)
        _sweep_chunk(&units[first], size, p, block, G, C_miss, miss_index, YtX, s2b, tau,
                     lpd, cst, c, order, g, mu, bbar, GB)
    return n_units
