"""LD estimators, the Zarr store and LDMatrix against dense NumPy references (prs_vi.md §11)."""

import numpy as np
import pandas as pd
import pytest
import zarr

from vibank.errors import VibankError
from vibank.io.ld_store import QUANTISATION, write_ld_store
from vibank.io.plink import write_bfile, write_keep
from vibank.ld import LDEstimator, LDMatrix, build_ld_store, compute_ld, extremal_eigenvalues
from vibank.ld.estimators import ld_scores, standardise_panel, watterson_theta
from vibank.ld.windows import block_ends, window_ends

N, M = 150, 120


@pytest.fixture(scope="module")
def panel():
    """Correlated genotypes with 1% missing calls, positions, and the dense reference R."""
    rng = np.random.default_rng(3)
    geno = rng.binomial(2, rng.uniform(0.1, 0.5, M), size=(N, M)).astype(np.int8)
    for j in range(1, M):
        copy = rng.random(N) < 0.7
        geno[copy, j] = geno[copy, j - 1]
    geno[rng.random(geno.shape) < 0.01] = -127
    pos = np.cumsum(rng.integers(500, 3000, M)).astype(np.int64)
    pos[10] = pos[9] + 1000  # a pair exactly 1 kb apart for the window-edge test
    pos[10:] = pos[10:] - pos[10] + pos[9] + 1000
    counts = np.where(geno >= 0, geno, np.nan)
    imputed = np.where(np.isnan(counts), np.nanmean(counts, axis=0), counts)
    return {"geno": geno, "pos": pos, "cm": pos * 1e-6, "R": np.corrcoef(imputed.T)}


def _dense(ld):
    return ld.to_scipy(symmetric=True).toarray()


def _x(panel, dtype=np.float64):
    return standardise_panel(panel["geno"], dtype=dtype)[0]


def test_compute_ld__sample_equals_corrcoef(panel):
    ld = compute_ld(_x(panel), estimator=LDEstimator("sample"))
    np.testing.assert_allclose(_dense(ld), panel["R"], atol=1e-10)
    assert ld.indices is None  # a band: no column indices stored


@pytest.mark.parametrize("window", [{"window_cm": 0.02}, {"window_kb": 10}, {"window_variants": 7},
                                    {"window_kb": 15, "window_variants": 5}])
def test_compute_ld__windowed_equals_masked_corrcoef(panel, window):
    pos, cm = panel["pos"], panel["cm"]
    ends = window_ends(pos, cm, **window)
    ld = compute_ld(_x(panel), estimator=LDEstimator("windowed", **window), ends=ends)
    j, k = np.meshgrid(np.arange(M), np.arange(M), indexing="ij")
    keep = np.ones((M, M), dtype=bool)
    if "window_cm" in window:
        keep &= np.abs(cm[j] - cm[k]) <= window["window_cm"] + 1e-9
    if "window_kb" in window:
        keep &= np.abs(pos[j] - pos[k]) <= 1000 * window["window_kb"]
    if "window_variants" in window:
        keep &= np.abs(j - k) <= window["window_variants"]
    np.testing.assert_allclose(_dense(ld), np.where(keep, panel["R"], 0) + np.eye(M) * ~keep.diagonal(),
                               atol=1e-10)


def test_window_ends__pair_exactly_at_the_edge_is_kept(panel):
    ends = window_ends(panel["pos"], window_kb=1.0)
    assert panel["pos"][10] - panel["pos"][9] == 1000 and ends[9] >= 11
    ends = window_ends(panel["pos"], window_kb=0.999)
    assert ends[9] == 10


def test_compute_ld__block_equals_blockwise_corrcoef(panel):
    starts = np.array([panel["pos"][0], panel["pos"][40]])
    stops = np.array([panel["pos"][30], panel["pos"][90]])  # [start, stop): variant 30, 90 outside
    ends = block_ends(panel["pos"], starts, stops)
    ld = compute_ld(_x(panel), estimator=LDEstimator("block", blocks_file="x"), ends=ends)
    block = np.full(M, -1)
    block[:30], block[40:90] = 0, 1
    same = (block[:, None] == block[None, :]) & (block[:, None] >= 0)
    np.fill_diagonal(same, True)
    np.testing.assert_allclose(_dense(ld), np.where(same, panel["R"], 0), atol=1e-10)


def test_compute_ld__shrinkage_follows_wen_stephens(panel):
    est = LDEstimator("shrinkage", cutoff=1e-3)
    ld = compute_ld(_x(panel), estimator=est, cm=panel["cm"])
    theta = watterson_theta(2 * N)
    diag = (1 - theta) ** 2 + 0.5 * theta * (1 - 0.5 * theta)
    rho = 4 * est.ne * np.abs(np.subtract.outer(panel["cm"], panel["cm"])) / 100
    expected = panel["R"] * np.exp(-rho / (2 * 2 * N)) * (1 - theta) ** 2 / diag
    expected[np.abs(expected) < 1e-3] = 0
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(_dense(ld), expected, atol=1e-10)
    assert ld.indices is not None


