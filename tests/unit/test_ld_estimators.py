"""LD estimators against dense np.corrcoef references, each under its pair rule (prs_vi.md §11)."""

import numpy as np
import pytest

from vibank.errors import VibankError
from vibank.ld.estimators import (
    LDEstimator,
    SparseLD,
    compute_ld,
    ld_scores,
    row_sums_of_squares,
    standardise_panel,
    watterson_theta,
)
from vibank.ld.windows import block_ends, window_ends

N, M = 200, 300
TOL = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


@pytest.fixture(scope="module")
def panel():
    """Genotypes with LD (each variant copies its predecessor in a random 70% of samples), 1%
    missing calls; positions, cM, and the reference R of the mean-imputed counts."""
    rng = np.random.default_rng(2024)
    geno = rng.binomial(2, rng.uniform(0.05, 0.5, M), size=(N, M)).astype(np.int8)
    for j in range(1, M):
        copy = rng.random(N) < 0.7
        geno[copy, j] = geno[copy, j - 1]
    geno[rng.random(geno.shape) < 0.01] = -127
    pos = np.cumsum(rng.integers(200, 4000, M)).astype(np.int64) + 100_000
    cm = pos * 1e-5  # ~6 cM: the shrinkage factor decays visibly along the chromosome
    counts = np.where(geno >= 0, geno, np.nan).astype(np.float64)
    imputed = np.where(np.isnan(counts), np.nanmean(counts, axis=0), counts)
    return {"geno": geno, "pos": pos, "cm": cm, "counts": counts, "R": np.corrcoef(imputed.T)}


@pytest.fixture(scope="module")
def xs(panel):
    return {dt: standardise_panel(panel["geno"], dtype=dt)[0] for dt in DTYPES}


def _check(ld, expected, keep, dtype):
    """Compare upper and symmetric CSR forms with the reference R restricted to ``keep``."""
    tol = TOL[dtype]
    upper = np.triu(np.where(keep, expected, 0.0), 1)
    assert ld.data.dtype == np.dtype(dtype)
    got_upper = ld.to_scipy()
    assert got_upper.shape == (M, M)
    np.testing.assert_allclose(got_upper.toarray(), upper, atol=tol, rtol=0)
    np.testing.assert_allclose(ld.to_scipy(symmetric=True).toarray(), upper + upper.T + np.eye(M),
                               atol=tol, rtol=0)
    # the stored pattern is exactly the estimator's pair set (no more, no fewer)
    rows, cols = ld.rows(), ld.columns()
    pattern = np.zeros((M, M), dtype=bool)
    pattern[rows, cols] = True
    np.testing.assert_array_equal(pattern, np.triu(keep, 1))
    assert np.all(cols > rows)


def _pairs(n):
    return np.meshgrid(np.arange(n), np.arange(n), indexing="ij")


@pytest.mark.parametrize("dtype", DTYPES)
def test_compute_ld__sample_is_all_pairs(panel, xs, dtype):
    ld = compute_ld(xs[dtype], estimator=LDEstimator("sample"))
    _check(ld, panel["R"], np.ones((M, M), dtype=bool), dtype)
    assert ld.indices is None and len(ld.data) == M * (M - 1) // 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("window", [{"window_cm": 0.05}, {"window_kb": 12}, {"window_variants": 9},
                                    {"window_cm": 0.08, "window_kb": 5, "window_variants": 6}])
def test_compute_ld__windowed_keeps_pairs_inside_the_window(panel, xs, dtype, window):
    pos, cm = panel["pos"], panel["cm"]
    ends = window_ends(pos, cm, **window)
    est = LDEstimator("windowed", **window)
    ld = compute_ld(xs[dtype], estimator=est, ends=ends, cm=cm, pos=pos)
    j, k = _pairs(M)
    keep = np.ones((M, M), dtype=bool)
    if "window_cm" in window:
        keep &= np.abs(cm[j] - cm[k]) <= window["window_cm"] + 1e-9
    if "window_kb" in window:
        keep &= np.abs(pos[j] - pos[k]) <= 1000 * window["window_kb"]
    if "window_variants" in window:
        keep &= np.abs(j - k) <= window["window_variants"]
    assert 0 < np.triu(keep, 1).sum() < M * (M - 1) // 2  # the window really cuts
    _check(ld, panel["R"], keep, dtype)
    assert ld.indices is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_compute_ld__block_keeps_pairs_in_the_same_block(panel, xs, dtype):
    pos = panel["pos"]
    starts = np.array([pos[0], pos[60], pos[150], pos[151]])
    # half-open: variants 50-59, 140-149 and 299 are outside every block
    stops = np.array([pos[50], pos[140], pos[151], pos[299]])
    ld = compute_ld(xs[dtype], estimator=LDEstimator("block", blocks_file="blocks.bed"),
                    ends=block_ends(pos, starts, stops))
    block = np.full(M, -1)
    block[0:50], block[60:140], block[150], block[151:299] = 0, 1, 2, 3
    keep = (block[:, None] == block[None, :]) & (block[:, None] >= 0)
    _check(ld, panel["R"], keep, dtype)


