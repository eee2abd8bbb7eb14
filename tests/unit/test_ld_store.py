"""The LD Zarr store (write_ld_store, open_ld_store, quantise) and LDMatrix on top of it."""

import re

import numpy as np
import pandas as pd
import pytest
import zarr

from vibank.errors import VibankError
from vibank.io.ld_store import QUANTISATION, dequantise, quantise, write_ld_store
from vibank.ld.estimators import LDEstimator, compute_ld, ld_scores, standardise_panel
from vibank.ld.matrix import LDMatrix
from vibank.ld.windows import window_ends

N, M = 120, 300
DTYPES = ["float32", "float64", "int16", "int8"]
LAYOUTS = ["band", "indexed"]


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(11)
    geno = rng.binomial(2, rng.uniform(0.1, 0.5, M), size=(N, M)).astype(np.int8)
    for j in range(1, M):
        copy = rng.random(N) < 0.7
        geno[copy, j] = geno[copy, j - 1]
    geno[rng.random(geno.shape) < 0.01] = -127
    pos = np.cumsum(rng.integers(500, 3000, M)).astype(np.int64)
    x = standardise_panel(geno, dtype=np.float64)[0]
    lds = {
        "band": compute_ld(x, estimator=LDEstimator("windowed", window_variants=15),
                           ends=window_ends(pos, window_variants=15)),
        "indexed": compute_ld(x, estimator=LDEstimator("shrinkage", cutoff=0.02), cm=pos * 1e-5),
    }
    variants = {"snp": [f"rs{j}" for j in range(M)], "chr": ["7"] * M,
                "a1": rng.choice(list("ACGT"), M), "a2": rng.choice(list("ACGT"), M),
                "pos": pos, "cm": pos * 1e-5, "maf": rng.uniform(0.05, 0.5, M),
                "ld_score": ld_scores(lds["band"]), "n_ref": rng.integers(100, N + 1, M)}
    return {"lds": lds, "variants": variants, "pos": pos}


def _write(path, panel, layout="band", dtype="float64", **attrs):
    ld = panel["lds"][layout]
    attrs = {"estimator": "windowed" if layout == "band" else "shrinkage",
             "estimator_params": {"window_variants": 15}, "n_ref": N, "chrom": "7", **attrs}
    write_ld_store(path, ld, panel["variants"], attrs, dtype=dtype)
    return path


def _dense(ld):
    return ld.to_scipy(symmetric=True).toarray().astype(np.float64)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_write_ld_store__round_trip_within_quantisation_step(tmp_path, panel, layout, dtype):
    ld = panel["lds"][layout]
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel, layout, dtype))
    back = mat.load(dtype=np.float64)
    scale = QUANTISATION[dtype]
    step = 0.5 / scale if scale > 1 else 0.0
    eps = np.finfo(np.float32).eps if dtype != "float64" else 0.0
    assert back.data.dtype == np.float64 and back.n_variants == M
    assert np.max(np.abs(back.data - ld.data)) <= step + eps
    np.testing.assert_array_equal(back.indptr, ld.indptr)
    if layout == "band":
        assert back.indices is None and mat.attrs["band"] is True
    else:
        np.testing.assert_array_equal(back.indices, ld.indices)
        assert mat.attrs["band"] is False
    assert mat.load().data.dtype == np.float32  # the default dequantised dtype


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ldmatrix_load__keep_quantised_returns_stored_dtype(tmp_path, panel, layout, dtype):
    ld = panel["lds"][layout]
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel, layout, dtype))
    raw = mat.load(keep_quantised=True)
    assert raw.data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(raw.data, quantise(ld.data, dtype))
    if dtype.startswith("int"):
        np.testing.assert_array_equal(raw.data, np.rint(ld.data * QUANTISATION[dtype]))
    np.testing.assert_allclose(raw.data / mat.attrs["quantisation_scale"],
                               mat.load(dtype=np.float64).data, atol=1e-15)
    assert mat.quantised == dtype.startswith("int")


