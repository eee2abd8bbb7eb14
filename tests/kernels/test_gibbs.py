"""The Gibbs sweep kernel against its NumPy twin on the same random draws (prs_vi.md section 10)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from simulated import quantised_band_rows, quantised_csr_rows, sparse_trait

from vibank.ld import LDRows, SparseLD
from vibank.prs import _reference_gibbs
from vibank.prs._kernels import _gibbs

N_SWEEPS = 5


@pytest.fixture(scope="module")
def problem():
    """In-sample LD of correlated genotypes (n=400, m=300) and sumstats of a sparse trait."""
    n, m = 400, 300
    x, y, r = sparse_trait(4, n=n, m=m, copy=0.6)
    np.fill_diagonal(r, 0.0)
    r[np.abs(r) < 0.02] = 0.0  # sparsify like a thresholded matrix
    return {"R": sp.csr_matrix(r), "b": x.T @ y / n, "n": n, "m": m}


def _state(problem, dtype, dense, pi=0.05, s2b=0.01, s2e=0.8):
    """Sampler inputs, started from a random sparse beta with q = R_offdiag beta."""
    m, n = problem["m"], problem["n"]
    n_j = np.full(m, float(n))
    var_mu = s2e / (n_j + s2e / s2b)
    log_prior_odds = np.log(pi) - np.log1p(-pi) + 0.5 * np.log(var_mu / s2b)
    rng = np.random.default_rng(0)
    included = (rng.random(m) < 0.1).astype(np.uint8)
    beta = np.where(included, rng.normal(0, 0.05, m), 0.0)
    arrays = dict(std_beta=problem["b"], n_per_variant=n_j, var_mu=var_mu,
                  log_prior_odds=log_prior_odds, beta=beta, q=dense @ beta)
    state = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}
    state["included"] = included
    return state, s2e


def _draws(m, n_sweeps, seed=1):
    rng = np.random.default_rng(seed)
    return [_reference_gibbs.draws(rng, m) for _ in range(n_sweeps)]


def _sweep(module, ld, state, draws, s2e, **kw):
    s = state
    return module.gibbs_sweep(ld, s["std_beta"], s["n_per_variant"], s["var_mu"],
                              s["log_prior_odds"], *draws, s["beta"], s["included"], s["q"], s2e,
                              **kw)


def _check(ours, ref, dense, tol, where):
    assert_array_equal(ours["included"], ref["included"], err_msg=where)
    for name in ("beta", "q"):
        assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=f"{name}, {where}")
    # q stays the off-diagonal LD times the current beta; excluded variants have beta = 0
    assert_allclose(ours["q"], dense @ ours["beta"].astype(np.float64), rtol=10 * tol,
                    atol=10 * tol)
    assert np.all(ours["beta"][ours["included"] == 0] == 0)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gibbs_sweep__csr_matches_reference(problem, dtype, tol, ld_dtype, index_dtype):
    ld = quantised_csr_rows(problem["R"], ld_dtype, index_dtype)
    dense = ld.to_csr()
    ours, s2e = _state(problem, dtype, dense)
    ref, _ = _state(problem, np.float64, dense)
    for sweep, draws in enumerate(_draws(problem["m"], N_SWEEPS)):
        k1 = _sweep(_gibbs, ld, ours, draws, s2e)
        k2 = _sweep(_reference_gibbs, ld, ref, draws, s2e)
        assert k1 == k2 == ours["included"].sum() > 0
        _check(ours, ref, dense, tol, f"sweep {sweep}")


@pytest.fixture(scope="module")
def banded(problem):
    """The problem's LD restricted to a band of 25 neighbours, as band rows and as CSR."""
    m = problem["m"]
    dense = problem["R"].toarray()
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    upper = np.where((k > j) & (k - j <= 25), dense, 0.0)
    lengths = np.minimum(25, m - 1 - np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.concatenate([upper[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = LDRows.from_upper(SparseLD(data, indptr, None, m))
    assert band.layout == "band"
    return {"band": band, "R": sp.csr_matrix(upper + upper.T)}


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
def test_gibbs_sweep__band_matches_reference_and_csr_kernel(problem, banded, dtype, tol, ld_dtype):
    band_ld = quantised_band_rows(banded["band"], ld_dtype)
    csr_ld = quantised_csr_rows(banded["R"], ld_dtype)
    dense = csr_ld.to_csr()
    # the two layouts hold the same matrix
    assert_array_equal(band_ld.to_csr().toarray(), dense.toarray())
    ours, s2e = _state(problem, dtype, dense)
    ref, _ = _state(problem, np.float64, dense)
    csr, _ = _state(problem, np.float64, dense)
    for sweep, draws in enumerate(_draws(problem["m"], N_SWEEPS)):
        _sweep(_gibbs, band_ld, ours, draws, s2e)
        _sweep(_reference_gibbs, band_ld, ref, draws, s2e)
        _sweep(_gibbs, csr_ld, csr, draws, s2e)
        _check(ours, ref, dense, tol, f"band, sweep {sweep}")
        _check(csr, ref, dense, 1e-10, f"csr, sweep {sweep}")


@pytest.fixture(scope="module")
def blocks(problem):
    """The problem's LD cut into 7 independent blocks, as band rows (their segments computed by
    LDRows)."""
    m = problem["m"]
    cuts = np.linspace(0, m, 8).astype(int)
    dense = problem["R"].toarray()
    block_of = np.searchsorted(cuts, np.arange(m), side="right")
    dense[block_of[:, None] != block_of[None, :]] = 0.0
    lengths = cuts[block_of] - np.arange(m) - 1
    data = np.concatenate([dense[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = LDRows.from_upper(SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m))
    return {"band": band, "R": sp.csr_matrix(dense), "cuts": cuts}


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_gibbs_sweep__segments_in_parallel_equal_one_sequential_sweep(problem, blocks, dtype, tol):
    ld = quantised_band_rows(blocks["band"], np.int16)
    dense = sp.csr_matrix(blocks["R"].toarray())
    csr_ld = quantised_csr_rows(dense, np.int16)
    dense = csr_ld.to_csr()
    one, s2e = _state(problem, dtype, dense)
    two, _ = _state(problem, dtype, dense)
    ref, _ = _state(problem, np.float64, dense)
    # the kernel runs the 7 blocks in parallel; the twin sweeps in variant order
    assert len(ld.segments) == 8
    assert_array_equal(ld.segments, blocks["cuts"])
    for sweep, draws in enumerate(_draws(problem["m"], N_SWEEPS)):
        _sweep(_gibbs, ld, one, draws, s2e, n_threads=1)
        _sweep(_gibbs, ld, two, draws, s2e, n_threads=2)
        _sweep(_reference_gibbs, ld, ref, draws, s2e)
        for name in ("beta", "included", "q"):  # each variant uses its own draws: bit-identical
            assert_array_equal(one[name], two[name], err_msg=f"{name}, sweep {sweep}")
        _check(one, ref, dense, tol, f"sweep {sweep}")


@pytest.mark.parametrize("log_odds, expected", [(800.0, 1), (-800.0, 0)])
def test_gibbs_sweep__extreme_log_odds_do_not_overflow(problem, log_odds, expected):
    ld = quantised_csr_rows(problem["R"], np.float64)
    dense = ld.to_csr()
    state, s2e = _state(problem, np.float64, dense)
    state["log_prior_odds"][:] = log_odds  # exp(800) overflows a double
    draws = _draws(problem["m"], 1)[0]
    _sweep(_gibbs, ld, state, draws, s2e)
    assert np.all(state["included"] == expected)
    assert np.all(np.isfinite(state["beta"])) and np.all(np.isfinite(state["q"]))
