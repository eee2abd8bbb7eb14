"""build_ld_store: a chromosome's LD store from a PLINK fileset and a keep file of panel samples."""

import numpy as np
import pandas as pd
import pytest

from vibank.errors import VibankError
from vibank.io.plink import write_bfile, write_keep
from vibank.ld import LDEstimator, LDMatrix, build_ld_store

N, M_CHR = 150, 150
MONO = 20  # chr1 variant made monomorphic in the panel subset (not in the full fileset)


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    """Two chromosomes of 150 variants with LD and 1% missing calls; a keep file of 100 samples."""
    rng = np.random.default_rng(99)
    m = 2 * M_CHR
    geno = rng.binomial(2, rng.uniform(0.08, 0.5, m), size=(N, m)).astype(np.int8)
    for j in range(1, m):
        copy = rng.random(N) < 0.7
        geno[copy, j] = geno[copy, j - 1]
    geno[rng.random(geno.shape) < 0.01] = -127
    panel = np.sort(rng.choice(N, 100, replace=False))
    geno[panel, MONO] = np.where(geno[panel, MONO] >= 0, 1, -127)
    geno[np.setdiff1d(np.arange(N), panel)[:5], MONO] = [0, 2, 0, 2, 0]
    pos = np.concatenate([np.cumsum(rng.integers(500, 3000, M_CHR)) for _ in range(2)])
    bim = pd.DataFrame({"CHR": ["1"] * M_CHR + ["2"] * M_CHR, "SNP": [f"snp{j}" for j in range(m)],
                        "CM": pos * 1e-6, "POS": pos, "A1": "A", "A2": "C"})
    ids = [f"I{i:03d}" for i in range(N)]
    fam = pd.DataFrame({"FID": [f"F{i}" for i in range(N)], "IID": ids,
                        "SEX": rng.integers(1, 3, N)})
    d = tmp_path_factory.mktemp("bfile")
    write_bfile(d / "ref", geno, bim, fam)
    # the keep file lists the panel in shuffled order: the .fam order is what counts
    write_keep(d / "panel.keep", fam.iloc[rng.permutation(panel)])
    return {"prefix": d / "ref", "keep": d / "panel.keep", "geno": geno, "bim": bim, "fam": fam,
            "panel": panel}


def _reference(fileset, chrom, samples=None):
    """Counts (NaN missing) of the chromosome's polymorphic variants, their columns, corrcoef."""
    samples = fileset["panel"] if samples is None else samples
    cols = np.flatnonzero(fileset["bim"]["CHR"].to_numpy() == chrom)
    counts = np.where(fileset["geno"] >= 0, fileset["geno"], np.nan)[np.ix_(samples, cols)]
    poly = np.nanmax(counts, axis=0) != np.nanmin(counts, axis=0)
    counts, cols = counts[:, poly], cols[poly]
    imputed = np.where(np.isnan(counts), np.nanmean(counts, axis=0), counts)
    return counts, cols, np.corrcoef(imputed.T)


def _build(fileset, out, chrom="1", **kwargs):
    kwargs.setdefault("keep", fileset["keep"])
    kwargs.setdefault("estimator", LDEstimator("windowed", window_cm=0.02, taper="none"))
    kwargs.setdefault("dtype", "float64")
    kwargs.setdefault("compute_dtype", np.float64)
    info = build_ld_store(fileset["prefix"], out, chrom=chrom, **kwargs)
    return info, LDMatrix(out)


def _dense(mat):
    return mat.to_csr(dtype=np.float64, symmetric=True).toarray()


def _window(cm, width):
    return np.abs(np.subtract.outer(cm, cm)) <= width + 1e-9


@pytest.mark.parametrize("taper", ["none", "bartlett"])
@pytest.mark.parametrize("chrom", ["1", "2"])
def test_build_ld_store__windowed_equals_corrcoef_of_panel_subset(tmp_path, fileset, chrom, taper):
    estimator = LDEstimator("windowed", window_cm=0.02, taper=taper)
    info, mat = _build(fileset, tmp_path / f"chr{chrom}.zarr", chrom, estimator=estimator)
    _, cols, r = _reference(fileset, chrom)
    cm = fileset["bim"]["CM"].to_numpy()[cols]
    inside = _window(cm, 0.02)
    assert 0 < inside.sum() < inside.size
    weight = 1.0 if taper == "none" else np.maximum(0, 1 - np.abs(np.subtract.outer(cm, cm)) / 0.02)
    np.testing.assert_allclose(_dense(mat), np.where(inside, r * weight, 0.0), atol=1e-10, rtol=0)
    assert info["n_variants"] == len(cols) and info["n_pairs"] == (inside.sum() - len(cols)) // 2
    assert mat.attrs["estimator"] == "windowed"
    assert mat.attrs["estimator_params"] == {"window_cm": 0.02, "window_kb": None,
                                             "window_variants": None, "taper": taper}


