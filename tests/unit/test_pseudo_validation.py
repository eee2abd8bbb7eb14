"""Pseudo-validation (prs_vi.md section 8): the PUMAS-style split of summary statistics and the
grid search it drives, against the truth of a simulated population."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import toeplitz

from vibank.ld import LDRows
from vibank.prs import pseudo_validation as pv


def _ld(m, rho=0.6, blocks=1):
    """AR(1) LD in ``blocks`` independent blocks, as LDRows (off-diagonal rows)."""
    block = toeplitz(rho ** np.arange(m // blocks))
    full = np.kron(np.eye(blocks), block)
    return full, LDRows.of(sp.csr_matrix(full - np.eye(m)))


@pytest.mark.parametrize("blocks, max_block", [(1, 2000), (4, 2000), (1, 15)])
def test_correlated_noise__covariance_is_r(monkeypatch, blocks, max_block):
    monkeypatch.setattr(pv, "MAX_BLOCK", max_block)
    full, ld = _ld(40, blocks=blocks)
    rng = np.random.default_rng(0)
    draws = pv.sample_correlated_noise(ld, rng, size=20000)
    assert pv.sample_correlated_noise(ld, rng).shape == (40,)
    cov = np.cov(draws.T)
    if max_block < 40:  # windows of at most 15: the correlation across their ends is dropped
        bounds = [0, 13, 27, 40]
        for a, b in zip(bounds[:-1], bounds[1:]):
            np.testing.assert_allclose(cov[a:b, a:b], full[a:b, a:b], atol=0.04)
        assert abs(cov[12, 13]) < 0.04  # rho 0.6 in R, absent in the draw
    else:
        np.testing.assert_allclose(cov, full, atol=0.04)


def test_correlated_noise__indefinite_block_draws_from_the_positive_part():
    """A block that is not positive definite (Cholesky fails) is drawn from R's positive part,
    U max(lambda, 0) U'."""
    rng = np.random.default_rng(3)
    m = 12
    full = toeplitz(0.9 ** np.arange(m))
    full[0, 5] = full[5, 0] = -0.8  # breaks positive definiteness
    values, vectors = np.linalg.eigh(full)
    assert values[0] < 0
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(full)
    draws = pv.sample_correlated_noise(LDRows.of(sp.csr_matrix(full - np.eye(m))), rng,
                                       size=40000)
    positive = (vectors * np.clip(values, 0, None)) @ vectors.T
    np.testing.assert_allclose(np.cov(draws.T), positive, atol=0.04)


def test_split__training_and_held_out_have_the_subsets_distributions():
    """Over GWAS draws and splits: b_t ~ N(R beta, R / N_t), b_v ~ N(R beta, R / N_v), and
    b_t, b_v independent."""
    full, ld = _ld(12)
    rng = np.random.default_rng(1)
    beta = rng.normal(0, 0.02, 12)
    n = np.full(12, 1000.0)
    chol = np.linalg.cholesky(full)
    t, v = [], []
    for _ in range(20000):
        b = full @ beta + chol @ rng.standard_normal(12) / np.sqrt(1000)
        b_t, n_t, b_v, n_v = pv.split_sumstats(b, n, ld, rng, training_fraction=0.75)
        t.append(b_t), v.append(b_v)
    t, v = np.array(t), np.array(v)
    assert n_t[0] == 750 and n_v[0] == 250
    np.testing.assert_allclose(t.mean(0), full @ beta, atol=3e-3)
    np.testing.assert_allclose(v.mean(0), full @ beta, atol=5e-3)
    np.testing.assert_allclose(np.cov(t.T) * 750, full, atol=0.05)
    np.testing.assert_allclose(np.cov(v.T) * 250, full, atol=0.05)
    cross = ((t - t.mean(0)).T @ (v - v.mean(0))) / len(t)
    assert np.abs(cross * np.sqrt(750 * 250)).max() < 0.05


def test_split__fraction_outside_0_1_is_an_error():
    _, ld = _ld(4)
    with pytest.raises(ValueError, match="training_fraction"):
        pv.split_sumstats(np.zeros(4), np.ones(4), ld, np.random.default_rng(0),
                          training_fraction=1.0)


def test_one_standard_error_choice__sparsest_within_one_se():
    import pandas as pd

    table = pd.DataFrame({"pi": [1e-4, 1e-3, 1e-2, 1e-1, 0.5],
                          "metric": [0.48, 0.50, 0.51, 0.47, np.nan]})
    se = 2 * np.sqrt(0.51) * (1 - 0.51) / np.sqrt(1000)  # 0.0221
    assert pv.one_standard_error_choice(table, 1000) == {"pi": 1e-3}  # 0.50 >= 0.51 - se
    assert 0.51 - se > 0.48
    assert pv.one_standard_error_choice(table, 10**7) == {"pi": 1e-2}  # SE ~ 0: the argmax
    with pytest.raises(ValueError, match="no grid point"):
        pv.one_standard_error_choice(table.assign(metric=np.nan), 1000)
