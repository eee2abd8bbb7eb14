"""vibank's LD block finder: split a chromosome where neighbouring segments share least LD.

Method. From a windowed LD matrix (pairs within the window only), the cross-LD of a boundary b
(between variants b-1 and b) is the sum of r^2 over the stored pairs (j, k) with j < b <= k, i.e.
the LD that a block boundary at b would discard; boundaries are compared by the mean cross-LD
per crossing pair, since near a chromosome end fewer (and closer) pairs cross. With the panel
size n given, each r^2 is bias-corrected (r^2 - (1 - r^2) / (n - 2)), so that pairs in no LD add
nothing on average: the raw r^2 of unlinked pairs (about 1/n each) would make boundaries near
the chromosome ends, which fewer pairs cross, look best.

Boundaries are then placed greedily from the start of the chromosome: the next boundary is the b
with the smallest mean cross-LD among [start + min_variants, start + max_variants], restricted to
the b whose remainder m - b can still be split into blocks within the sizes (r > 0 variants can
be iff ceil(r / max_variants) * min_variants <= r); once m - start <= max_variants the rest is
the last block. So blocks are contiguous, cover every variant, and have between min_variants
and max_variants variants whenever some split does. Otherwise a chromosome of at most
max_variants variants is one block, and a longer one (say 149 variants with sizes 80..100) is
split with min_variants lowered, with a warning, to m // ceil(m / max_variants): the largest
size that ceil(m / max_variants) blocks, the fewest within max_variants, can all reach.
"""

import logging

import numpy as np

log = logging.getLogger(__name__)


def cross_ld(ld, n_ref=None):
    """Cross-LD of every boundary b = 0..m and the number of stored pairs crossing it.

    Parameters
    ----------
    ld : SparseLD with band rows (indices None)
    n_ref : panel size for the bias correction of r^2 (None: raw r^2)
    """
    if ld.indices is not None:
        raise ValueError("the block finder needs a banded (windowed) LD matrix")
    m = ld.n_variants
    r2 = ld.data.astype(np.float64) ** 2
    if n_ref is not None:
        r2 -= (1.0 - r2) / (n_ref - 2)
    cross, pairs = np.zeros(m + 1), np.zeros(m + 1)
    for j in np.flatnonzero(np.diff(ld.indptr)):
        row = r2[ld.indptr[j]:ld.indptr[j + 1]]  # columns j+1 .. j+len
        # the pair (j, k) crosses every boundary b with j < b <= k: boundary j+1+t gets
        # the sum of the row's values from offset t on
        cross[j + 1:j + 1 + len(row)] += np.cumsum(row[::-1])[::-1]
        pairs[j + 1:j + 1 + len(row)] += np.arange(len(row), 0, -1)
    return cross, pairs


def _splittable(r, min_variants, max_variants):
    """Whether r variants (scalar or array) split into blocks of min..max_variants each."""
    r = np.asarray(r)
    return (r > 0) & (-(-r // max_variants) * min_variants <= r)


def find_blocks(ld, *, n_ref=None, min_variants=200, max_variants=2000):
    """Contiguous LD blocks as (start, stop) variant-index ranges; see the module docstring."""
    if not 1 <= min_variants <= max_variants:
        raise ValueError("need 1 <= min_variants <= max_variants")
    m = ld.n_variants
    cross, pairs = cross_ld(ld, n_ref)
    if m <= max_variants:
        return [(0, m)]
    if not _splittable(m, min_variants, max_variants):
        # k = ceil(m / max) blocks of at most max_variants each can all have m // k variants
        relaxed = m // -(-m // max_variants)
        log.warning("block finder: %d variants cannot be split into blocks of %d..%d variants; "
                    "using %d..%d", m, min_variants, max_variants, relaxed, max_variants)
        min_variants = relaxed
    # mean LD per crossing pair: near a chromosome end few (and mostly close) pairs cross, so the
    # plain sum would always favour boundaries there
    score = cross / np.maximum(pairs, 1)
    blocks, start = [], 0
    while m - start > max_variants:
        # m - start is splittable, so its split's first cut is among the feasible candidates
        last = min(start + max_variants, m - min_variants)
        candidates = np.arange(start + min_variants, last + 1)
        feasible = _splittable(m - candidates, min_variants, max_variants)
        b = int(candidates[np.argmin(np.where(feasible, score[candidates], np.inf))])
        blocks.append((start, b))
        start = b
    blocks.append((start, m))
    return blocks


def ends_from_blocks(blocks, m):
    """Window ends (as in ``vibank.ld.windows``) for contiguous index blocks covering 0..m."""
    ends = np.empty(m, dtype=np.int64)
    for start, stop in blocks:
        ends[start:stop] = stop
    return ends
