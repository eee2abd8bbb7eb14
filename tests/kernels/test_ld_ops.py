"""Compiled genotype kernels against their NumPy twins (float32/float64, 1 and 2 threads)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from vibank.ld import _ld_ops, standardise_genotypes
from vibank.ld import _reference

TOL = {np.float32: 2e-6, np.float64: 1e-12}


def _genotypes(n_variants=300, n_samples=517, seed=0):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.01, 0.99, size=n_variants)
    geno = rng.binomial(2, freq[:, None], size=(n_variants, n_samples)).astype(np.int8)
    geno[rng.random(geno.shape) < 0.03] = -127  # missing calls
    geno[0] = 1  # monomorphic: must standardise to all zeros
    geno[1] = -127  # all missing
    geno[2, :-3] = -127  # almost all missing, still polymorphic
    geno[2, -3:] = [0, 1, 2]
    return geno


def test_openmp_enabled__gcc_build():
    assert _ld_ops.openmp_enabled()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_standardise_genotypes__matches_reference(dtype, n_threads):
    geno = _genotypes()
    out, mean, std, n_obs = standardise_genotypes(geno, dtype=dtype, n_threads=n_threads)
    ref_out, ref_mean, ref_std, ref_obs = _reference.standardise_genotypes(geno, dtype=np.float64)
    assert out.dtype == dtype and mean.dtype == dtype
    assert_allclose(out, ref_out, rtol=TOL[dtype], atol=TOL[dtype] * 10)
    assert_allclose(mean, ref_mean, rtol=TOL[dtype])
    assert_allclose(std, ref_std, rtol=TOL[dtype])
    assert_array_equal(n_obs, ref_obs)


def test_standardise_genotypes__threads_agree_bitwise():
    geno = _genotypes(n_variants=1000, seed=3)
    one = standardise_genotypes(geno, dtype=np.float64, n_threads=1)
    two = standardise_genotypes(geno, dtype=np.float64, n_threads=2)
    for a, b in zip(one, two):
        assert_array_equal(a, b)


def test_standardise_genotypes__unit_variance_over_observed():
    geno = _genotypes(seed=5)
    out, _, std, n_obs = standardise_genotypes(geno, dtype=np.float64)
    poly = (std > 0) & (n_obs > 0)
    obs = geno >= 0
    for j in np.flatnonzero(poly)[:50]:
        x = out[j, obs[j]]
        assert abs(x.mean()) < 1e-10
        assert abs(x.var() - 1.0) < 1e-10
        assert np.all(out[j, ~obs[j]] == 0)
    assert np.all(out[0] == 0) and std[0] == 0  # monomorphic
    assert n_obs[1] == 0 and np.all(out[1] == 0)  # all missing


def test_standardise_genotypes__rejects_bad_arguments():
    geno = _genotypes(n_variants=5)
    with pytest.raises(ValueError, match="dtype"):
        standardise_genotypes(geno, dtype=np.int32)
    with pytest.raises(ValueError, match="n_threads"):
        standardise_genotypes(geno, n_threads=0)
    with pytest.raises(ValueError, match="2-D"):
        standardise_genotypes(geno[0])


def _band(m=400, seed=0, longest=300):
    """Band rows of random lengths (some empty, some past the 128-value pairwise block)."""
    rng = np.random.default_rng(seed)
    ends = np.minimum(np.arange(m) + 1 + rng.integers(0, longest, m), m)
    ends = ends.astype(np.int64)
    ends[::17] = np.arange(m)[::17] + 1  # empty rows
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(ends - np.arange(m) - 1, out=indptr[1:])
    return ends, indptr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_band_tile__matches_reference_bitwise(dtype):
    ends, indptr = _band(m=300, longest=120)
    rng = np.random.default_rng(1)
    data, want = (np.full(indptr[-1], np.nan, dtype=dtype) for _ in range(2))
    for a in range(0, 300, 64):
        b = min(a + 64, 300)
        hi = int(ends[a:b].max())
        block = (rng.standard_normal((b - a, hi - a)) * 0.7).astype(dtype)  # some beyond +-1
        _ld_ops.copy_band_tile(block, a, ends, indptr, data)
        _reference.copy_band_tile(block, a, ends, indptr, want)
    assert_array_equal(data, want)
    assert np.abs(data).max() == 1.0 and not np.isnan(data).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stored", [np.int16, np.int8])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_quantise_values__matches_reference_and_store_bitwise(dtype, stored, n_threads):
    from vibank.io.ld_store import QUANTISATION, quantise

    scale = QUANTISATION[np.dtype(stored).name]
    rng = np.random.default_rng(2)
    halves = (np.arange(-scale, scale) + 0.5) / scale  # exact ties: rounded to even
    values = np.concatenate([rng.uniform(-1, 1, 5000), halves, [-1.0, 1.0, 0.0, -0.0]])
    values = values.astype(dtype)
    out = np.empty(len(values), dtype=stored)
    _ld_ops.quantise_values(values, out, float(scale), n_threads)
    assert_array_equal(out, _reference.quantise_values(values, stored, scale))
    assert_array_equal(out, quantise(values, stored))
    assert out.min() == -scale and out.max() == scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_ref", [0.0, 378.0])
def test_band_r2_sums__matches_reference_bitwise(dtype, n_ref):
    ends, indptr = _band()
    data = np.random.default_rng(3).uniform(-1, 1, indptr[-1]).astype(dtype)
    rows, cols = np.full(len(ends), np.nan), np.full(len(ends), np.nan)
    _ld_ops.band_r2_sums(data, indptr, rows, cols, n_ref)
    want_rows, want_cols = _reference.band_r2_sums(data, indptr, n_ref)
    assert_array_equal(rows, want_rows)  # numpy's pairwise summation, the same bits
    assert_array_equal(cols, want_cols)
    assert rows[1] != 0 and rows[17] == 0 and np.diff(indptr).max() > 128  # all three paths
