"""Extremal eigenvalues of the symmetric LD matrix in diagonal blocks: how far a panel's LD is
from positive semi-definite (kept with an LD store on request, read by the VIPRS block ridge).

Blocks of up to ``DENSE_EIGEN_MAX`` variants get exact dense eigenvalues (LAPACK on one BLAS
thread, so the same matrix gives the same values whatever the thread count); the blocks are
independent and run ``n_threads`` at a time. A band matrix (windowed, block, sample LD) is
unpacked into each dense block directly, quantised values times their scale, which gives the
same float64 matrix as dequantising the whole triangle and symmetrising it with scipy.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: blocks up to this many variants get exact dense eigenvalues
DENSE_EIGEN_MAX = 2000


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
    """R[start:stop, start:stop] (unit diagonal) as a dense float64 array, from band rows."""
    size = stop - start
    dense = np.zeros((size, size))
    indptr = ld.indptr
    for j in range(start, stop):
        lo = int(indptr[j])
        count = min(int(indptr[j + 1]) - lo, stop - j - 1)  # row j's columns j+1 .. stop-1
        if count > 0:
            r = j - start
            dense[r, r + 1:r + 1 + count] = ld.data[lo:lo + count]
    if scale != 1:
        dense *= np.float64(scale)
    dense = dense + dense.T  # (j, k) and (k, j): v + 0, as scipy adds the two triangles
    np.fill_diagonal(dense, 1.0)
    return dense


def _run_blocks(extract, blocks, n_threads):
    from threadpoolctl import threadpool_limits

    def one(bounds):
        start, stop = bounds
        low, high = _extremes(extract(start, stop))
        return {"start": int(start), "stop": int(stop), "min": float(low), "max": float(high)}

    with threadpool_limits(limits=1, user_api="blas"):  # same result for any thread count
        if n_threads <= 1 or len(blocks) <= 1:
            return [one(b) for b in blocks]
        with ThreadPoolExecutor(min(n_threads, len(blocks))) as pool:  # LAPACK drops the GIL
            return list(pool.map(one, blocks))


def _extremes(sub):
    """(smallest, largest) eigenvalue of one symmetric block (dense array or scipy matrix)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh  # looked up at call time (tests count its calls)

    size = sub.shape[0]
    if size <= DENSE_EIGEN_MAX:
        values = np.linalg.eigvalsh(sub.toarray() if sp.issparse(sub) else sub)
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
