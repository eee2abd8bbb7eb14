"""Extremal eigenvalues of the symmetric LD matrix in diagonal blocks: how far a panel's LD is
from positive semi-definite (kept with an LD store on request, read by the VIPRS block ridge).

Blocks of up to ``DENSE_EIGEN_MAX`` variants are held dense. Only the two extremes are kept
(the VIPRS block ridge reads the smallest), so blocks of ``LANCZOS_MIN`` variants or more get
them by the Lanczos iteration (:func:`lanczos_extremes`: ~150-200 matrix-vector products for a
2,000-variant block of a 500-person panel, half the time of LAPACK's full tridiagonal
reduction) to ``LANCZOS_TOL`` times the spectrum's width; a block where it does not converge,
and every smaller block, gets the exact dense eigenvalues (LAPACK). One BLAS thread and a fixed
start vector: the same matrix gives the same values whatever the thread count. The blocks are
independent and run ``n_threads`` at a time. A band matrix (windowed, block, sample LD) is
unpacked into each dense block directly, quantised values times their scale, which gives the
same float64 matrix as dequantising the whole triangle and symmetrising it with scipy.
"""

import numpy as np

from vibank.ld._band_rows import dense_block
from vibank.parallel import thread_map

#: blocks up to this many variants are held dense (exact eigenvalues, or Lanczos from LANCZOS_MIN)
DENSE_EIGEN_MAX = 2000
#: dense blocks of at least this many variants get their extremes by Lanczos iterations
LANCZOS_MIN = 1200
#: tolerance of the Lanczos extremes: residuals at most this times the spectrum's width
LANCZOS_TOL = 1e-10
#: a block of m variants falls back to the exact eigenvalues after m // this Lanczos products
#: (where the exact eigenvalues start to cost less)
LANCZOS_STEP_DIVISOR = 5


def default_blocks(m):
    """Consecutive blocks of at most ``DENSE_EIGEN_MAX`` variants over ``m`` variants."""
    return [(a, min(a + DENSE_EIGEN_MAX, m)) for a in range(0, m, DENSE_EIGEN_MAX)]


def extremal_eigenvalues(ld, blocks=None, *, scale=1.0, n_threads=1):
    """Smallest and largest eigenvalue of each diagonal block of the symmetric R.

    Parameters
    ----------
    ld : SparseLD (strict upper triangle; values times ``scale`` are correlations)
    blocks : list of (start, stop) variant ranges; default :func:`default_blocks` (exact dense
        eigenvalues); larger blocks use ARPACK
    scale : 1 / the quantisation scale of int8/int16 values (1 for float values)
    n_threads : blocks computed at the same time

    Returns
    -------
    list of dicts {start, stop, min, max}
    """
    blocks = [(int(a), int(b)) for a, b in (blocks or default_blocks(ld.n_variants))]
    if ld.indices is not None or max((b - a for a, b in blocks), default=0) > DENSE_EIGEN_MAX:
        values = ld.data.astype(np.float64)
        if scale != 1:
            values *= np.float64(scale)
        full = type(ld)(values, ld.indptr, ld.indices, ld.n_variants).to_scipy(symmetric=True)
        return extremal_eigenvalues_csr(full, blocks, n_threads=n_threads)
    return _run_blocks(lambda a, b: _band_block(ld, a, b, scale), blocks, n_threads)


def extremal_eigenvalues_csr(full, blocks=None, *, n_threads=1):
    """:func:`extremal_eigenvalues` of a symmetric scipy matrix (diagonal included)."""
    import scipy.sparse as sp

    full = sp.csr_matrix(full, dtype=np.float64)
    blocks = blocks or default_blocks(full.shape[0])
    return _run_blocks(lambda a, b: full[a:b, a:b], blocks, n_threads)


def _band_block(ld, start, stop, scale):
    """R[start:stop, start:stop] (unit diagonal) as a dense float64 array, from band rows
    (compiled; NumPy twin ``vibank.ld._reference.band_dense_block``)."""
    dense = np.zeros((stop - start, stop - start))
    dense_block(np.ascontiguousarray(ld.data), np.ascontiguousarray(ld.indptr, np.int64), start,
                float(scale), dense)
    return dense