def test_compute_ld__float32_threads_and_tiles_agree(panel):
    ends = window_ends(panel["pos"], panel["cm"], window_cm=0.05)
    est = LDEstimator("windowed", window_cm=0.05)
    ref = compute_ld(_x(panel), estimator=est, ends=ends)
    x32 = _x(panel, np.float32)
    one = compute_ld(x32, estimator=est, ends=ends, n_threads=1, tile=7)
    two = compute_ld(x32, estimator=est, ends=ends, n_threads=2, tile=7)
    np.testing.assert_array_equal(one.data, two.data)
    np.testing.assert_allclose(one.data, ref.data, atol=1e-5)


def test_compute_ld__sample_refused_above_limit(panel):
    with pytest.raises(VibankError, match="max_dense_variants"):
        compute_ld(_x(panel), estimator=LDEstimator("sample", max_dense_variants=M - 1))


def test_ld_scores__plain_and_bias_corrected(panel):
    ends = window_ends(panel["pos"], window_variants=10)
    ld = compute_ld(_x(panel), estimator=LDEstimator("windowed", window_variants=10), ends=ends)
    r = _dense(ld)
    off = r - np.eye(M)
    np.testing.assert_allclose(ld_scores(ld), 1 + (off**2).sum(1), atol=1e-10)
    stored = off != 0
    adj = np.where(stored, off**2 - (1 - off**2) / (N - 2), 0)
    np.testing.assert_allclose(ld_scores(ld, n_ref=N, bias_corrected=True), 1 + adj.sum(1), atol=1e-10)


def _store(tmp_path, panel, dtype, estimator="windowed"):
    x = _x(panel)
    if estimator == "shrinkage":
        ld = compute_ld(x, estimator=LDEstimator("shrinkage"), cm=panel["cm"])
    else:
        ld = compute_ld(x, estimator=LDEstimator("windowed", window_variants=12),
                        ends=window_ends(panel["pos"], window_variants=12))
    variants = {"snp": [f"v{j}" for j in range(M)], "chr": ["1"] * M, "a1": ["A"] * M,
                "a2": ["G"] * M, "pos": panel["pos"], "cm": panel["cm"], "maf": np.full(M, 0.2),
                "ld_score": ld_scores(ld), "n_ref": np.full(M, N)}
    path = tmp_path / f"{estimator}_{dtype}.zarr"
    write_ld_store(path, ld, variants, {"estimator": estimator, "n_ref": N, "chrom": "1"}, dtype=dtype)
    return path, _dense(ld)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "int8"])
@pytest.mark.parametrize("estimator", ["windowed", "shrinkage"])
def test_ld_store__round_trip_within_quantisation_step(tmp_path, panel, dtype, estimator):
    path, dense = _store(tmp_path, panel, dtype, estimator)
    ld = LDMatrix(path)
    step = 0.5 / QUANTISATION[dtype] if QUANTISATION[dtype] > 1 else 1e-7
    np.testing.assert_allclose(ld.to_csr(dtype=np.float64, symmetric=True).toarray(), dense,
                               atol=step + 1e-7)
    assert ld.load(keep_quantised=True).data.dtype == np.dtype(dtype)
    assert ld.attrs["vibank_ld_format"] == 1 and ld.attrs["n_ref"] == N
    assert list(ld.variants()["SNP"][:3]) == ["v0", "v1", "v2"]
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("estimator", ["windowed", "shrinkage"])
def test_ldmatrix__mask_gives_the_submatrix(tmp_path, panel, estimator):
    path, dense = _store(tmp_path, panel, "float64", estimator)
    keep = np.random.default_rng(1).random(M) < 0.6
    by_bool = LDMatrix(path).set_mask(keep).to_csr(dtype=np.float64, symmetric=True).toarray()
    ids = [f"v{j}" for j in np.flatnonzero(keep)]
    by_ids = LDMatrix(path).set_mask(ids).to_csr(dtype=np.float64, symmetric=True).toarray()
    np.testing.assert_allclose(by_bool, dense[np.ix_(keep, keep)], atol=1e-12)
    np.testing.assert_array_equal(by_bool, by_ids)


def test_ldmatrix__dot_and_eigenvalues(tmp_path, panel):
    path, dense = _store(tmp_path, panel, "float64")
    v = np.random.default_rng(2).standard_normal(M)
    ld = LDMatrix(path)
    np.testing.assert_allclose(ld.dot(v), dense @ v, atol=1e-10)
    (block,) = extremal_eigenvalues(ld.load(dtype=np.float64))
    values = np.linalg.eigvalsh(dense)
    assert block["min"] == pytest.approx(values[0], abs=1e-8)
    assert block["max"] == pytest.approx(values[-1], abs=1e-8)


