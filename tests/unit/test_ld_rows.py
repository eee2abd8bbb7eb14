"""LDRows, the one LD type from the store to the kernels: its band and CSR layouts, construction
(``of``, ``from_upper``, ``from_csr``, the constructor), ``subset``, ``concatenate``, quantised
values, and ``LDMatrix.rows`` on a store built by ``build_ld_store``."""

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from vibank.io.ld_store import quantise
from vibank.io.plink import write_bfile
from vibank.ld import LDEstimator, LDMatrix, LDRows, SparseLD, build_ld_store

M, WIDTH, CUT = 30, 4, 18  # variants, band width, start of the second independent block
INT16 = 1.0 / 32767


def _offdiagonal(m=M, width=WIDTH, cut=CUT, seed=0):
    """R without its diagonal: a band of ``width`` neighbours in two independent blocks
    [0, cut) and [cut, m), every value in the band non-zero."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.05, 0.4, (m, m)) * rng.choice([-1.0, 1.0], (m, m))
    off = np.triu(values, k=1)
    off = off + off.T
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    off[(np.abs(j - k) > width) | ((j < cut) != (k < cut)) | (j == k)] = 0.0
    return off


def _upper_band(off, width=WIDTH, cut=CUT):
    """The strict upper triangle of ``off`` as a band SparseLD (no column indices)."""
    m = len(off)
    block_end = np.where(np.arange(m) < cut, cut, m)
    lengths = np.minimum(width, block_end - 1 - np.arange(m))
    data = np.concatenate([off[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    return SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m)


def _upper_indexed(off):
    """The strict upper triangle of ``off`` as a SparseLD with column indices."""
    upper = sp.csr_matrix(np.triu(off, k=1))
    return SparseLD(upper.data, upper.indptr.astype(np.int64), upper.indices, len(off))


def _block_eigenvalues(off, bounds):
    blocks = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        values = np.linalg.eigvalsh(off[start:stop, start:stop] + np.eye(stop - start))
        blocks.append({"start": int(start), "stop": int(stop), "min": float(values[0]),
                       "max": float(values[-1])})
    return blocks


@pytest.fixture(scope="module")
def matrix():
    off = _offdiagonal()
    band = LDRows.from_upper(_upper_band(off))
    csr = LDRows.from_csr(sp.csr_matrix(off))
    return {"off": off, "band": band, "csr": csr}


def _dense(ld, **kw):
    return ld.to_csr(**kw).toarray()


# ---------------------------------------------------------------- the two layouts


def test_layouts__band_and_csr_hold_the_same_matrix(matrix):
    off, band, csr = matrix["off"], matrix["band"], matrix["csr"]
    assert band.layout == "band" and band.indices is None and band.first is not None
    assert csr.layout == "csr" and csr.first is None and csr.indices is not None
    for ld in (band, csr):
        assert ld.shape == (M, M) and ld.n_variants == M and ld.dtype == np.float64
        assert ld.scale == 1.0 and ld.parts is None and ld.eigenvalues is None
        assert_array_equal(_dense(ld), off)
        assert_array_equal(_dense(ld, diagonal=1.0), off + np.eye(M))
        assert_array_equal(ld.to_scipy().toarray(), off)
        assert ld.to_csr().nnz == np.count_nonzero(off)  # explicit zeros (band diagonal) dropped
    # the band stores each row's diagonal slot (as 0), CSR only the non-zero values
    assert len(band.data) == len(csr.data) + M
    assert np.diff(band.indptr).max() == 2 * WIDTH + 1


def test_layouts__dot_row_and_entries_agree(matrix):
    off, band, csr = matrix["off"], matrix["band"], matrix["csr"]
    v = np.random.default_rng(1).normal(size=M)
    for ld in (band, csr):
        assert_allclose(ld.dot(v), (off + np.eye(M)) @ v, rtol=1e-12, atol=1e-12)
        assert_allclose(ld.dot(v, diagonal=0.0), off @ v, rtol=1e-12, atol=1e-12)
        assert_allclose(ld.dot(v, diagonal=2.5), (off + 2.5 * np.eye(M)) @ v, rtol=1e-12,
                        atol=1e-12)
        for j in range(M):
            columns, values = ld.row(j)
            assert values.dtype == np.float64
            row = np.zeros(M)
            row[columns] = values * ld.scale
            assert_array_equal(row, off[j], err_msg=f"{ld.layout} row {j}")
        which = np.array([0, 5, CUT - 1, CUT, M - 1])
        rows, cols, values = ld.entries_of(which)
        got = np.zeros((M, M))
        got[rows, cols] = values
        assert_array_equal(got[which], off[which])
        assert set(rows) == set(which)
    # band rows are contiguous and hold their own diagonal
    for j in range(M):
        columns, _ = band.row(j)
        assert_array_equal(columns, np.arange(columns[0], columns[-1] + 1))
        assert columns[0] <= j <= columns[-1]


def test_layouts__mean_ld_score_and_segments(matrix):
    off, band, csr = matrix["off"], matrix["band"], matrix["csr"]
    expected = 1.0 + np.mean(np.sum(off**2, axis=1))
    for ld in (band, csr):
        assert ld.mean_ld_score() == pytest.approx(expected, rel=1e-12)
        assert_array_equal(ld.segments, [0, CUT, M])
        assert ld.segments.dtype == np.int64
    # no LD at all: every variant is its own segment, the mean LD score is 1
    empty = LDRows.of(sp.csr_matrix((5, 5)))
    assert_array_equal(empty.segments, np.arange(6))
    assert empty.mean_ld_score() == 1.0


def test_layouts__kernel_arrays(matrix):
    band, csr = matrix["band"], matrix["csr"]
    data, indices, first, indptr, scale, segments = band.kernel_arrays()
    assert len(indices) == 0 and len(first) == M and first.dtype == np.int64
    assert data is band.data and indptr.dtype == np.int64 and scale == 1.0
    assert_array_equal(segments, [0, CUT, M])
    data, indices, first, indptr, scale, segments = csr.kernel_arrays()
    assert len(first) == 0 and indices.dtype in (np.int32, np.int64)
    assert len(indices) == len(data) == np.count_nonzero(matrix["off"])
    assert_array_equal(segments, [0, CUT, M])


def test_from_upper__bands_with_decreasing_row_ends_become_csr():
    # row 0 reaches column 3, row 1 only column 2: not a band with non-decreasing ends
    off = np.zeros((4, 4))
    off[0, 1:4] = [0.3, 0.2, 0.1]
    off[1, 2] = 0.25
    off = off + off.T
    upper = SparseLD(np.array([0.3, 0.2, 0.1, 0.25]), np.array([0, 3, 4, 4, 4]), None, 4)
    ld = LDRows.from_upper(upper)
    assert ld.layout == "csr"
    assert_array_equal(_dense(ld), off)


def test_block_eigenvalues__computed_when_absent_and_kept(matrix):
    off = matrix["off"]
    ld = LDRows.from_csr(sp.csr_matrix(off))
    (block,) = ld.block_eigenvalues()
    values = np.linalg.eigvalsh(off + np.eye(M))
    assert (block["start"], block["stop"]) == (0, M)
    assert block["min"] == pytest.approx(values[0], abs=1e-10)
    assert block["max"] == pytest.approx(values[-1], abs=1e-10)
    assert ld.eigenvalues is ld.block_eigenvalues()
    given = _block_eigenvalues(off, [0, CUT, M])
    assert LDRows.from_upper(_upper_band(off), eigenvalues=given).block_eigenvalues() is given


# ---------------------------------------------------------------- LDRows.of


def test_of__upper_sparse_ld_symmetric_and_triangular_scipy_agree(matrix):
    off = matrix["off"]
    inputs = {
        "SparseLD band": _upper_band(off),
        "SparseLD indexed": _upper_indexed(off),
        "symmetric csr": sp.csr_matrix(off),
        "symmetric coo": sp.coo_matrix(off),
        "upper triangle": sp.csr_matrix(np.triu(off, k=1)),
        "upper triangle (csc)": sp.csc_matrix(np.triu(off, k=1)),
        "with unit diagonal": sp.csr_matrix(off + np.eye(M)),
        "upper with diagonal": sp.csr_matrix(np.triu(off, k=1) + np.eye(M)),
    }
    for name, value in inputs.items():
        ld = LDRows.of(value)
        assert isinstance(ld, LDRows) and ld.n_variants == M
        assert_array_equal(_dense(ld), off, err_msg=name)
        assert_array_equal(ld.segments, [0, CUT, M], err_msg=name)
    assert LDRows.of(inputs["SparseLD band"]).layout == "band"
    assert LDRows.of(inputs["SparseLD indexed"]).layout == "csr"
    assert LDRows.of(inputs["symmetric csr"]).layout == "csr"
    assert LDRows.of(matrix["band"]) is matrix["band"]  # an LDRows is returned as it is


def test_of__scale_applies_to_sparse_ld_and_scipy(matrix):
    off = matrix["off"]
    upper = _upper_band(off)
    stored = SparseLD(quantise(upper.data, np.int16), upper.indptr, None, M)
    a = LDRows.of(stored, scale=INT16)
    b = LDRows.of(sp.csr_matrix(quantise(off, np.int16)), scale=INT16)
    assert a.dtype == b.dtype == np.int16 and a.scale == b.scale == INT16
    assert_array_equal(_dense(a), _dense(b))
    assert_allclose(_dense(a), off, rtol=0, atol=0.5 * INT16 + 1e-15)


def test_of__refuses_other_types_and_non_square_matrices(matrix):
    with pytest.raises(TypeError, match="unsupported LD type"):
        LDRows.of(matrix["off"])  # a dense array
    with pytest.raises(ValueError, match="square"):
        LDRows.of(sp.csr_matrix(np.ones((3, 4))))


# ---------------------------------------------------------------- subset


@pytest.mark.parametrize("layout", ["band", "csr"])
def test_subset__equals_the_dense_submatrix_in_the_same_layout(matrix, layout):
    off, ld = matrix["off"], matrix[layout]
    rng = np.random.default_rng(3)
    for _ in range(5):
        keep = rng.random(M) < 0.6
        sub = ld.subset(keep)
        assert sub.layout == layout and sub.n_variants == keep.sum()
        assert sub.dtype == ld.dtype and sub.scale == ld.scale
        assert_array_equal(_dense(sub), off[np.ix_(keep, keep)])
        kept_cut = int(keep[:CUT].sum())
        assert set(sub.segments) >= {0, kept_cut, int(keep.sum())}
        if layout == "band":
            for j in range(sub.n_variants):  # still contiguous rows holding their diagonal
                columns, _ = sub.row(j)
                assert columns[0] <= j <= columns[-1]
                assert_array_equal(columns, np.arange(columns[0], columns[-1] + 1))
    assert ld.subset(np.ones(M, bool)).to_csr().nnz == np.count_nonzero(off)
    none = ld.subset(np.zeros(M, bool))
    assert none.n_variants == 0 and none.layout == layout
    with pytest.raises(ValueError, match="keep must have"):
        ld.subset(np.ones(M - 1, bool))


def test_subset__band_and_csr_subsets_agree(matrix):
    keep = np.random.default_rng(4).random(M) < 0.5
    band, csr = matrix["band"].subset(keep), matrix["csr"].subset(keep)
    assert_array_equal(_dense(band), _dense(csr))
    assert_array_equal(band.segments, csr.segments)
    assert band.mean_ld_score() == pytest.approx(csr.mean_ld_score(), rel=1e-12)


def test_subset__reindexes_the_eigenvalue_blocks(matrix):
    off = matrix["off"]
    blocks = _block_eigenvalues(off, [0, CUT, M])
    ld = LDRows.from_upper(_upper_band(off), eigenvalues=blocks)
    keep = np.ones(M, bool)
    keep[[1, 2, 20, 25, 26]] = False
    sub = ld.subset(keep)
    assert [(b["start"], b["stop"]) for b in sub.eigenvalues] == [(0, CUT - 2), (CUT - 2, M - 5)]
    assert [(b["min"], b["max"]) for b in sub.eigenvalues] == [(b["min"], b["max"]) for b in blocks]
    # a principal submatrix's eigenvalues lie within its block's extremes
    for b in sub.eigenvalues:
        part = _dense(sub, diagonal=1.0)[b["start"]:b["stop"], b["start"]:b["stop"]]
        values = np.linalg.eigvalsh(part)
        assert b["min"] - 1e-12 <= values[0] and values[-1] <= b["max"] + 1e-12
    # a block with no variant left is dropped; none left at all gives None
    first_only = np.arange(M) < CUT
    assert [(b["start"], b["stop"]) for b in ld.subset(first_only).eigenvalues] == [(0, CUT)]
    assert ld.subset(np.zeros(M, bool)).eigenvalues is None
    assert matrix["band"].subset(keep).eigenvalues is None  # none given, none made up


# ---------------------------------------------------------------- concatenate


def test_concatenate__block_diagonal_with_parts_and_shifted_eigenvalues(matrix):
    off_a = matrix["off"]
    off_b = _offdiagonal(m=12, width=2, cut=5, seed=7)
    blocks_a = _block_eigenvalues(off_a, [0, CUT, M])
    blocks_b = _block_eigenvalues(off_b, [0, 12])
    a = LDRows.from_upper(_upper_band(off_a), eigenvalues=blocks_a)
    b = LDRows.from_upper(_upper_band(off_b, width=2, cut=5), eigenvalues=blocks_b)
    joined = LDRows.concatenate([a, b])
    assert joined.layout == "band" and joined.n_variants == M + 12 and joined.parts == [M, 12]
    expected = scipy.linalg.block_diag(off_a, off_b)
    assert_array_equal(_dense(joined), expected)
    assert_array_equal(joined.segments, [0, CUT, M, M + 5, M + 12])
    assert [(e["start"], e["stop"]) for e in joined.eigenvalues] == [(0, CUT), (CUT, M), (M, M + 12)]
    assert joined.eigenvalues[2]["min"] == blocks_b[0]["min"]
    assert joined.eigenvalues[2]["max"] == blocks_b[0]["max"]
    assert joined.mean_ld_score() == pytest.approx(1 + np.mean(np.sum(expected**2, axis=1)))
    # band and CSR parts give CSR rows of the same matrix; eigenvalues only when every part has them
    mixed = LDRows.concatenate([a, LDRows.of(sp.csr_matrix(off_b))])
    assert mixed.layout == "csr" and mixed.parts == [M, 12] and mixed.eigenvalues is None
    assert_array_equal(_dense(mixed), expected)
    assert_array_equal(mixed.segments, joined.segments)
    # what LDRows.of accepts is accepted too
    assert_array_equal(_dense(LDRows.concatenate([_upper_band(off_a), sp.csr_matrix(off_b)])),
                       expected)


def test_concatenate__quantised_parts_keep_their_values_and_scale(matrix):
    upper = _upper_band(matrix["off"])
    part = LDRows.from_upper(SparseLD(quantise(upper.data, np.int16), upper.indptr, None, M),
                             scale=INT16)
    joined = LDRows.concatenate([part, part])
    assert joined.dtype == np.int16 and joined.scale == INT16
    assert_array_equal(_dense(joined), scipy.linalg.block_diag(_dense(part), _dense(part)))


def test_concatenate__band_parts_then_read_the_joint_values(matrix):
    off_b = _offdiagonal(m=12, width=2, cut=5, seed=7)
    a = LDRows.from_upper(_upper_band(matrix["off"]))
    b = LDRows.from_upper(_upper_band(off_b, width=2, cut=5))
    before = [_dense(a), _dense(b)]
    own = [a.data, b.data]
    joined = LDRows.concatenate([a, b])
    # each part's values are now its slice of the joint array (its own copy can be freed)
    assert a.data.base is joined.data and b.data.base is joined.data
    assert not any(np.shares_memory(x, joined.data) for x in own)
    assert_array_equal(_dense(a), before[0])
    assert_array_equal(_dense(b), before[1])
    assert_array_equal(_dense(joined), scipy.linalg.block_diag(*before))
    # a part joined twice, and a joint matrix joined again, keep their values
    again = LDRows.concatenate([joined, a, a])
    assert_array_equal(_dense(again), scipy.linalg.block_diag(*before, before[0], before[0]))


def test_concatenate__refuses_mixed_value_types_and_scales(matrix):
    band = matrix["band"]
    as_float32 = LDRows(band.data.astype(np.float32), band.indptr, M, first=band.first)
    with pytest.raises(ValueError, match="different value types"):
        LDRows.concatenate([band, as_float32])
    quantised = LDRows(quantise(band.data, np.int16), band.indptr, M, first=band.first,
                       scale=INT16)
    other_scale = LDRows(quantise(band.data, np.int16), band.indptr, M, first=band.first,
                         scale=2 * INT16)
    with pytest.raises(ValueError, match="different value types"):
        LDRows.concatenate([quantised, other_scale])


# ---------------------------------------------------------------- quantised values


@pytest.mark.parametrize("ld_dtype, scale", [(np.int16, INT16), (np.int8, 1.0 / 127)])
@pytest.mark.parametrize("layout", ["band", "csr"])
def test_quantised__values_times_scale_are_the_correlations(matrix, ld_dtype, scale, layout):
    off, ref = matrix["off"], matrix[layout]
    kw = {"first": ref.first} if layout == "band" else {"indices": ref.indices}
    stored = quantise(ref.data, ld_dtype)
    ld = LDRows(stored, ref.indptr, M, scale=scale, **kw)
    assert ld.dtype == ld_dtype and ld.scale == scale and ld.layout == layout
    dense = _dense(ld)
    assert_allclose(dense, off, rtol=0, atol=0.5 * scale + 1e-15)
    # exactly the stored values times the scale, in the dtype asked for
    assert_array_equal(ld.to_scipy().toarray(), quantise(off, ld_dtype))
    assert_allclose(dense, quantise(off, ld_dtype).astype(np.float64) * scale, rtol=1e-15)
    assert ld.to_csr(dtype=np.float32).dtype == np.float32
    v = np.random.default_rng(5).normal(size=M)
    assert_allclose(ld.dot(v), dense @ v + v, rtol=1e-12, atol=1e-12)
    assert ld.mean_ld_score() == pytest.approx(1 + np.mean(np.sum(dense**2, axis=1)), rel=1e-12)
    columns, values = ld.row(3)  # stored values, before the scale
    assert_array_equal(values, stored[ld.indptr[3]:ld.indptr[4]].astype(np.float64))
    rows, cols, correlations = ld.entries_of([3])
    assert_allclose(correlations, values * scale, rtol=1e-15)
    assert ld.kernel_arrays()[4] == scale


# ---------------------------------------------------------------- the constructor


def test_constructor__checks_its_arguments(matrix):
    band, csr = matrix["band"], matrix["csr"]
    with pytest.raises(ValueError, match="exactly one of first"):
        LDRows(csr.data, csr.indptr, M)
    with pytest.raises(ValueError, match="exactly one of first"):
        LDRows(band.data, band.indptr, M, first=band.first, indices=np.zeros(len(band.data), int))
    for bad in (np.int32, np.int64, np.float16, np.uint8):
        with pytest.raises(ValueError, match="LD values must be one of"):
            LDRows(csr.data.astype(bad), csr.indptr, M, indices=csr.indices)
    with pytest.raises(ValueError, match="indptr has"):
        LDRows(csr.data, csr.indptr[:-1], M, indices=csr.indices)
    # other integer index types are converted to int64, int32 kept
    ld = LDRows(csr.data, csr.indptr, M, indices=csr.indices.astype(np.int16))
    assert ld.indices.dtype == np.int64
    assert LDRows(csr.data, csr.indptr, M, indices=csr.indices.astype(np.int32)).indices.dtype == np.int32
    assert_array_equal(_dense(ld), matrix["off"])


# ---------------------------------------------------------------- LDMatrix.rows


N_SAMPLES, M_STORE = 80, 40


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    """One chromosome of 40 polymorphic variants in LD, no missing calls."""
    rng = np.random.default_rng(21)
    geno = rng.binomial(2, rng.uniform(0.2, 0.5, M_STORE), size=(N_SAMPLES, M_STORE)).astype(np.int8)
    for j in range(1, M_STORE):
        copy = rng.random(N_SAMPLES) < 0.6
        geno[copy, j] = geno[copy, j - 1]
    assert np.all(geno.min(axis=0) != geno.max(axis=0))
    pos = np.cumsum(rng.integers(500, 3000, M_STORE))
    bim = pd.DataFrame({"CHR": ["1"] * M_STORE, "SNP": [f"snp{j}" for j in range(M_STORE)],
                        "CM": pos * 1e-6, "POS": pos, "A1": "A", "A2": "C"})
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(N_SAMPLES)],
                        "IID": [f"I{i}" for i in range(N_SAMPLES)],
                        "SEX": rng.integers(1, 3, N_SAMPLES)})
    d = tmp_path_factory.mktemp("ld_rows")
    write_bfile(d / "ref", geno, bim, fam)
    return {"prefix": d / "ref", "geno": geno, "dir": d}


def _store(fileset, name, **kwargs):
    out = fileset["dir"] / name
    if not out.exists():
        build_ld_store(fileset["prefix"], out, chrom="1", compute_dtype=np.float64, **kwargs)
    return LDMatrix(out)


def test_ldmatrix_rows__sample_ld_of_the_kept_variants(fileset):
    mat = _store(fileset, "sample.zarr", estimator=LDEstimator("sample"), dtype="float64")
    assert mat.n_stored == M_STORE
    keep = np.random.default_rng(8).random(M_STORE) < 0.6
    ld = mat.rows(keep)
    assert isinstance(ld, LDRows) and ld.n_variants == keep.sum() and ld.scale == 1.0
    expected = np.corrcoef(fileset["geno"][:, keep].astype(np.float64).T)
    assert_allclose(_dense(ld, diagonal=1.0), expected, rtol=0, atol=1e-10)
    assert_allclose(_dense(ld), expected - np.eye(keep.sum()), rtol=0, atol=1e-10)
    # the same variants by SNP ID; no keep: the mask set last
    by_id = mat.rows([f"snp{j}" for j in np.flatnonzero(keep)])
    assert_array_equal(_dense(by_id), _dense(ld))
    assert_array_equal(_dense(mat.rows()), _dense(ld))
    # the store's eigenvalue block, in the kept variants' indices
    (block,) = ld.eigenvalues
    assert (block["start"], block["stop"]) == (0, keep.sum())
    values = np.linalg.eigvalsh(np.corrcoef(fileset["geno"].astype(np.float64).T))
    assert block["min"] == pytest.approx(values[0], abs=1e-6)
    assert block["max"] == pytest.approx(values[-1], abs=1e-6)


def test_ldmatrix_rows__quantised_windowed_store(fileset):
    mat = _store(fileset, "windowed_int16.zarr",
                 estimator=LDEstimator("windowed", window_variants=6, taper="none"), dtype="int16")
    keep = np.ones(M_STORE, bool)
    keep[[0, 7, 8, 21, 39]] = False
    ld = mat.rows(keep)
    assert ld.layout == "band" and ld.dtype == np.int16 and ld.scale == pytest.approx(INT16)
    full = np.corrcoef(fileset["geno"].astype(np.float64).T)
    j, k = np.meshgrid(np.arange(M_STORE), np.arange(M_STORE), indexing="ij")
    window = np.where((np.abs(j - k) <= 6) & (j != k), full, 0.0)
    assert_allclose(_dense(ld), window[np.ix_(keep, keep)], rtol=0, atol=0.5 * INT16 + 1e-9)
    # the rows of the whole store, subset, give the same LDRows
    whole = LDMatrix(mat.path).rows()
    sub = whole.subset(keep)
    assert sub.layout == "band"
    assert_array_equal(sub.data, ld.data)
    assert_array_equal(sub.indptr, ld.indptr)
    assert_array_equal(sub.first, ld.first)
    assert sub.eigenvalues == ld.eigenvalues


def test_of__a_lower_triangle_alone_is_mirrored():
    dense = np.array([[0, 0.5, 0.1], [0.5, 0, 0.2], [0.1, 0.2, 0]])
    lower = sp.csr_matrix(np.tril(dense, -1))
    assert_allclose(LDRows.of(lower).to_csr().toarray(), dense)
