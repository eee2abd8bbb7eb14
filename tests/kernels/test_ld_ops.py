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
