"""The VIPRS E-step kernel (spike-and-slab and mixture) against its NumPy twin (prs_vi.md section 3)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from simulated import sparse_trait

from vibank.io.ld_store import QUANTISATION, quantise
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


def _state(problem, dtype, ld=None, n_comp=1, pi=0.05, s2b=0.01, s2e=0.8):
    """E-step inputs for K = n_comp slabs (variances s2b 10^-k), q consistent with the LD used."""
    m, n = problem["m"], problem["n"]
    n_j = np.full(m, float(n))
    s2 = s2b * 10.0 ** -np.arange(n_comp)
    pis = np.full(n_comp, pi / n_comp)
    var_mu = s2e / (n_j[:, None] + s2e / s2)
    log_prior = np.log(pis) + 0.5 * np.log(var_mu / s2)
    rng = np.random.default_rng(0)
    eta = rng.normal(0, 0.01, m)
    q = (problem["R"] if ld is None else _dense(problem, *ld)) @ eta
    arrays = dict(std_beta=problem["b"], n_per_variant=n_j, var_mu=var_mu, log_prior=log_prior,
                  gamma=np.tile(pis, (m, 1)), mu=np.tile(eta / pi, (n_comp, 1)).T, eta=eta, q=q)
    state = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}
    return state, float(np.log1p(-pis.sum())), s2e


STATE = ("std_beta", "n_per_variant", "var_mu", "log_prior")
UPDATED = ("gamma", "mu", "eta", "q")
NO_FIRST = np.empty(0, dtype=np.int64)


def _sweep(module, ld, first, segments, state, log_null, s2e, **kw):
    data, indices, indptr, scale = ld
    return module.e_step(data, indices, first, indptr, scale, segments, *[state[k] for k in STATE],
                         log_null, *[state[k] for k in UPDATED], s2e, **kw)


def _dense(problem, data, indices, indptr, scale):
    return sp.csr_matrix((data.astype(np.float64) * scale, indices, indptr), shape=problem["R"].shape)


def _ld(problem, ld_dtype, index_dtype):
    r = problem["R"]
    scale = QUANTISATION[np.dtype(ld_dtype).name]
    return quantise(r.data, ld_dtype), r.indices.astype(index_dtype), r.indptr.astype(np.int64), 1.0 / scale


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_comp", [1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step__csr_matches_reference(problem, dtype, tol, ld_dtype, index_dtype, n_comp, n_threads):
    ld = _ld(problem, ld_dtype, index_dtype)
    ours, log_null, s2e = _state(problem, dtype, ld, n_comp)
    ref, _, _ = _state(problem, np.float64, ld, n_comp)
    segments = np.array([0, problem["m"]], dtype=np.int64)
    for sweep in range(3):
        d1 = _sweep(_e_step, ld, NO_FIRST, segments, ours, log_null, s2e, n_threads=n_threads)
        d2 = _sweep(_reference, ld, NO_FIRST, segments, ref, log_null, s2e)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=f"{name}, sweep {sweep}")
        # q stays the off-diagonal LD times the current eta after every sweep
        assert_allclose(ours["q"], _dense(problem, *ld) @ ours["eta"].astype(np.float64),
                        rtol=tol * 10, atol=tol * 10)
        assert_allclose(ours["eta"], np.sum(ours["gamma"] * ours["mu"], axis=1), rtol=tol, atol=tol)


@pytest.mark.parametrize("n_comp", [1, 4])
def test_e_step__extreme_log_odds_do_not_overflow(problem, n_comp):
    ld = _ld(problem, np.float64, np.int32)
    segments = np.array([0, problem["m"]], dtype=np.int64)
    state, log_null, s2e = _state(problem, np.float64, ld, n_comp)
    state["log_prior"][:] = 800.0  # exp(800) overflows a double
    _sweep(_e_step, ld, NO_FIRST, segments, state, log_null, s2e)
    assert np.all(np.isfinite(state["gamma"]))
    assert_allclose(state["gamma"].sum(axis=1), 1.0)
    state["log_prior"][:] = -800.0
    _sweep(_e_step, ld, NO_FIRST, segments, state, log_null, s2e)
    assert np.all(np.isfinite(state["gamma"])) and np.all(state["gamma"] < 1e-300)


def test_e_step__too_many_components_is_refused(problem):
    ld = _ld(problem, np.float64, np.int32)
    state, log_null, s2e = _state(problem, np.float64, ld, _e_step.MAX_COMPONENTS + 1)
    with pytest.raises(ValueError, match="at most"):
        _sweep(_e_step, ld, NO_FIRST, np.array([0, problem["m"]]), state, log_null, s2e)


def _banded(problem, width):
    """The problem's LD restricted to a band of ``width`` neighbours, as upper SparseLD and band rows."""
    from vibank.ld import SparseLD, symmetric_band

    m = problem["m"]
    dense = problem["R"].toarray()
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    upper = np.where((k > j) & (k - j <= width), dense, 0.0)
    lengths = np.minimum(width, m - 1 - np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.concatenate([upper[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    sparse = SparseLD(data, indptr, None, m)
    return {"upper": sparse, "band": symmetric_band(sparse), "R": sp.csr_matrix(upper + upper.T)}


@pytest.fixture(scope="module")
def banded(problem):
    """A band of 25 neighbours (rows of up to 51 values)."""
    return _banded(problem, 25)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
def test_e_step__wide_band_rows_match_reference(problem, dtype, tol, ld_dtype):
    # rows of up to 299 values: several 64-byte lines of the prefetching axpy for every value
    # type (64 int8 values a line), with remainders of every length mod the line
    band = _banded(problem, 150)["band"]
    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    data = quantise(band.data, ld_dtype)
    ld = (data, np.empty(0, dtype=np.int32), band.indptr, scale)
    columns = np.concatenate([band.first[j] + np.arange(band.indptr[j + 1] - band.indptr[j])
                              for j in range(problem["m"])])
    dense = sp.csr_matrix((data.astype(np.float64) * scale, columns, band.indptr), shape=problem["R"].shape)
    ours, log_null, s2e = _state(problem, dtype, (dense.data, dense.indices, dense.indptr, 1.0))
    ref, _, _ = _state(problem, np.float64, (dense.data, dense.indices, dense.indptr, 1.0))
    segments = np.array([0, problem["m"]], dtype=np.int64)
    for _ in range(2):
        _sweep(_e_step, ld, band.first, segments, ours, log_null, s2e)
        _sweep(_reference, ld, band.first, segments, ref, log_null, s2e)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)
    assert_allclose(ours["q"], dense @ ours["eta"].astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("n_comp", [1, 3])
def test_e_step__band_matches_reference_and_csr_kernel(problem, banded, dtype, tol, ld_dtype, n_comp):
    band = banded["band"]
    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    data = quantise(band.data, ld_dtype)
    no_indices = np.empty(0, dtype=np.int32)
    dense = sp.csr_matrix(banded["R"].toarray())
    quantised = sp.csr_matrix((quantise(dense.data, ld_dtype), dense.indices, dense.indptr), shape=dense.shape)
    ld = (quantised.data, quantised.indices, quantised.indptr.astype(np.int64), scale)
    ours, log_null, s2e = _state(problem, dtype, ld, n_comp)
    ref, _, _ = _state(problem, np.float64, ld, n_comp)
    csr, _, _ = _state(problem, np.float64, ld, n_comp)
    segments = np.array([0, problem["m"]], dtype=np.int64)
    for _ in range(3):
        _sweep(_e_step, (data, no_indices, band.indptr, scale), band.first, segments, ours, log_null, s2e)
        _sweep(_reference, (data, no_indices, band.indptr, scale), band.first, segments, ref, log_null, s2e)
        _sweep(_e_step, ld, NO_FIRST, segments, csr, log_null, s2e)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)
            assert_allclose(ref[name], csr[name], rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.fixture(scope="module")
def blocks(problem):
    """The problem's LD cut into 7 independent blocks, as band rows, with their segments."""
    from vibank.ld import SparseLD, symmetric_band
    from vibank.prs.model import independent_segments

    m = problem["m"]
    cuts = np.linspace(0, m, 8).astype(int)
    dense = problem["R"].toarray()
    block_of = np.searchsorted(cuts, np.arange(m), side="right")
    dense[block_of[:, None] != block_of[None, :]] = 0.0
    lengths = cuts[block_of] - np.arange(m) - 1
    data = np.concatenate([dense[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = symmetric_band(SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m))
    return {"band": band, "R": sp.csr_matrix(dense), "cuts": cuts,
            "segments": independent_segments(band), "csr_segments": independent_segments(sp.csr_matrix(dense))}


def test_independent_segments__are_the_blocks(blocks):
    assert_allclose(blocks["segments"], blocks["cuts"])
    # the CSR matrix drops explicit zeros, so it may find finer segments, never coarser ones
    assert set(blocks["cuts"]) <= set(blocks["csr_segments"])


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step__segments_in_parallel_equal_one_sequential_sweep(problem, blocks, dtype, tol, n_threads):
    band = blocks["band"]
    data = band.data.astype(np.float32)
    ld = (data, np.empty(0, dtype=np.int32), band.indptr, 1.0)
    dense = blocks["R"]
    csr_ld = (dense.data.astype(np.float32), dense.indices, dense.indptr.astype(np.int64), 1.0)
    ours, log_null, s2e = _state(problem, dtype, csr_ld, 2)
    ref, _, _ = _state(problem, np.float64, csr_ld, 2)
    for _ in range(3):
        _sweep(_e_step, ld, band.first, blocks["segments"], ours, log_null, s2e, n_threads=n_threads)
        _sweep(_reference, ld, band.first, np.array([0, problem["m"]]), ref, log_null, s2e)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)


def test_viprs__band_and_csr_layouts_give_the_same_fit(problem, banded):
    from vibank.prs import VIPRS

    # hyperparameters fixed: the banded, thresholded matrix does not match these in-sample
    # sumstats well enough for the M-step, and this test is about the two E-step layouts
    kw = dict(pi=0.02, sigma2_beta=1e-3, sigma2_eps=0.9, max_iter=30,
              fix=("pi", "sigma2_beta", "sigma2_eps"))
    a = VIPRS(**kw).fit(problem["b"], problem["n"], banded["band"])
    b = VIPRS(**kw).fit(problem["b"], problem["n"], banded["R"])
    assert_allclose(a.eta_, b.eta_, rtol=1e-9, atol=1e-12)
    assert a.h2_ == pytest.approx(b.h2_, rel=1e-9) and a.result_.n_iter == b.result_.n_iter
