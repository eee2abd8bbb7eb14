"""vibank's LD block finder."""

import numpy as np
import pytest

from vibank.ld.blocks import cross_ld, ends_from_blocks, find_blocks
from vibank.ld.estimators import SparseLD


def _band(m, max_len, seed=0, cut=None):
    """Random banded upper triangle; with ``cut``, no pair crosses the boundary ``cut``."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(rng.integers(1, max_len + 1, m), m - 1 - np.arange(m))
    if cut is not None:
        lengths[:cut] = np.minimum(lengths[:cut], cut - 1 - np.arange(cut))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return SparseLD(rng.uniform(-0.9, 0.9, indptr[-1]), indptr, None, m)


@pytest.mark.parametrize("n_ref", [None, 50])
def test_cross_ld__matches_brute_force(n_ref):
    ld = _band(60, 9)
    r2 = ld.to_scipy().toarray() ** 2
    stored = ld.to_scipy().toarray() != 0
    if n_ref:
        r2 = np.where(stored, r2 - (1 - r2) / (n_ref - 2), 0)
    cross, pairs = cross_ld(ld, n_ref)
    for b in range(61):
        assert cross[b] == pytest.approx(r2[:b, b:].sum(), abs=1e-10)
        assert pairs[b] == stored[:b, b:].sum()


def test_find_blocks__cover_and_respect_sizes():
    ld = _band(500, 20, seed=3)
    blocks = find_blocks(ld, min_variants=30, max_variants=90)
    assert blocks[0][0] == 0 and blocks[-1][1] == 500
    assert all(a[1] == b[0] for a, b in zip(blocks[:-1], blocks[1:]))
    assert all(30 <= stop - start <= 90 for start, stop in blocks)


def test_find_blocks__splits_where_no_pair_crosses():
    ld = _band(200, 15, seed=5, cut=117)
    blocks = find_blocks(ld, min_variants=50, max_variants=150)
    assert (117, 200) in blocks or any(start == 117 for start, _ in blocks)


def test_find_blocks__short_chromosome_is_one_block():
    assert find_blocks(_band(40, 5), min_variants=50, max_variants=100) == [(0, 40)]


def test_find_blocks__rejects_bad_sizes_and_indexed_layout():
    with pytest.raises(ValueError):
        find_blocks(_band(40, 5), min_variants=10, max_variants=5)
    ld = _band(40, 5)
    with pytest.raises(ValueError, match="banded"):
        cross_ld(SparseLD(ld.data, ld.indptr, ld.columns().astype(np.int32), 40))


def test_ends_from_blocks__rows_end_at_their_block():
    ends = ends_from_blocks([(0, 3), (3, 7)], 7)
    np.testing.assert_array_equal(ends, [3, 3, 3, 7, 7, 7, 7])