def test_build_ld_store__bartlett_taper_keeps_a_rank_deficient_panel_psd(tmp_path, fileset):
    """30 people, windows of ~100 variants: the hard window is indefinite, the tapered matrix
    (the panel's correlation matrix times a positive-definite kernel) is not."""
    keep = tmp_path / "small.keep"
    write_keep(keep, fileset["fam"].iloc[fileset["panel"][:30]])
    low = {}
    for taper in ("none", "bartlett"):
        _, mat = _build(fileset, tmp_path / f"{taper}.zarr", keep=keep,
                        estimator=LDEstimator("windowed", window_cm=0.2, taper=taper))
        low[taper] = np.linalg.eigvalsh(_dense(mat))[0]
    assert low["none"] < -0.05
    assert low["bartlett"] > -1e-8


def test_build_ld_store__auto_window_follows_the_panel_size(tmp_path, fileset):
    from vibank.ld import panel_window_cm

    assert [panel_window_cm(n) for n in (50, 378, 1000, 5000, 20000)] == [0.5, 0.7, 1.45, 3.0, 3.0]
    _, mat = _build(fileset, tmp_path / "auto.zarr", estimator=LDEstimator("windowed", window_cm="auto"))
    assert mat.attrs["estimator_params"]["window_cm"] == panel_window_cm(100) == 0.5
    assert mat.attrs["estimator_params"]["taper"] == "bartlett"


def test_build_ld_store__float32_default_within_tolerance(tmp_path, fileset):
    _, mat = _build(fileset, tmp_path / "chr1.zarr", dtype="float32", compute_dtype=np.float32)
    _, cols, r = _reference(fileset, "1")
    inside = _window(fileset["bim"]["CM"].to_numpy()[cols], 0.02)
    np.testing.assert_allclose(_dense(mat), np.where(inside, r, 0.0), atol=1e-5, rtol=0)
    assert mat.attrs["compute_dtype"] == "float32" and mat.attrs["dtype"] == "float32"


def test_build_ld_store__only_the_requested_chromosome(tmp_path, fileset):
    _, mat = _build(fileset, tmp_path / "chr2.zarr", "2")
    table = mat.variants()
    assert set(table["CHR"].astype(str)) == {"2"} and mat.attrs["chrom"] == "2"
    assert list(table["SNP"].astype(str)) == [f"snp{j}" for j in range(M_CHR, 2 * M_CHR)]
    assert mat.attrs["n_monomorphic_dropped"] == 0


def test_build_ld_store__monomorphic_in_panel_is_dropped_and_counted(tmp_path, fileset):
    info, mat = _build(fileset, tmp_path / "chr1.zarr")
    snps = list(mat.variants()["SNP"].astype(str))
    assert f"snp{MONO}" not in snps and len(snps) == M_CHR - 1 == info["n_variants"]
    assert mat.attrs["n_monomorphic_dropped"] == 1
    # with every sample in the panel the variant is polymorphic and kept
    _, full = _build(fileset, tmp_path / "all.zarr", keep=None)
    assert f"snp{MONO}" in list(full.variants()["SNP"].astype(str))
    assert full.attrs["n_monomorphic_dropped"] == 0 and full.attrs["n_ref"] == N