def test_ldmatrix__arpack_path_matches_dense(tmp_path, panel, monkeypatch):
    import vibank.ld.eigenvalues as eigenvalues

    path, dense = _store(tmp_path, panel, "float64")
    monkeypatch.setattr(eigenvalues, "DENSE_EIGEN_MAX", 10)
    (block,) = LDMatrix(path).extremal_eigenvalues(blocks=[(0, M)])
    values = np.linalg.eigvalsh(dense)
    assert block["max"] == pytest.approx(values[-1], rel=1e-5)
    assert block["min"] == pytest.approx(values[0], abs=1e-3)


def test_ldmatrix__bad_stores_give_one_line_errors(tmp_path, panel):
    with pytest.raises(VibankError, match="not found"):
        LDMatrix(tmp_path / "absent.zarr")
    zarr.open_group(str(tmp_path / "foreign.zarr"), mode="w")
    with pytest.raises(VibankError, match="foreign.zarr: not an LD store"):
        LDMatrix(tmp_path / "foreign.zarr")
    path, _ = _store(tmp_path, panel, "float32")
    root = zarr.open_group(str(path), mode="r+")
    root.attrs["vibank_ld_format"] = 99
    with pytest.raises(VibankError, match="format version 99"):
        LDMatrix(path)
    root.attrs["vibank_ld_format"] = 1
    del root["ld/data"]
    with pytest.raises(VibankError, match="incomplete"):
        LDMatrix(path)


def test_build_ld_store__panel_subset_and_monomorphic_variant(tmp_path, panel):
    geno = panel["geno"].copy()
    ids = [f"S{i}" for i in range(N)]
    keep = np.arange(N) < 100
    geno[keep, 5] = 1  # monomorphic in the panel subset
    bim = pd.DataFrame({"CHR": ["1"] * 80 + ["2"] * (M - 80), "SNP": [f"v{j}" for j in range(M)],
                        "CM": panel["cm"], "POS": panel["pos"], "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": ids, "IID": ids, "SEX": 1})
    write_bfile(tmp_path / "p", geno, bim, fam)
    write_keep(tmp_path / "panel.keep", fam[keep])
    info = build_ld_store(tmp_path / "p", tmp_path / "chr1.zarr", chrom="1", keep=tmp_path / "panel.keep",
                          estimator=LDEstimator("windowed", window_cm=0.02, taper="none"), dtype="float64",
                          compute_dtype=np.float64)
    ld = LDMatrix(tmp_path / "chr1.zarr")
    assert info["n_variants"] == 79 and ld.attrs["n_monomorphic_dropped"] == 1
    snps = [f"v{j}" for j in range(80) if j != 5]
    assert list(ld.variants()["SNP"]) == snps
    counts = np.where(geno[keep][:, :80] >= 0, geno[keep][:, :80], np.nan)
    counts = np.delete(counts, 5, axis=1)
    imputed = np.where(np.isnan(counts), np.nanmean(counts, axis=0), counts)
    r = np.corrcoef(imputed.T)
    cm = np.delete(panel["cm"][:80], 5)
    inside = np.abs(np.subtract.outer(cm, cm)) <= 0.02 + 1e-9
    np.testing.assert_allclose(ld.to_csr(dtype=np.float64, symmetric=True).toarray(),
                               np.where(inside, r, 0), atol=1e-10)
    freq = np.nanmean(counts, axis=0) / 2
    np.testing.assert_allclose(ld.variants()["MAF"], np.minimum(freq, 1 - freq), atol=1e-12)
    np.testing.assert_array_equal(ld.variants()["N_REF"], (~np.isnan(counts)).sum(0))


def test_build_ld_store__input_errors(tmp_path, panel):
    ids = [f"S{i}" for i in range(N)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "SEX": 1})
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"v{j}" for j in range(M)], "CM": panel["cm"],
                        "POS": panel["pos"][::-1], "A1": "A", "A2": "G"})  # unsorted
    write_bfile(tmp_path / "u", panel["geno"], bim, fam)
    with pytest.raises(VibankError, match="not sorted"):
        build_ld_store(tmp_path / "u", tmp_path / "u.zarr", chrom="1")
    with pytest.raises(VibankError, match="no variant on chromosome 9"):
        build_ld_store(tmp_path / "u", tmp_path / "u.zarr", chrom="9")
    write_keep(tmp_path / "bad.keep", pd.DataFrame({"FID": ["X"], "IID": ["X"]}))
    with pytest.raises(VibankError, match="not in"):
        build_ld_store(tmp_path / "u", tmp_path / "u.zarr", chrom="1", keep=tmp_path / "bad.keep")
    assert not (tmp_path / "u.zarr").exists()
