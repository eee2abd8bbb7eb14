"""Block LD in the column space of the panel (prs_vi.md section 6a).

An LD block of m variants estimated from n_ref people has rank at most n_ref - 1, and after
int8/int16 quantisation small negative eigenvalues too. GWAS statistics of N >> n_ref people
have components outside that column space, which the summary-statistics likelihood cannot
explain: it lets the residual variance collapse (h2 many times the truth). Each block is
therefore replaced by its positive part, R_b = U_b diag(lambda_b) U_b' over the eigenvalues
above ``EIGENVALUE_FLOOR`` times the block size, and the statistics by their projection
U_b U_b' b on the same space (SBayesRC keeps a set share of each block's variance; here the
whole positive spectrum is kept, which measured best in ``verification/ld_reference_noise.py``).
The likelihood is then proper, and the diagonal of R_b (below 1 where variance was dropped)
is carried as ``LDRows.diagonal``; the blocks are stored in the LD's value type
(``vibank.io.ld_store.quantise``).

Only LD whose independent segments are blocks (block LD, or any LD with segments of at most
``MAX_BLOCK`` variants) is treated; a windowed matrix is one segment per chromosome.
"""

import threading
from dataclasses import dataclass

import numpy as np

from vibank.io.ld_store import QUANTISATION, quantise
from vibank.ld.rows import LDRows

#: eigenvalues at or below this times the block size are dropped (the rank of the panel LD)
EIGENVALUE_FLOOR = 1e-6
#: the largest segment decomposed (an eigendecomposition of 5,000 variants takes ~10 s)
MAX_BLOCK = 5000

_LOCK = threading.Lock()


@dataclass
class ColumnSpace:
    """The LD restricted to the panel's column space, block by block.

    Attributes
    ----------
    rows : LDRows of the positive part of each block (band rows over the block, the stored
        value type, ``diagonal`` the kept variance of each variant)
    bases : per block (start, stop, U) with U the (stop - start, k) kept eigenvectors
    dropped : eigenvalues dropped over all blocks (the rank deficiency)
    """

    rows: LDRows
    bases: list
    dropped: int

    def project(self, b):
        """U_b U_b' b per block: the statistics in the panel's column space."""
        b = np.asarray(b, dtype=np.float64)
        out = np.empty_like(b)
        for start, stop, u in self.bases:
            out[start:stop] = u @ (u.T @ b[start:stop])
        return out


def treatable(ld):
    """Whether ``ld``'s independent segments are blocks small enough to decompose."""
    return bool(len(ld.segments) > 1 and np.diff(ld.segments).max() <= MAX_BLOCK)


def column_space(ld):
    """The :class:`ColumnSpace` of ``ld`` (computed once per LDRows and kept on it)."""
    with _LOCK:
        cached = getattr(ld, "_column_space", None)
        if cached is None:
            cached = ld._column_space = _decompose(ld)
    return cached


def _decompose(ld):
    if not treatable(ld):
        raise ValueError("the column-space treatment needs LD in independent blocks of at most "
                         f"{MAX_BLOCK} variants (block LD)")
    full = ld.to_csr(diagonal=1.0)
    m, segments = ld.n_variants, ld.segments
    sizes = np.diff(segments)
    indptr = np.concatenate([[0], np.cumsum(np.repeat(sizes, sizes))]).astype(np.int64)
    first = np.repeat(segments[:-1], sizes).astype(np.int64)
    data = np.zeros(indptr[-1], dtype=ld.dtype)
    diagonal = np.ones(m)
    bases, dropped = [], 0
    for start, stop in zip(segments[:-1], segments[1:]):
        size = stop - start
        block = full[start:stop, start:stop].toarray()
        values, vectors = np.linalg.eigh(block)
        keep = values > EIGENVALUE_FLOOR * size
        dropped += int(size - keep.sum())
        u, kept = vectors[:, keep], values[keep]
        positive = (u * kept) @ u.T
        diagonal[start:stop] = np.diag(positive)
        np.fill_diagonal(positive, 0.0)
        lo = indptr[start]
        data[lo:lo + size * size] = quantise(positive.ravel(), ld.dtype)
        bases.append((int(start), int(stop), u))
    rows = LDRows(data, indptr, m, first=first, scale=1.0 / QUANTISATION[ld.dtype.name],
                  parts=ld.parts, diagonal=diagonal, n_ref=ld.n_ref)
    return ColumnSpace(rows, bases, dropped)