def test_build_ld_store__maf_n_ref_and_ld_score_per_variant(tmp_path, fileset):
    _, mat = _build(fileset, tmp_path / "chr1.zarr")
    counts, cols, _ = _reference(fileset, "1")
    table = mat.variants()
    freq = np.nanmean(counts, axis=0) / 2
    np.testing.assert_allclose(table["MAF"].to_numpy(float), np.minimum(freq, 1 - freq), atol=1e-12)
    np.testing.assert_array_equal(table["N_REF"].to_numpy(int), (~np.isnan(counts)).sum(axis=0))
    np.testing.assert_array_equal(table["POS"].to_numpy(int),
                                  fileset["bim"]["POS"].to_numpy()[cols])
    np.testing.assert_allclose(table["CM"].to_numpy(float), fileset["bim"]["CM"].to_numpy()[cols])
    off = _dense(mat) - np.eye(len(cols))
    np.testing.assert_allclose(table["LD_SCORE"].to_numpy(float), 1 + (off**2).sum(axis=1),
                               atol=1e-10)
    assert mat.attrs["n_ref"] == len(fileset["panel"])
    assert mat.attrs["ld_score_bias_corrected"] is False


def test_build_ld_store__bias_corrected_ld_score(tmp_path, fileset):
    _, mat = _build(fileset, tmp_path / "chr1.zarr", bias_corrected_ld_score=True)
    off = _dense(mat) - np.eye(mat.n_variants)
    n = len(fileset["panel"])
    adj = np.where(off != 0, off**2 - (1 - off**2) / (n - 2), 0.0)
    np.testing.assert_allclose(mat.variants()["LD_SCORE"].to_numpy(float), 1 + adj.sum(axis=1),
                               atol=1e-10)
    assert mat.attrs["ld_score_bias_corrected"] is True


def test_build_ld_store__eigenvalues_of_the_stored_matrix(tmp_path, fileset):
    _, mat = _build(fileset, tmp_path / "chr1.zarr", dtype="int8")
    (block,) = mat.attrs["eigenvalues"]
    values = np.linalg.eigvalsh(_dense(mat))
    assert (block["start"], block["stop"]) == (0, mat.n_variants)
    assert block["min"] == pytest.approx(values[0], abs=1e-6)
    assert block["max"] == pytest.approx(values[-1], abs=1e-6)
    _, none = _build(fileset, tmp_path / "none.zarr", eigenvalues=False)
    assert "eigenvalues" not in none.attrs


def test_build_ld_store__sample_and_shrinkage_estimators(tmp_path, fileset):
    _, cols, r = _reference(fileset, "2")
    _, mat = _build(fileset, tmp_path / "s.zarr", "2", estimator=LDEstimator("sample"))
    np.testing.assert_allclose(_dense(mat), r, atol=1e-10, rtol=0)
    _, mat = _build(fileset, tmp_path / "w.zarr", "2", estimator=LDEstimator("shrinkage"))
    assert mat.attrs["band"] is False and mat.attrs["estimator_params"]["cutoff"] == 1e-3
    stored = _dense(mat)
    kept = stored != 0
    assert np.all(np.abs(stored[kept]) <= np.abs(r[kept]) + 1e-12)  # shrinkage only shrinks


def test_build_ld_store__block_estimator_with_blocks_file(tmp_path, fileset):
    pos = fileset["bim"]["POS"].to_numpy()
    (tmp_path / "blocks.bed").write_text(f"chrom\tstart\tend\nchr1\t{pos[0]}\t{pos[40]}\n"
                                         f"chr1\t{pos[40]}\t{pos[149]}\nchr2\t0\t{pos[-1] + 1}\n")
    est = LDEstimator("block", blocks_file=str(tmp_path / "blocks.bed"))
    _, mat = _build(fileset, tmp_path / "chr1.zarr", estimator=est)
    _, cols, r = _reference(fileset, "1")
    block = np.where(cols < 40, 0, np.where(cols < 149, 1, -1 - cols))  # variant 149 outside
    same = block[:, None] == block[None, :]
    np.testing.assert_allclose(_dense(mat), np.where(same, r, 0.0), atol=1e-10, rtol=0)
    n0 = int((cols < 40).sum())
    assert mat.attrs["blocks"] == [[0, n0], [n0, len(cols) - 1], [len(cols) - 1, len(cols)]]


