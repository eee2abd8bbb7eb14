"""vibank's LD block finder."""

import numpy as np
import pytest

from vibank.ld.blocks import _splittable, cross_ld, ends_from_blocks, find_blocks
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


def _feasible(r, lo, hi):
    """Brute force: can r variants be split into blocks of lo..hi variants?"""
    ok = [True] + [False] * r
    for n in range(1, r + 1):
        ok[n] = any(ok[n - s] for s in range(lo, min(hi, n) + 1))
    return ok[r]


def test_splittable__matches_brute_force():
    for lo in range(1, 9):
        for hi in range(lo, 12):
            expected = [_feasible(r, lo, hi) for r in range(1, 60)]
            np.testing.assert_array_equal(_splittable(np.arange(1, 60), lo, hi), expected)


def test_find_blocks__last_block_within_max_149_variants_40_to_70():
    # greedy cuts at <= 70 could leave a last block of >= 79; 50 + 50 + 49 fits the sizes
    blocks = find_blocks(_band(149, 12, seed=1), min_variants=40, max_variants=70)
    assert blocks[0][0] == 0 and blocks[-1][1] == 149
    assert all(40 <= b - a <= 70 for a, b in blocks)


@pytest.mark.parametrize("m, lo, hi", [(149, 40, 70), (101, 50, 55), (300, 99, 100), (61, 20, 21),
                                       (93, 30, 31), (250, 1, 3), (180, 60, 60), (140, 35, 45)])
def test_find_blocks__sizes_within_bounds_whenever_feasible(m, lo, hi):
    assert _feasible(m, lo, hi)
    for seed in range(3):
        blocks = find_blocks(_band(m, 10, seed=seed), min_variants=lo, max_variants=hi)
        assert blocks[0][0] == 0 and blocks[-1][1] == m
        assert all(a[1] == b[0] for a, b in zip(blocks[:-1], blocks[1:]))
        assert all(lo <= b - a <= hi for a, b in blocks), blocks


def test_find_blocks__infeasible_sizes_keep_blocks_within_max(caplog):
    # 149 variants cannot be split into blocks of 80..100: two blocks of >= 74 instead
    with caplog.at_level("WARNING", logger="vibank.ld.blocks"):
        blocks = find_blocks(_band(149, 8, seed=2), min_variants=80, max_variants=100)
    assert len(blocks) == 2 and all(74 <= b - a <= 100 for a, b in blocks)
    assert "cannot be split into blocks of 80..100" in caplog.text


def test_find_blocks__cut_at_lowest_cross_ld_among_feasible_cuts():
    # no pair crosses 117, but a block [0, 117) would exceed max 100: the cut moves to the
    # feasible boundary with the lowest mean cross-LD, which a brute-force scan confirms
    ld = _band(200, 15, seed=5, cut=117)
    cross, pairs = cross_ld(ld)
    score = cross / np.maximum(pairs, 1)
    blocks = find_blocks(ld, min_variants=50, max_variants=100)
    first = blocks[0][1]
    feasible = [b for b in range(50, 101) if _feasible(200 - b, 50, 100)]
    assert score[first] == min(score[b] for b in feasible)
    # with room for it, the no-crossing boundary is taken
    assert (0, 117) in find_blocks(ld, min_variants=50, max_variants=150)
