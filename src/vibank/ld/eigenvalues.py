"""Extremal eigenvalues of the symmetric LD matrix in diagonal blocks: how far a panel's LD is
from positive semi-definite (stored with each LD store, read by the VIPRS block ridge)."""

import numpy as np

#: blocks up to this many variants get exact dense eigenvalues
DENSE_EIGEN_MAX = 2000


def extremal_eigenvalues(ld, blocks=None):
    """Smallest and largest eigenvalue of each diagonal block of the symmetric R.

    Parameters
    ----------
    ld : SparseLD (strict upper triangle)
    blocks : list of (start, stop) variant ranges; default consecutive blocks of at most
        ``DENSE_EIGEN_MAX`` variants (exact dense eigenvalues); larger blocks use ARPACK

    Returns
    -------
    list of dicts {start, stop, min, max}
    """
    return extremal_eigenvalues_csr(ld.to_scipy(symmetric=True), blocks)


def extremal_eigenvalues_csr(full, blocks=None):
    """:func:`extremal_eigenvalues` of a symmetric scipy matrix (diagonal included)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh  # looked up at call time (tests count its calls)
    from threadpoolctl import threadpool_limits

    full = sp.csr_matrix(full, dtype=np.float64)
    m = full.shape[0]
    blocks = blocks or [(a, min(a + DENSE_EIGEN_MAX, m)) for a in range(0, m, DENSE_EIGEN_MAX)]
    out = []
    for start, stop in blocks:
        sub = full[start:stop, start:stop]
        if stop - start <= DENSE_EIGEN_MAX:
            with threadpool_limits(limits=1, user_api="blas"):  # same result for any thread count
                values = np.linalg.eigvalsh(sub.toarray())
            low, high = values[0], values[-1]
        else:
            # the largest eigenvalue converges fast; the smallest is found as the largest of
            # (high I - R), which ARPACK handles far better than which="SA"
            # a fixed start vector: ARPACK's default is random, and the same LD would get
            # another smallest eigenvalue (by up to ~3e-3 at tol 1e-4) at every run
            v0 = np.random.default_rng(0).standard_normal(stop - start)
            high = eigsh(sub, k=1, which="LA", return_eigenvectors=False, tol=1e-6, v0=v0)[0]
            shifted = sp.identity(stop - start, format="csr") * high - sub
            low = high - eigsh(shifted, k=1, which="LA", return_eigenvectors=False, tol=1e-4,
                               v0=v0)[0]
        out.append({"start": int(start), "stop": int(stop), "min": float(low), "max": float(high)})
    return out