def _shrinkage_reference(panel, ne, n):
    theta = watterson_theta(2 * n)
    cm = panel["cm"]
    decay = np.exp(-4 * ne * (np.abs(np.subtract.outer(cm, cm)) / 100) / (2 * 2 * n))
    shrink = (1 - theta) ** 2 / ((1 - theta) ** 2 + theta / 2 * (1 - theta / 2))
    return panel["R"] * decay * shrink


@pytest.mark.parametrize("cutoff", [1e-3, 0.05])
def test_compute_ld__shrinkage_float64_follows_wen_stephens(panel, xs, cutoff):
    est = LDEstimator("shrinkage", cutoff=cutoff)
    ld = compute_ld(xs[np.float64], estimator=est, cm=panel["cm"], pos=panel["pos"])
    expected = _shrinkage_reference(panel, est.ne, N)
    keep = np.abs(expected) >= cutoff
    assert 0 < (~np.triu(keep, 1)).sum() - M * (M + 1) // 2  # the cutoff drops some pairs
    _check(ld, expected, keep, np.float64)
    assert ld.indices is not None and ld.indices.dtype == np.int32
    assert np.all(np.abs(ld.data) >= cutoff)


def test_compute_ld__shrinkage_float32_within_tolerance(panel, xs):
    est = LDEstimator("shrinkage", cutoff=1e-3)
    ld = compute_ld(xs[np.float32], estimator=est, cm=panel["cm"])
    assert ld.data.dtype == np.float32
    expected = np.triu(_shrinkage_reference(panel, est.ne, N), 1)
    got = ld.to_scipy().toarray()
    # pairs within float32 rounding of the cutoff may fall either side of it
    clear = np.abs(np.abs(expected) - est.cutoff) > 1e-5
    np.testing.assert_allclose(np.where(clear, got, 0), np.where(clear & (np.abs(expected) >= 1e-3),
                                                                 expected, 0), atol=1e-5, rtol=0)


def test_compute_ld__shrinkage_uses_ne(panel, xs):
    small = compute_ld(xs[np.float64], estimator=LDEstimator("shrinkage", ne=1.0, cutoff=0),
                       cm=panel["cm"])
    _check(small, _shrinkage_reference(panel, 1.0, N), np.ones((M, M), dtype=bool), np.float64)


def _estimators(panel):
    pos, cm = panel["pos"], panel["cm"]
    return [(LDEstimator("sample"), None),
            (LDEstimator("windowed", window_cm=0.1), window_ends(pos, cm, window_cm=0.1)),
            (LDEstimator("block", blocks_file="b"), block_ends(pos, [pos[3]], [pos[200]])),
            (LDEstimator("shrinkage"), None)]


def _assert_identical(a, b, atol=0.0):
    if atol:
        np.testing.assert_allclose(a.data, b.data, atol=atol, rtol=0)
    else:
        np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    assert (a.indices is None) == (b.indices is None)
    if a.indices is not None:
        np.testing.assert_array_equal(a.indices, b.indices)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", range(4))
def test_compute_ld__threads_give_identical_results(panel, xs, dtype, which):
    est, ends = _estimators(panel)[which]
    one = compute_ld(xs[dtype], estimator=est, cm=panel["cm"], ends=ends, n_threads=1, tile=32)
    two = compute_ld(xs[dtype], estimator=est, cm=panel["cm"], ends=ends, n_threads=2, tile=32)
    _assert_identical(one, two)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", range(4))