def test_build_ld_store__block_estimator_without_file_runs_the_block_finder(tmp_path, fileset):
    # prs_vi.md §11: blocks come from a BED-like file *or* the block finder (no error)
    est = LDEstimator("block", window_cm=0.05, block_min_variants=40, block_max_variants=70)
    _, mat = _build(fileset, tmp_path / "chr1.zarr", estimator=est)
    blocks = mat.attrs["blocks"]
    assert blocks[0][0] == 0 and blocks[-1][1] == mat.n_variants and len(blocks) >= 2
    assert all(a == prev_b for (a, _), (_, prev_b) in zip(blocks[1:], blocks[:-1]))  # contiguous
    _, _, r = _reference(fileset, "1")
    label = np.concatenate([np.full(b - a, i) for i, (a, b) in enumerate(blocks)])
    same = label[:, None] == label[None, :]
    np.testing.assert_allclose(_dense(mat), np.where(same, r, 0.0), atol=1e-10, rtol=0)


def test_build_ld_store__block_finder_respects_block_sizes(tmp_path, fileset):
    est = LDEstimator("block", window_cm=0.05, block_min_variants=40, block_max_variants=70)
    _, mat = _build(fileset, tmp_path / "chr1.zarr", estimator=est)
    assert mat.n_variants == 149
    assert all(40 <= b - a <= 70 for a, b in mat.attrs["blocks"])


# ---------------------------------------------------------------- input errors


def test_build_ld_store__keep_naming_an_absent_sample_raises(tmp_path, fileset):
    fam = fileset["fam"]
    keep = pd.concat([fam.iloc[:10], pd.DataFrame({"FID": ["F999"], "IID": ["NOBODY"]})])
    write_keep(tmp_path / "bad.keep", keep)
    with pytest.raises(VibankError, match=r"bad\.keep: 1 samples are not in .*ref\.fam"):
        _build(fileset, tmp_path / "chr1.zarr", keep=tmp_path / "bad.keep")
    assert not (tmp_path / "chr1.zarr").exists()


def test_build_ld_store__unsorted_positions_raise(tmp_path, fileset):
    bim = fileset["bim"].copy()
    bim.loc[[10, 11], "POS"] = bim.loc[[11, 10], "POS"].to_numpy()
    write_bfile(tmp_path / "unsorted", fileset["geno"], bim, fileset["fam"])
    with pytest.raises(VibankError, match="unsorted.bim: positions on chromosome 1 are not sorted"):
        build_ld_store(tmp_path / "unsorted", tmp_path / "chr1.zarr", chrom="1")
    assert not (tmp_path / "chr1.zarr").exists()
    build_ld_store(tmp_path / "unsorted", tmp_path / "chr2.zarr", chrom="2")  # chr2 is sorted


def test_build_ld_store__missing_blocks_file_raises(tmp_path, fileset):
    est = LDEstimator("block", blocks_file=str(tmp_path / "absent.bed"))
    with pytest.raises(VibankError, match="absent.bed: LD block file not found"):
        _build(fileset, tmp_path / "chr1.zarr", estimator=est)


def test_build_ld_store__absent_chromosome_raises(tmp_path, fileset):
    with pytest.raises(VibankError, match="no variant on chromosome 3"):
        _build(fileset, tmp_path / "chr3.zarr", "3")


def test_build_ld_store__no_genetic_map_with_cm_window_raises(tmp_path, fileset):
    bim = fileset["bim"].assign(CM=0.0)
    write_bfile(tmp_path / "nomap", fileset["geno"], bim, fileset["fam"])
    with pytest.raises(VibankError, match="no genetic map"):
        build_ld_store(tmp_path / "nomap", tmp_path / "chr1.zarr", chrom="1")
    info = build_ld_store(tmp_path / "nomap", tmp_path / "chr1.zarr", chrom="1",
                          estimator=LDEstimator("windowed", window_cm=None, window_kb=20))
    assert info["n_variants"] == M_CHR


def test_build_ld_store__variant_all_missing_in_panel_is_dropped(tmp_path, fileset, caplog):
    geno = fileset["geno"].copy()
    geno[fileset["panel"], 30] = -127
    write_bfile(tmp_path / "miss", geno, fileset["bim"], fileset["fam"])
    with caplog.at_level("WARNING", logger="vibank.ld.build"):
        build_ld_store(tmp_path / "miss", tmp_path / "chr1.zarr", chrom="1", keep=fileset["keep"])
    mat = LDMatrix(tmp_path / "chr1.zarr")
    assert "snp30" not in list(mat.variants()["SNP"].astype(str))
    assert mat.attrs["n_monomorphic_dropped"] == 2  # snp30 (no call) and snp20 (monomorphic)
    assert "2 variants monomorphic in the panel (1 of them with no observed call)" in caplog.text


