"""LDRows's upper layout (the strict upper triangle alone): the same matrix as the band and CSR
layouts through every method, ``symmetric``, ``subset`` and ``concatenate`` of upper rows,
``from_upper`` with a mask (copied or moved in place), and ``LDMatrix.rows(layout="upper")``."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from test_ld_rows import (CUT, INT16, M, M_STORE, WIDTH, _block_eigenvalues, _dense,
                          _offdiagonal, _store, _upper_band, _upper_indexed, fileset)  # noqa: F401

from vibank.ld import LDEstimator, LDMatrix, LDRows, SparseLD


@pytest.fixture(scope="module")
def matrix():
    off = _offdiagonal()
    return {"off": off, "upper": LDRows.from_upper(_upper_band(off), layout="upper"),
            "band": LDRows.from_upper(_upper_band(off))}


def test_upper__holds_the_same_matrix_as_band_rows(matrix):
    off, upper, band = matrix["off"], matrix["upper"], matrix["band"]
    assert upper.layout == "upper" and upper.first is None and upper.indices is None
    # the stored triangle itself, half the band's values (which also keep a diagonal slot)
    assert len(upper.data) == np.count_nonzero(off) // 2 == (len(band.data) - M) // 2
    assert_array_equal(_dense(upper), off)
    assert_array_equal(_dense(upper, diagonal=1.0), off + np.eye(M))
    assert_array_equal(upper.to_scipy().toarray(), off)
    assert upper.mean_ld_score() == pytest.approx(band.mean_ld_score(), rel=1e-12)
    assert_array_equal(upper.row_widths(), band.row_widths())
    assert_array_equal(upper.segments, [0, CUT, M])
    v = np.random.default_rng(1).normal(size=M)
    for diagonal in (1.0, 0.0, 2.5):
        assert_allclose(upper.dot(v, diagonal=diagonal), (off + diagonal * np.eye(M)) @ v,
                        rtol=1e-12, atol=1e-12)
    ((got,), (expected,)) = upper.block_eigenvalues(), _block_eigenvalues(off, [0, M])
    assert (got["start"], got["stop"]) == (0, M)
    assert (got["min"], got["max"]) == pytest.approx((expected["min"], expected["max"]))


def test_upper__rows_and_entries_are_the_stored_upper_values(matrix):
    off, upper = matrix["off"], matrix["upper"]
    for j in range(M):
        columns, values = upper.row(j)
        assert_array_equal(columns, np.arange(j + 1, j + 1 + len(columns)))
        assert_array_equal(values, off[j, columns])
        assert_array_equal(off[j, j + 1 + len(columns):], 0.0)
    which = np.array([0, 5, CUT - 1, CUT, M - 1])
    rows, cols, values = upper.entries_of(which)
    assert np.all(cols > rows)
    assert_array_equal(values, off[rows, cols])
    with pytest.raises(ValueError, match="kernel_arrays.*symmetric"):
        upper.kernel_arrays()


def test_upper__symmetric_gives_the_band_rows(matrix):
    upper, band = matrix["upper"], matrix["band"]
    upper.parts, upper.n_ref = [M], np.full(M, 500.0)
    try:
        sym = upper.symmetric()
        assert sym.layout == "band"
        assert_array_equal(sym.data, band.data)
        assert_array_equal(sym.first, band.first)
        assert sym.parts == [M]
        assert_array_equal(sym.n_ref, upper.n_ref)
    finally:
        upper.parts, upper.n_ref = None, None
    assert band.symmetric() is band


def test_upper__subset_stays_upper(matrix):
    off, upper = matrix["off"], matrix["upper"]
    keep = np.random.default_rng(3).random(M) < 0.7
    sub = upper.subset(keep)
    assert sub.layout == "upper" and sub.n_variants == keep.sum()
    assert_array_equal(_dense(sub), off[np.ix_(keep, keep)])
    # from_upper with the mask gives the same rows as the subset
    masked = LDRows.from_upper(_upper_band(off), keep=keep, layout="upper")
    assert_array_equal(masked.data, sub.data)
    assert_array_equal(masked.indptr, sub.indptr)


def test_from_upper__mask_copied_or_moved_in_place(matrix):
    off = matrix["off"]
    keep = np.ones(M, bool)
    keep[[0, 3, 4, CUT, M - 1]] = False
    stored = _upper_band(off)
    original = stored.data.copy()
    copied = LDRows.from_upper(stored, keep=keep, layout="upper")
    assert_array_equal(stored.data, original)  # not overwritten without overwrite
    moved = LDRows.from_upper(stored, keep=keep, layout="upper", overwrite=True)
    assert np.shares_memory(moved.data, stored.data)  # most values kept: a slice, no copy
    for ld in (copied, moved):
        assert_array_equal(_dense(ld), off[np.ix_(keep, keep)])
    # all variants: the stored values themselves
    whole = _upper_band(off)
    assert LDRows.from_upper(whole, layout="upper").data is whole.data
    # a triangle with column indices has no upper band rows: CSR
    indexed = LDRows.from_upper(_upper_indexed(off), layout="upper")
    assert indexed.layout == "csr"
    assert_array_equal(_dense(indexed), off)
    with pytest.raises(ValueError, match="layout"):
        LDRows.from_upper(whole, layout="lower")


def test_concatenate__upper_parts(matrix):
    off, upper = matrix["off"], matrix["upper"]
    a = LDRows.from_upper(_upper_band(off), layout="upper")
    b = LDRows.from_upper(_upper_band(off[:CUT, :CUT], cut=CUT), layout="upper")
    joined = LDRows.concatenate([a, b])
    assert joined.layout == "upper" and joined.parts == [M, CUT]
    expected = sp.block_diag([off, off[:CUT, :CUT]]).toarray()
    assert_array_equal(_dense(joined), expected)
    assert_array_equal(joined.segments, [0, CUT, M, M + CUT])
    # an upper part among band ones: all band rows
    mixed = LDRows.concatenate([matrix["band"], upper])
    assert mixed.layout == "band"
    assert_array_equal(_dense(mixed), sp.block_diag([off, off]).toarray())


def test_ldmatrix_rows__upper_layout_of_a_quantised_windowed_store(fileset):  # noqa: F811
    mat = _store(fileset, "windowed_int16.zarr",
                 estimator=LDEstimator("windowed", window_variants=6, taper="none"), dtype="int16")
    keep = np.ones(M_STORE, bool)
    keep[[0, 7, 8, 21, 39]] = False
    band = LDMatrix(mat.path).rows(keep)
    upper = LDMatrix(mat.path).rows(keep, layout="upper")
    assert upper.layout == "upper" and upper.dtype == np.int16
    assert upper.scale == pytest.approx(INT16)
    assert_array_equal(upper.to_scipy().toarray(), band.to_scipy().toarray())
    assert upper.eigenvalues == band.eigenvalues
    assert_array_equal(upper.n_ref, band.n_ref)
    assert len(upper.data) == (len(band.data) - band.n_variants) // 2
    # the whole store: its stored values as read
    whole = LDMatrix(mat.path).rows(layout="upper")
    assert_array_equal(whole.subset(keep).data, upper.data)