def test_ldmatrix_variants__equal_what_was_written(tmp_path, panel):
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel))
    table = mat.variants()
    assert list(table.columns) == ["SNP", "CHR", "POS", "CM", "A1", "A2", "MAF", "LD_SCORE",
                                   "N_REF"]
    v = panel["variants"]
    expected = pd.DataFrame({"SNP": v["snp"], "CHR": v["chr"], "POS": v["pos"], "CM": v["cm"],
                             "A1": v["a1"], "A2": v["a2"], "MAF": v["maf"],
                             "LD_SCORE": v["ld_score"], "N_REF": v["n_ref"]})
    for name in ("SNP", "CHR", "A1", "A2"):
        assert [str(s) for s in table[name]] == [str(s) for s in expected[name]]
    for name in ("POS", "N_REF"):
        np.testing.assert_array_equal(table[name].to_numpy(np.int64), expected[name])
    for name in ("CM", "MAF", "LD_SCORE"):
        np.testing.assert_array_equal(table[name].to_numpy(np.float64), expected[name])


def test_ldmatrix_attrs__present(tmp_path, panel):
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel, "band", "int16", genome_build="GRCh38"))
    attrs = mat.attrs
    assert attrs["vibank_ld_format"] == 1 and attrs["estimator"] == "windowed"
    assert attrs["dtype"] == "int16" and attrs["quantisation_scale"] == 32767
    assert attrs["n_ref"] == N and attrs["chrom"] == "7" and attrs["n_variants"] == M
    assert attrs["estimator_params"] == {"window_variants": 15}
    assert attrs["genome_build"] == "GRCh38"
    assert attrs["source"] == "vibank"
    assert mat.n_stored == M and mat.n_variants == M


def test_write_ld_store__overwrites_existing_store(tmp_path, panel):
    path = _write(tmp_path / "chr7.zarr", panel, "band", "int8")
    _write(path, panel, "indexed", "float32")
    mat = LDMatrix(path)
    assert mat.attrs["dtype"] == "float32" and mat.attrs["band"] is False
    assert "indices" in zarr.open_group(str(path), mode="r")["ld"]


def test_write_ld_store__rejects_bad_dtype_and_missing_fields(tmp_path, panel):
    with pytest.raises(VibankError, match="LD dtype must be one of"):
        _write(tmp_path / "a.zarr", panel, dtype="int32")
    fields = {k: v for k, v in panel["variants"].items() if k != "maf"}
    with pytest.raises(ValueError, match="maf"):
        write_ld_store(tmp_path / "b.zarr", panel["lds"]["band"], fields, {})
    assert not (tmp_path / "a.zarr").exists() and not (tmp_path / "b.zarr").exists()


def test_quantise__rounds_to_nearest_and_clips():
    values = np.array([-1.2, -1.0, -0.5, 0.0, 0.5 / 127 + 1e-9, 0.5 / 127 - 1e-9, 1.0, 1.5])
    np.testing.assert_array_equal(quantise(values, "int8"), [-127, -127, -64, 0, 1, 0, 127, 127])
    assert quantise(values, "int16").dtype == np.int16
    np.testing.assert_array_equal(quantise(values, np.float32), values.astype(np.float32))
    stored = np.array([-32767, 0, 16384, 32767], dtype=np.int16)
    np.testing.assert_allclose(dequantise(stored, np.float64), stored / 32767, atol=1e-16)
    np.testing.assert_allclose(dequantise(np.array([127, -1], np.int8)), [1.0, -1 / 127], rtol=1e-7)