def test_build_ld_store__blocks_file_without_the_chromosome_warns(tmp_path, fileset, caplog):
    (tmp_path / "blocks.bed").write_text("chr start stop\nchr2 0 100000000\n")
    est = LDEstimator("block", blocks_file=str(tmp_path / "blocks.bed"))
    with caplog.at_level("WARNING", logger="vibank.ld.build"):
        info, _ = _build(fileset, tmp_path / "chr1.zarr", estimator=est)
    assert info["n_pairs"] == 0 and "has no block on this chromosome" in caplog.text


@pytest.mark.parametrize("estimator", [LDEstimator("windowed", window_cm=0.05),
                                       LDEstimator("block", window_cm=0.05,
                                                   block_min_variants=20, block_max_variants=45)])
def test_build_ld_store__eigenvalues_left_out_are_computed_on_load_as_stored(tmp_path, fileset,
                                                                            monkeypatch, estimator):
    import vibank.ld.eigenvalues as eigenvalues
    from vibank.ld import LDRows, extremal_eigenvalues_csr

    monkeypatch.setattr(eigenvalues, "DENSE_EIGEN_MAX", 50)  # several blocks in 149 variants
    kwargs = dict(dtype="int16", estimator=estimator, n_threads=2)
    _, kept = _build(fileset, tmp_path / "kept.zarr", **kwargs)
    _, lazy = _build(fileset, tmp_path / "lazy.zarr", eigenvalues=False, **kwargs)
    assert "eigenvalues" not in lazy.attrs and len(kept.attrs["eigenvalues"]) >= 3
    # the band fast path gives the bits of the dequantised, scipy-symmetrised matrix
    bounds = [(b["start"], b["stop"]) for b in kept.attrs["eigenvalues"]]
    full = kept.load(dtype=np.float64).to_scipy(symmetric=True)
    assert extremal_eigenvalues_csr(full, bounds) == kept.attrs["eigenvalues"]

    mask = np.ones(kept.n_stored, dtype=bool)
    mask[[3, 60, 61, 62, 100]] = False
    mask[50:100] = mask[50:100] & (np.arange(50) % 2 == 0)
    stored, computed = kept.rows(mask), lazy.rows(mask)
    assert computed.eigenvalues is None  # nothing computed until a fit asks
    assert computed.block_eigenvalues(n_threads=2) == stored.eigenvalues
    assert computed.eigenvalues is computed.block_eigenvalues()  # kept once computed
    keep = np.arange(stored.n_variants) % 3 != 1
    sub = lazy.rows(mask).subset(keep)
    assert sub.eigenvalues is None and sub.block_eigenvalues() == stored.subset(keep).eigenvalues
    joined = LDRows.concatenate([lazy.rows(mask), stored])
    assert joined.eigenvalues is None
    shifted = [{**b, "start": b["start"] + stored.n_variants, "stop": b["stop"] + stored.n_variants}
               for b in stored.eigenvalues]
    assert joined.block_eigenvalues() == stored.eigenvalues + shifted


def test_build_ld_store__fit_on_a_store_without_eigenvalues_is_the_same(tmp_path, fileset):
    from vibank.prs import VIPRS

    kwargs = dict(dtype="int16", estimator=LDEstimator("windowed", window_cm=0.05, taper="none"))
    _, kept = _build(fileset, tmp_path / "kept.zarr", **kwargs)
    _, lazy = _build(fileset, tmp_path / "lazy.zarr", eigenvalues=False, **kwargs)
    assert min(b["min"] for b in kept.attrs["eigenvalues"]) < 0  # the ridge is used
    rng = np.random.default_rng(5)
    stored = kept.rows()
    beta = np.where(rng.random(stored.n_variants) < 0.1, rng.normal(0, 0.05, stored.n_variants), 0)
    b = stored.to_csr(diagonal=1.0) @ beta + rng.normal(0, 0.01, stored.n_variants)
    fits = [VIPRS(initial_ridge="block", max_iter=200).fit(b, 10_000, ld)
            for ld in (stored, lazy.rows())]
    assert fits[0].ridge_.max() > 0
    np.testing.assert_array_equal(fits[0].ridge_, fits[1].ridge_)
    np.testing.assert_array_equal(fits[0].eta_, fits[1].eta_)
