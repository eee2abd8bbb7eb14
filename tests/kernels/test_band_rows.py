"""The compiled band-row kernels against their NumPy twins on every LD value type: the
symmetric band rows (``symmetric_band``, 1 and 2 threads, with and without a mask; and
``LDRows.from_upper`` against the masked copy it replaces), the upper rows of the kept variants
(``kept_upper``, into a new array or in place) and the dense blocks of the eigenvalues
(``dense_block``)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from vibank.ld import LDRows, SparseLD, _reference
from vibank.ld._band_rows import dense_block, kept_upper, symmetric_band
from vibank.ld.rows import _band_rows, _upper_rows

VALUE_TYPES = [np.int8, np.int16, np.float32, np.float64]


def _band_upper(m=400, seed=0, dtype=np.float64):
    """A band strict upper triangle with non-decreasing row ends, rows of 0-40 values, an
    empty row before an independent block, random values of ``dtype``."""
    rng = np.random.default_rng(seed)
    ends = np.maximum.accumulate(np.arange(m) + 1 + rng.integers(0, 40, m))
    ends = np.minimum(ends, m)
    ends[m // 2 - 1] = m // 2  # row m/2 - 1 reaches nothing: two independent blocks
    ends[:m // 2] = np.minimum(ends[:m // 2], m // 2)
    lengths = ends - np.arange(m) - 1
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        data = rng.integers(info.min + 1, info.max, lengths.sum(), endpoint=True).astype(dtype)
    else:
        data = rng.uniform(-1, 1, lengths.sum()).astype(dtype)
    return SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m)


def _layout(upper, keep):
    """(variant, flags, first, indptr) of the kept rows, as ``vibank.ld.rows._band_rows``
    computes them, from the masked copy's row ends."""
    masked = upper.masked(keep)
    m = masked.n_variants
    ends = np.arange(m) + np.diff(masked.indptr) + 1
    assert np.all(np.diff(ends) >= 0)
    first = np.minimum(np.searchsorted(ends, np.arange(m), side="right"), np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(ends - first)])
    flags = np.zeros(0, np.uint8) if keep.all() else keep.astype(np.uint8)
    return np.flatnonzero(keep), flags, first.astype(np.int64), indptr.astype(np.int64)


@pytest.mark.parametrize("dtype", VALUE_TYPES)
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_symmetric_band__matches_reference(dtype, n_threads, masked):
    upper = _band_upper(dtype=dtype)
    keep = np.ones(upper.n_variants, bool)
    if masked:
        keep = np.random.default_rng(1).random(upper.n_variants) > 0.3
        keep[:5] = False  # the first rows dropped: the kept rows start later
    variant, flags, first, indptr = _layout(upper, keep)
    out = np.full(indptr[-1], 99, dtype=dtype)  # every value must be written
    symmetric_band(upper.data, upper.indptr, variant, flags, first, indptr, out,
                   n_threads=n_threads)
    expected = _reference.symmetric_band(upper.data, upper.indptr, variant, flags, first, indptr)
    assert out.dtype == dtype and expected.dtype == dtype
    assert_array_equal(out, expected)
    # the diagonal slot of every row is 0, and row i's values are row i of the dense matrix
    assert np.all(out[indptr[:-1] + np.arange(len(first)) - first] == 0)
    dense = upper.masked(keep).to_scipy(symmetric=True, diagonal=0).toarray()
    i = len(first) // 2
    assert_array_equal(out[indptr[i]:indptr[i + 1]], dense[i, first[i]:first[i] + indptr[i + 1]
                                                           - indptr[i]])


@pytest.mark.parametrize("dtype", VALUE_TYPES)
def test_band_rows__masked_equals_rows_of_the_masked_copy(dtype):
    upper = _band_upper(m=300, seed=3, dtype=dtype)
    keep = np.random.default_rng(4).random(upper.n_variants) > 0.5
    direct = LDRows.from_upper(upper, keep=keep, n_threads=2)
    copied = LDRows.from_upper(upper.masked(keep))
    assert direct.layout == copied.layout == "band" and direct.dtype == dtype
    assert direct.n_variants == int(keep.sum())
    for name in ("data", "indptr", "first"):
        assert_array_equal(getattr(direct, name), getattr(copied, name))
    # everything kept: the same rows as without a mask
    unmasked = _band_rows(upper)
    for a, b in zip(_band_rows(upper, np.ones(upper.n_variants, bool)), unmasked):
        assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", VALUE_TYPES)
@pytest.mark.parametrize("in_place", [False, True])
def test_kept_upper__matches_reference_and_the_masked_copy(dtype, in_place):
    upper = _band_upper(m=300, seed=5, dtype=dtype)
    keep = np.random.default_rng(6).random(upper.n_variants) > 0.3
    keep[:3] = False
    expected = _reference.kept_upper(upper.data, upper.indptr, keep.astype(np.uint8))
    masked = upper.masked(keep)
    assert_array_equal(expected, masked.data)
    variant = np.flatnonzero(keep)
    source = upper.data.copy()
    out = source if in_place else np.full(len(expected), 99, dtype=dtype)
    kept_upper(source, upper.indptr, variant, keep.astype(np.uint8), masked.indptr, out)
    assert_array_equal(out[:len(expected)], expected)
    # what LDRows.from_upper(layout="upper") holds: the masked copy's rows
    data, indptr = _upper_rows(upper, keep, overwrite=in_place)
    assert_array_equal(data, masked.data)
    assert_array_equal(indptr, masked.indptr)


def test_band_rows__decreasing_row_ends_give_csr_with_or_without_a_mask():
    # row 0 reaches column 3, row 1 only column 2: CSR rows, also once variant 4 is dropped;
    # dropping variant 3 instead leaves a band (rows end at columns 2, 2, 2)
    upper = SparseLD(np.array([0.3, 0.2, 0.1, 0.25, 0.4]), np.array([0, 3, 4, 4, 5, 5]), None, 5)
    assert _band_rows(upper) is None
    for dropped, layout in ((4, "csr"), (3, "band")):
        keep = np.arange(5) != dropped
        direct = LDRows.from_upper(upper, keep=keep)
        copied = LDRows.from_upper(upper.masked(keep))
        assert direct.layout == copied.layout == layout
        assert_array_equal(direct.to_csr().toarray(), copied.to_csr().toarray())
    with pytest.raises(ValueError, match="keep must have 5 entries"):
        LDRows.from_upper(upper, keep=np.ones(3, bool))


@pytest.mark.parametrize("dtype", VALUE_TYPES)
@pytest.mark.parametrize("scale", [1.0, 1 / 127])
def test_dense_block__matches_reference(dtype, scale):
    upper = _band_upper(dtype=dtype)
    for start, stop in [(0, 400), (0, 57), (150, 260), (199, 201), (399, 400)]:
        out = np.zeros((stop - start, stop - start))
        dense_block(upper.data, upper.indptr, start, scale, out)
        expected = _reference.band_dense_block(upper.data, upper.indptr, start, stop, scale)
        assert_array_equal(out, expected)
        assert_array_equal(out, out.T)
        assert np.all(np.diag(out) == 1.0)
    whole = upper.to_scipy(symmetric=True).toarray().astype(np.float64)
    np.fill_diagonal(whole, 0.0)
    out = np.zeros((400, 400))
    dense_block(upper.data, upper.indptr, 0, scale, out)
    assert_array_equal(out, whole * scale + np.eye(400))