# ---------------------------------------------------------------- masks and products


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ldmatrix_set_mask__boolean_and_ids_give_the_submatrix(tmp_path, panel, layout):
    dense = _dense(panel["lds"][layout])
    path = _write(tmp_path / "chr7.zarr", panel, layout)
    keep = np.random.default_rng(4).random(M) < 0.55
    keep[[0, M - 1]] = [False, True]
    by_bool = LDMatrix(path).set_mask(keep)
    ids = [f"rs{j}" for j in np.flatnonzero(keep)][::-1]  # order of the list does not matter
    by_ids = LDMatrix(path).set_mask(ids)
    for mat in (by_bool, by_ids):
        np.testing.assert_array_equal(mat.to_csr(dtype=np.float64, symmetric=True).toarray(),
                                      dense[np.ix_(keep, keep)])
        np.testing.assert_array_equal(mat.to_csr(dtype=np.float64).toarray(),
                                      np.triu(dense[np.ix_(keep, keep)], 1))
        assert mat.n_variants == keep.sum() and mat.n_stored == M
        assert list(mat.variants()["SNP"]) == [f"rs{j}" for j in np.flatnonzero(keep)]
        np.testing.assert_array_equal(mat.mask, keep)
    assert (by_bool.load().indices is None) == (layout == "band")


def test_ldmatrix_set_mask__is_not_cumulative_and_validates_shape(tmp_path, panel):
    dense = _dense(panel["lds"]["band"])
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel))
    mat.set_mask(np.arange(M) < 10)
    keep = np.arange(M) % 3 == 0
    mat.set_mask(keep)  # replaces the first mask
    np.testing.assert_array_equal(mat.to_csr(dtype=np.float64, symmetric=True).toarray(),
                                  dense[np.ix_(keep, keep)])
    with pytest.raises(ValueError, match=f"mask must have {M} entries"):
        mat.set_mask(np.ones(M - 1, dtype=bool))


def test_ldmatrix_set_mask__quantised_store_keeps_quantised_values(tmp_path, panel):
    ld = panel["lds"]["indexed"]
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel, "indexed", "int8"))
    keep = np.arange(M) % 2 == 1
    raw = mat.set_mask(keep).load(keep_quantised=True)
    assert raw.data.dtype == np.int8
    full = np.zeros((M, M))
    full[ld.rows(), ld.columns()] = quantise(ld.data, "int8")
    np.testing.assert_array_equal(raw.to_scipy().toarray(), full[np.ix_(keep, keep)])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ldmatrix_dot__equals_dense_product(tmp_path, panel, layout):
    dense = _dense(panel["lds"][layout])
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel, layout))
    v = np.random.default_rng(8).standard_normal(M)
    np.testing.assert_allclose(mat.dot(v), dense @ v, atol=1e-10)
    keep = np.arange(M) >= 100
    np.testing.assert_allclose(mat.set_mask(keep).dot(v[keep]), dense[np.ix_(keep, keep)] @ v[keep],
                               atol=1e-10)


def test_ldmatrix_extremal_eigenvalues__dense_path(tmp_path, panel):
    dense = _dense(panel["lds"]["band"])
    mat = LDMatrix(_write(tmp_path / "chr7.zarr", panel))
    (whole,) = mat.extremal_eigenvalues()
    values = np.linalg.eigvalsh(dense)
    assert (whole["start"], whole["stop"]) == (0, M)
    assert whole["min"] == pytest.approx(values[0], abs=1e-9)
    assert whole["max"] == pytest.approx(values[-1], abs=1e-9)
    for block in mat.extremal_eigenvalues(blocks=[(0, 40), (40, 41), (41, M)]):
        sub = np.linalg.eigvalsh(dense[block["start"]:block["stop"], block["start"]:block["stop"]])
        assert block["min"] == pytest.approx(sub[0], abs=1e-9)
        assert block["max"] == pytest.approx(sub[-1], abs=1e-9)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ldmatrix_extremal_eigenvalues__arpack_path(tmp_path, panel, monkeypatch, layout):
    import scipy.sparse.linalg

    import vibank.ld.eigenvalues as eigenvalues

    dense = _dense(panel["lds"][layout])
    values = np.linalg.eigvalsh(dense)
    calls = []
    eigsh = scipy.sparse.linalg.eigsh
    monkeypatch.setattr(scipy.sparse.linalg, "eigsh",
                        lambda *a, **k: calls.append(1) or eigsh(*a, **k))
    monkeypatch.setattr(eigenvalues, "DENSE_EIGEN_MAX", 20)
    (block,) = LDMatrix(_write(tmp_path / "chr7.zarr", panel, layout)).extremal_eigenvalues(
        blocks=[(0, M)])
    assert len(calls) == 2  # largest of R, then largest of (high I - R)
    assert block["max"] == pytest.approx(values[-1], abs=1e-3)
    assert block["min"] == pytest.approx(values[0], abs=1e-3)