def _run_blocks(extract, blocks, n_threads):
    from threadpoolctl import threadpool_limits

    def one(bounds):
        start, stop = bounds
        low, high = _extremes(extract(start, stop))
        return {"start": int(start), "stop": int(stop), "min": float(low), "max": float(high)}

    with threadpool_limits(limits=1, user_api="blas"):  # same result for any thread count
        return thread_map(one, blocks, n_threads)  # BLAS/LAPACK drop the GIL


def _extremes(sub):
    """(smallest, largest) eigenvalue of one symmetric block (dense array or scipy matrix)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh  # looked up at call time (tests count its calls)

    size = sub.shape[0]
    if size <= DENSE_EIGEN_MAX:
        dense = sub.toarray() if sp.issparse(sub) else sub
        if size >= LANCZOS_MIN:
            found = lanczos_extremes(dense)
            if found is not None:
                return found
        values = np.linalg.eigvalsh(dense)
        return values[0], values[-1]
    # the largest eigenvalue converges fast; the smallest is found as the largest of
    # (high I - R), which ARPACK handles far better than which="SA"
    # a fixed start vector: ARPACK's default is random, and the same LD would get
    # another smallest eigenvalue (by up to ~3e-3 at tol 1e-4) at every run
    v0 = np.random.default_rng(0).standard_normal(size)
    high = eigsh(sub, k=1, which="LA", return_eigenvectors=False, tol=1e-6, v0=v0)[0]
    shifted = sp.identity(size, format="csr") * high - sub
    low = high - eigsh(shifted, k=1, which="LA", return_eigenvectors=False, tol=1e-4, v0=v0)[0]
    return low, high


def lanczos_extremes(dense, *, tol=None, max_steps=None):
    """(smallest, largest) eigenvalue of a dense symmetric matrix by the Lanczos iteration, or
    None when it has not converged after ``max_steps`` products (the caller then takes the
    exact eigenvalues).

    Both ends come from one Krylov basis, fully reorthogonalised (twice per step), so the
    extreme Ritz values of the tridiagonal T_k are Rayleigh-Ritz values: theta_min >= lambda_min
    and theta_max <= lambda_max, each within its residual beta_k |s_k| of an eigenvalue. The
    iteration stops when both residuals are below ``tol`` times the width theta_max - theta_min
    (checked every 10 steps). A fixed start vector and NumPy products (which release the GIL):
    the same matrix gives the same values, and blocks run in threads side by side.

    Parameters
    ----------
    dense : (m, m) float64 symmetric array
    tol : relative tolerance (default ``LANCZOS_TOL``)
    max_steps : products before giving up (default ``m // LANCZOS_STEP_DIVISOR``: beyond that
        the exact eigenvalues cost less)
    """
    from scipy.linalg import eigh_tridiagonal

    size = dense.shape[0]
    tol = LANCZOS_TOL if tol is None else tol
    max_steps = min(size // LANCZOS_STEP_DIVISOR if max_steps is None else max_steps, size - 1)
    if max_steps < 2:
        return None
    basis = np.empty((max_steps + 1, size))
    start = np.random.default_rng(0).standard_normal(size)
    basis[0] = start / np.linalg.norm(start)
    alpha, beta = np.empty(max_steps), np.empty(max_steps)
    for k in range(max_steps):
        w = dense @ basis[k]
        alpha[k] = basis[k] @ w
        for _ in range(2):  # w -= V V'w against every earlier vector, twice ("twice is enough")
            w -= basis[:k + 1].T @ (basis[:k + 1] @ w)
        beta[k] = np.linalg.norm(w)
        if beta[k] == 0:  # an invariant subspace: its Ritz values are eigenvalues, not the extremes
            return None
        basis[k + 1] = w / beta[k]
        if (k + 1) % 10 == 0 or k + 1 == max_steps:
            theta, s = eigh_tridiagonal(alpha[:k + 1], beta[:k])
            residual = beta[k] * np.abs(s[-1, [0, -1]])
            if residual.max() <= tol * (theta[-1] - theta[0]):
                return float(theta[0]), float(theta[-1])
    return None