def test_compute_ld__tile_size_gives_the_same_pairs_and_values(panel, xs, dtype, which):
    # Same pairs; values equal up to BLAS rounding: a GEMM's summation order depends on the
    # operand shapes, so tile 7 and tile 1024 differ in the last bits (threads do not: see above)
    est, ends = _estimators(panel)[which]
    small = compute_ld(xs[dtype], estimator=est, cm=panel["cm"], ends=ends, tile=7)
    big = compute_ld(xs[dtype], estimator=est, cm=panel["cm"], ends=ends, tile=1024)
    _assert_identical(small, big, atol={np.float64: 1e-13, np.float32: 5e-6}[dtype])


def test_compute_ld__sample_refused_above_max_dense_variants(xs):
    with pytest.raises(VibankError, match="max_dense_variants"):
        compute_ld(xs[np.float64], estimator=LDEstimator("sample", max_dense_variants=M - 1))
    ld = compute_ld(xs[np.float64], estimator=LDEstimator("sample", max_dense_variants=M))
    assert ld.n_variants == M


def test_compute_ld__needs_ends_or_cm(xs):
    with pytest.raises(ValueError, match="window ends"):
        compute_ld(xs[np.float64], estimator=LDEstimator("windowed"))
    with pytest.raises(ValueError, match="cM"):
        compute_ld(xs[np.float64], estimator=LDEstimator("shrinkage"))


def test_ldestimator__unknown_name_and_params():
    with pytest.raises(VibankError, match="unknown LD estimator 'banded'"):
        LDEstimator("banded")
    assert LDEstimator("shrinkage").params() == {"ne": 11490.672, "cutoff": 1e-3}
    assert LDEstimator("windowed", window_kb=10).params() == {"window_cm": 3.0, "window_kb": 10,
                                                             "window_variants": None,
                                                             "taper": "bartlett"}
    with pytest.raises(VibankError, match="unknown LD taper 'hann'"):
        LDEstimator("windowed", taper="hann")
    auto = LDEstimator("windowed", window_cm="auto")
    assert auto.for_panel(378).window_cm == 0.7 and auto.for_panel(10_000).window_cm == 3.0
    assert LDEstimator("block", window_cm="auto").for_panel(378).window_cm == 3.0


# ---------------------------------------------------------------- standardise_panel


@pytest.mark.parametrize("dtype", DTYPES)
def test_standardise_panel__correlation_frequency_and_counts(panel, dtype):
    x, freq, n_obs = standardise_panel(panel["geno"], dtype=dtype)
    assert x.shape == (M, N) and x.dtype == np.dtype(dtype)
    np.testing.assert_allclose(x @ x.T / N, panel["R"], atol=TOL[dtype] * 10)
    np.testing.assert_allclose(freq, np.nanmean(panel["counts"], axis=0) / 2, atol=1e-6)
    np.testing.assert_array_equal(n_obs, (~np.isnan(panel["counts"])).sum(axis=0))


def test_standardise_panel__monomorphic_variant_raises(panel):
    geno = panel["geno"].copy()
    geno[:, 17] = np.where(geno[:, 17] >= 0, 2, -127)  # every observed call is 2
    with pytest.raises(VibankError, match="1 variants are monomorphic"):
        standardise_panel(geno)


def test_standardise_panel__all_missing_variant_raises(panel):
    geno = panel["geno"].copy()
    geno[:, [3, 4]] = -127
    with pytest.raises(VibankError, match="2 variants are monomorphic"):
        standardise_panel(geno, dtype=np.float64)


def test_watterson_theta__closed_form():
    assert watterson_theta(2) == pytest.approx(1 / 3)
    a = np.sum(1.0 / np.arange(1, 400))
    assert watterson_theta(400) == pytest.approx((1 / a) / (400 + 1 / a))


# ---------------------------------------------------------------- ld_scores


def _sym_offdiag(ld):
    return ld.to_scipy(symmetric=True).toarray().astype(np.float64) - np.eye(ld.n_variants)


@pytest.mark.parametrize("which", range(4))
def test_ld_scores__one_plus_row_sums_of_r2(panel, xs, which):
    est, ends = _estimators(panel)[which]
    ld = compute_ld(xs[np.float64], estimator=est, cm=panel["cm"], ends=ends)
    off = _sym_offdiag(ld)
    np.testing.assert_allclose(ld_scores(ld), 1 + (off**2).sum(axis=1), atol=1e-10)