# ---------------------------------------------------------------- bad stores


def _raises_naming(path, pattern):
    return pytest.raises(VibankError, match=re.escape(str(path)) + ".*" + pattern)


def test_ldmatrix__nonexistent_path_raises(tmp_path):
    with _raises_naming(tmp_path / "absent.zarr", "not found"):
        LDMatrix(tmp_path / "absent.zarr")


def test_ldmatrix__group_without_format_attribute_raises(tmp_path):
    path = tmp_path / "foreign.zarr"
    zarr.open_group(str(path), mode="w").attrs["something"] = 1
    with _raises_naming(path, "not an LD store"):
        LDMatrix(path)


def test_ldmatrix__wrong_format_version_raises(tmp_path, panel):
    path = _write(tmp_path / "chr7.zarr", panel)
    zarr.open_group(str(path), mode="r+").attrs["vibank_ld_format"] = 2
    with _raises_naming(path, "format version 2"):
        LDMatrix(path)


@pytest.mark.parametrize("name", ["ld/data", "ld/indptr", "variants/snp"])
def test_ldmatrix__truncated_store_raises(tmp_path, panel, name):
    path = _write(tmp_path / "chr7.zarr", panel)
    del zarr.open_group(str(path), mode="r+")[name]
    with _raises_naming(path, f"incomplete.*{name}"):
        LDMatrix(path)


def test_ldmatrix__zarr_array_instead_of_group_raises(tmp_path):
    path = tmp_path / "array.zarr"
    zarr.create_array(str(path), shape=(3,), dtype="f8")
    with _raises_naming(path, ""):
        LDMatrix(path)


@pytest.mark.parametrize("metadata", ["{not json", '{"zarr_format": 3, "node_type": "weird"}'])
def test_ldmatrix__corrupt_zarr_metadata_raises_one_line(tmp_path, metadata):
    path = tmp_path / "corrupt.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(metadata)
    with _raises_naming(path, "") as err:
        LDMatrix(path)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- atomic write


def _fail_after_first_array(monkeypatch):
    original = zarr.Group.create_array
    calls = []

    def create_array(self, *args, **kwargs):
        if calls:
            raise OSError("disk full")
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zarr.Group, "create_array", create_array)
    return calls


def test_write_ld_store__failure_leaves_no_target_and_no_temp(tmp_path, panel, monkeypatch):
    calls = _fail_after_first_array(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path / "chr7.zarr", panel)
    assert calls == [1]  # it failed midway, after writing ld/data
    assert list(tmp_path.iterdir()) == []


def test_write_ld_store__failure_keeps_the_previous_store(tmp_path, panel, monkeypatch):
    path = _write(tmp_path / "chr7.zarr", panel, "band", "int16")
    _fail_after_first_array(monkeypatch)
    with pytest.raises(OSError):
        _write(path, panel, "indexed", "float32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chr7.zarr"]
    monkeypatch.undo()
    assert LDMatrix(path).attrs["dtype"] == "int16"


def test_ldmatrix_variants__a1_frequency_when_written(tmp_path, panel):
    freq = np.linspace(0.05, 0.95, M)
    with_freq = {**panel, "variants": {**panel["variants"], "a1_freq": freq}}
    table = LDMatrix(_write(tmp_path / "chr7.zarr", with_freq)).variants()
    assert list(table.columns)[-1] == "A1_FREQ"
    np.testing.assert_array_equal(table["A1_FREQ"].to_numpy(np.float64), freq)
    older = LDMatrix(_write(tmp_path / "old.zarr", panel)).variants()  # stores without it
    assert "A1_FREQ" not in older
