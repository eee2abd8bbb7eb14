"""LD stores written by the real magenpy package (tests/data/magenpy_ld, made by
tests/data/make_magenpy_fixture.py) open in vibank and match vibank's own matrix."""

from pathlib import Path

import numpy as np
import pytest

from vibank.ld import LDEstimator, LDMatrix, build_ld_store

DATA = Path(__file__).parents[1] / "data" / "magenpy_ld"
# magenpy accumulates in float32: allow 5e-6 on top of the quantisation half-step
STEP = {"float32": 5e-6, "int16": 0.5 / 32767 + 5e-6, "int8": 0.5 / 127 + 5e-6}


@pytest.fixture(scope="module")
def vibank_ld(tmp_path_factory):
    out = tmp_path_factory.mktemp("interop") / "chr1.zarr"
    build_ld_store(DATA / "panel", out, chrom="1", dtype="float64", compute_dtype=np.float64,
                   estimator=LDEstimator("windowed", window_cm=0.05, taper="none"), eigenvalues=False)
    return LDMatrix(out)


@pytest.mark.parametrize("dtype", ["float32", "int16", "int8"])
def test_ldmatrix__opens_magenpy_store(vibank_ld, dtype):
    theirs = LDMatrix(DATA / dtype / "chr_1")
    assert theirs.attrs["source"] == "magenpy"
    assert theirs.attrs["estimator"] == "windowed"
    assert theirs.attrs["n_ref"] == 120 and theirs.attrs["dtype"] == dtype
    ours_v, theirs_v = vibank_ld.variants(), theirs.variants()
    assert list(theirs_v["SNP"]) == list(ours_v["SNP"])
    np.testing.assert_array_equal(theirs_v["POS"], ours_v["POS"])
    np.testing.assert_allclose(theirs_v["MAF"], ours_v["MAF"], atol=1e-6)
    ours = vibank_ld.to_csr(dtype=np.float64, symmetric=True).toarray()
    got = theirs.to_csr(dtype=np.float64, symmetric=True).toarray()
    assert len(theirs.load().data) == len(vibank_ld.load().data)  # same stored pairs
    np.testing.assert_allclose(got, ours, atol=STEP[dtype])


def test_ldmatrix__masks_magenpy_store(vibank_ld):
    keep = np.arange(vibank_ld.n_stored) % 4 != 1
    theirs = LDMatrix(DATA / "float32" / "chr_1").set_mask(keep)
    vibank_ld.set_mask(keep)
    np.testing.assert_allclose(theirs.to_csr(dtype=np.float64).toarray(),
                               vibank_ld.to_csr(dtype=np.float64).toarray(), atol=5e-6)
    vibank_ld.set_mask(np.ones(vibank_ld.n_stored, dtype=bool))