@pytest.mark.parametrize("which", range(4))
def test_ld_scores__bias_corrected(panel, xs, which):
    est, ends = _estimators(panel)[which]
    ld = compute_ld(xs[np.float64], estimator=est, cm=panel["cm"], ends=ends)
    off = _sym_offdiag(ld)
    stored = np.zeros((M, M), dtype=bool)
    stored[ld.rows(), ld.columns()] = True
    stored |= stored.T  # only stored pairs are corrected; unstored pairs add nothing
    adj = np.where(stored, off**2 - (1 - off**2) / (N - 2), 0.0)
    np.testing.assert_allclose(ld_scores(ld, n_ref=N, bias_corrected=True), 1 + adj.sum(axis=1),
                               atol=1e-10)
    with pytest.raises(ValueError, match="n_ref > 2"):
        ld_scores(ld, bias_corrected=True)


def test_ld_scores__empty_matrix_is_one():
    ld = SparseLD(np.empty(0), np.zeros(5, dtype=np.int64), None, 4)
    np.testing.assert_array_equal(ld_scores(ld), np.ones(4))


def test_ld_scores__band_with_empty_rows_inside():
    # rows 0 and 2 empty, row 1 -> column 2 ... band layout with gaps
    ld = SparseLD(np.array([0.5, 0.2, 0.3]), np.array([0, 0, 2, 2, 3, 3]), None, 5)
    off = _sym_offdiag(ld)
    np.testing.assert_allclose(ld_scores(ld), 1 + (off**2).sum(axis=1), atol=1e-12)


def test_ld_scores__last_nonempty_row_with_two_values_then_empty_rows():
    ld = SparseLD(np.array([0.5, 0.5]), np.array([0, 2, 2, 2]), np.array([1, 2], np.int32), 3)
    np.testing.assert_allclose(ld_scores(ld), [1.5, 1.25, 1.25])


def test_ld_scores__shrinkage_when_cutoff_empties_the_last_rows():
    # v0 = g1 + g2 correlates ~0.7 with both g1 and g2, which are independent: with cutoff 0.3 the
    # pair (1, 2) is dropped, so row 0 (two values) is followed only by empty rows
    rng = np.random.default_rng(5)
    g = rng.integers(0, 2, size=(N, 2))
    geno = np.column_stack([g.sum(axis=1), g]).astype(np.int8)
    x = standardise_panel(geno, dtype=np.float64)[0]
    ld = compute_ld(x, estimator=LDEstimator("shrinkage", cutoff=0.3), cm=np.zeros(3))
    assert list(np.diff(ld.indptr)) == [2, 0, 0]
    off = _sym_offdiag(ld)
    np.testing.assert_allclose(ld_scores(ld), 1 + (off**2).sum(axis=1), atol=1e-12)


@pytest.mark.parametrize("lengths", [[2, 0, 0], [0, 0, 3], [0, 1, 0, 2, 0, 0], [0, 0, 0], [4],
                                     [1, 1, 1], []])
def test_row_sums_of_squares__any_empty_rows(lengths):
    rng = np.random.default_rng(len(lengths))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = rng.uniform(-127, 127, indptr[-1]).round().astype(np.int8)
    expected = [np.sum((data[a:b] / 127.0) ** 2) for a, b in zip(indptr[:-1], indptr[1:])]
    np.testing.assert_allclose(row_sums_of_squares(data, indptr, scale=1 / 127), expected,
                               rtol=1e-12)


def test_row_sums_of_squares__random_sparse_rows():
    rng = np.random.default_rng(11)
    lengths = rng.integers(0, 4, 500) * (rng.random(500) < 0.5)
    lengths[-50:] = 0  # empty trailing rows after non-empty ones
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = rng.normal(size=indptr[-1]).astype(np.float32)
    rows = np.repeat(np.arange(500), lengths)
    expected = np.bincount(rows, weights=data.astype(np.float64) ** 2, minlength=500)
    np.testing.assert_allclose(row_sums_of_squares(data, indptr), expected, rtol=1e-12)


def test_sparse_ld__to_scipy_diagonal_and_columns():
    ld = SparseLD(np.array([0.1, 0.2, 0.3], np.float32), np.array([0, 2, 3, 3]), None, 3)
    np.testing.assert_array_equal(ld.columns(), [1, 2, 2])
    np.testing.assert_array_equal(ld.rows(), [0, 0, 1])
    full = ld.to_scipy(symmetric=True, diagonal=0.5).toarray()
    np.testing.assert_allclose(full, [[0.5, 0.1, 0.2], [0.1, 0.5, 0.3], [0.2, 0.3, 0.5]], atol=1e-7)
