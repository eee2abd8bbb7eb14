"""The VIPRS E-step kernel (spike-and-slab and mixture) against its NumPy twin (prs_vi.md section 3)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from simulated import quantised_band_rows, quantised_csr_rows, sparse_trait

from vibank.ld import LDRows, SparseLD
from vibank.prs import _reference
from vibank.prs._kernels import _e_step


@pytest.fixture(scope="module")
def problem():
    """In-sample LD of correlated genotypes (n=400, m=300) and sumstats of a sparse trait."""
    n, m = 400, 300
    x, y, r = sparse_trait(4, n=n, m=m, copy=0.6)
    np.fill_diagonal(r, 0.0)
    r[np.abs(r) < 0.02] = 0.0  # sparsify like a thresholded matrix
    return {"R": sp.csr_matrix(r), "b": x.T @ y / n, "n": n, "m": m}


def _state(problem, dtype, ld, n_comp=1, pi=0.05, s2b=0.01, s2e=0.8):
    """E-step inputs for K = n_comp slabs (variances s2b 10^-k), q consistent with the LD used."""
    m, n = problem["m"], problem["n"]
    n_j = np.full(m, float(n))
    s2 = s2b * 10.0 ** -np.arange(n_comp)
    pis = np.full(n_comp, pi / n_comp)
    var_mu = s2e / (n_j[:, None] + s2e / s2)
    log_prior = np.log(pis) + 0.5 * np.log(var_mu / s2)
    rng = np.random.default_rng(0)
    eta = rng.normal(0, 0.01, m)
    q = ld.to_csr() @ eta
    arrays = dict(std_beta=problem["b"], n_per_variant=n_j, var_mu=var_mu, log_prior=log_prior,
                  gamma=np.tile(pis, (m, 1)), mu=np.tile(eta / pi, (n_comp, 1)).T, eta=eta, q=q)
    state = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}
    return state, float(np.log1p(-pis.sum())), s2e


STATE = ("std_beta", "n_per_variant", "var_mu", "log_prior")
UPDATED = ("gamma", "mu", "eta", "q")


def _sweep(module, ld, state, log_null, s2e, **kw):
    return module.e_step(ld, *[state[k] for k in STATE], log_null, *[state[k] for k in UPDATED],
                         s2e, **kw)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_comp", [1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step__csr_matches_reference(problem, dtype, tol, ld_dtype, index_dtype, n_comp, n_threads):
    ld = quantised_csr_rows(problem["R"], ld_dtype, index_dtype)
    ours, log_null, s2e = _state(problem, dtype, ld, n_comp)
    ref, _, _ = _state(problem, np.float64, ld, n_comp)
    for sweep in range(3):
        d1 = _sweep(_e_step, ld, ours, log_null, s2e, n_threads=n_threads)
        d2 = _sweep(_reference, ld, ref, log_null, s2e)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=f"{name}, sweep {sweep}")
        # q stays the off-diagonal LD times the current eta after every sweep
        assert_allclose(ours["q"], ld.to_csr() @ ours["eta"].astype(np.float64),
                        rtol=tol * 10, atol=tol * 10)
        assert_allclose(ours["eta"], np.sum(ours["gamma"] * ours["mu"], axis=1), rtol=tol, atol=tol)


@pytest.mark.parametrize("n_comp", [1, 4])
def test_e_step__extreme_log_odds_do_not_overflow(problem, n_comp):
    ld = quantised_csr_rows(problem["R"], np.float64)
    state, log_null, s2e = _state(problem, np.float64, ld, n_comp)
    state["log_prior"][:] = 800.0  # exp(800) overflows a double
    _sweep(_e_step, ld, state, log_null, s2e)
    assert np.all(np.isfinite(state["gamma"]))
    assert_allclose(state["gamma"].sum(axis=1), 1.0)
    state["log_prior"][:] = -800.0
    _sweep(_e_step, ld, state, log_null, s2e)
    assert np.all(np.isfinite(state["gamma"])) and np.all(state["gamma"] < 1e-300)


def test_e_step__too_many_components_is_refused(problem):
    ld = quantised_csr_rows(problem["R"], np.float64)
    state, log_null, s2e = _state(problem, np.float64, ld, _e_step.MAX_COMPONENTS + 1)
    with pytest.raises(ValueError, match="at most"):
        _sweep(_e_step, ld, state, log_null, s2e)


def _banded(problem, width):
    """The problem's LD restricted to a band of ``width`` neighbours, as upper SparseLD and band rows."""
    m = problem["m"]
    dense = problem["R"].toarray()
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    upper = np.where((k > j) & (k - j <= width), dense, 0.0)
    lengths = np.minimum(width, m - 1 - np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.concatenate([upper[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    sparse = SparseLD(data, indptr, None, m)
    band = LDRows.from_upper(sparse)
    assert band.layout == "band"
    return {"upper": sparse, "band": band, "R": sp.csr_matrix(upper + upper.T)}


@pytest.fixture(scope="module")
def banded(problem):
    """A band of 25 neighbours (rows of up to 51 values)."""
    return _banded(problem, 25)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
def test_e_step__wide_band_rows_match_reference(problem, dtype, tol, ld_dtype):
    # rows of up to 300 values: several 64-byte lines of the prefetching axpy for every value
    # type (64 int8 values a line), with remainders of every length mod the line
    ld = quantised_band_rows(_banded(problem, 150)["band"], ld_dtype)
    assert np.diff(ld.indptr).max() > 4 * 64
    dense = ld.to_csr()
    ours, log_null, s2e = _state(problem, dtype, ld)
    ref, _, _ = _state(problem, np.float64, ld)
    for _ in range(2):
        _sweep(_e_step, ld, ours, log_null, s2e)
        _sweep(_reference, ld, ref, log_null, s2e)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)
    assert_allclose(ours["q"], dense @ ours["eta"].astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("n_comp", [1, 3])
def test_e_step__band_matches_reference_and_csr_kernel(problem, banded, dtype, tol, ld_dtype, n_comp):
    band = quantised_band_rows(banded["band"], ld_dtype)
    csr_ld = quantised_csr_rows(sp.csr_matrix(banded["R"].toarray()), ld_dtype)
    # the two layouts hold the same matrix
    assert_allclose(band.to_csr().toarray(), csr_ld.to_csr().toarray(), rtol=0, atol=0)
    ours, log_null, s2e = _state(problem, dtype, csr_ld, n_comp)
    ref, _, _ = _state(problem, np.float64, csr_ld, n_comp)
    csr, _, _ = _state(problem, np.float64, csr_ld, n_comp)
    for _ in range(3):
        _sweep(_e_step, band, ours, log_null, s2e)
        _sweep(_reference, band, ref, log_null, s2e)
        _sweep(_e_step, csr_ld, csr, log_null, s2e)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)
            assert_allclose(ref[name], csr[name], rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.fixture(scope="module")
def blocks(problem):
    """The problem's LD cut into 7 independent blocks, as band rows (their segments computed by
    LDRows) and as CSR."""
    m = problem["m"]
    cuts = np.linspace(0, m, 8).astype(int)
    dense = problem["R"].toarray()
    block_of = np.searchsorted(cuts, np.arange(m), side="right")
    dense[block_of[:, None] != block_of[None, :]] = 0.0
    lengths = cuts[block_of] - np.arange(m) - 1
    data = np.concatenate([dense[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = LDRows.from_upper(SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m))
    csr = LDRows.of(sp.csr_matrix(dense))
    return {"band": band, "csr": csr, "R": sp.csr_matrix(dense), "cuts": cuts}


def test_independent_segments__are_the_blocks(blocks):
    assert blocks["band"].layout == "band" and blocks["csr"].layout == "csr"
    assert_array_equal(blocks["band"].segments, blocks["cuts"])
    # the CSR matrix drops explicit zeros, so it may find finer segments, never coarser ones
    assert set(blocks["cuts"]) <= set(blocks["csr"].segments)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step__segments_in_parallel_equal_one_sequential_sweep(problem, blocks, dtype, tol, n_threads):
    band = blocks["band"]
    ld = LDRows(band.data.astype(np.float32), band.indptr, band.n_variants, first=band.first)
    assert_array_equal(ld.segments, blocks["cuts"])  # the kernel runs the 7 blocks in parallel
    dense = blocks["R"]
    csr_ld = LDRows(dense.data.astype(np.float32), dense.indptr, dense.shape[0],
                    indices=dense.indices)
    ours, log_null, s2e = _state(problem, dtype, csr_ld, 2)
    ref, _, _ = _state(problem, np.float64, csr_ld, 2)
    for _ in range(3):
        _sweep(_e_step, ld, ours, log_null, s2e, n_threads=n_threads)
        _sweep(_reference, ld, ref, log_null, s2e)  # the twin: one sweep in variant order
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)


def test_viprs__band_and_csr_layouts_give_the_same_fit(problem, banded):
    from vibank.prs import VIPRS

    # hyperparameters fixed: the banded, thresholded matrix does not match these in-sample
    # sumstats well enough for the M-step, and this test is about the two E-step layouts
    kw = dict(pi=0.02, sigma2_beta=1e-3, sigma2_eps=0.9, max_iter=30,
              fix=("pi", "sigma2_beta", "sigma2_eps"))
    assert banded["band"].layout == "band" and LDRows.of(banded["R"]).layout == "csr"
    a = VIPRS(**kw).fit(problem["b"], problem["n"], banded["band"])
    b = VIPRS(**kw).fit(problem["b"], problem["n"], banded["R"])
    assert_allclose(a.eta_, b.eta_, rtol=1e-9, atol=1e-12)
    assert a.h2_ == pytest.approx(b.h2_, rel=1e-9) and a.result_.n_iter == b.result_.n_iter
