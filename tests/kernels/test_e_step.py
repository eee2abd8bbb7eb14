"""The spike-and-slab E-step kernel against its NumPy twin (prs_vi.md section 3)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from vibank.io.ld_store import QUANTISATION, quantise
from vibank.prs import _reference
from vibank.prs._kernels import _e_step


@pytest.fixture(scope="module")
def problem():
    """In-sample LD of correlated genotypes (n=400, m=300) and sumstats of a sparse trait."""
    rng = np.random.default_rng(4)
    n, m = 400, 300
    x = rng.binomial(2, 0.3, size=(n, m)).astype(float)
    for j in range(1, m):
        copy = rng.random(n) < 0.6
        x[copy, j] = x[copy, j - 1]
    x = (x - x.mean(0)) / x.std(0)
    beta = np.where(rng.random(m) < 0.05, rng.normal(0, 0.2, m), 0.0)
    y = x @ beta + rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    r = x.T @ x / n
    np.fill_diagonal(r, 0.0)
    r[np.abs(r) < 0.02] = 0.0  # sparsify like a thresholded matrix
    return {"R": sp.csr_matrix(r), "b": x.T @ y / n, "n": n, "m": m}


def _state(problem, dtype, ld=None, pi=0.05, s2b=0.01, s2e=0.8):
    m, n = problem["m"], problem["n"]
    n_j = np.full(m, float(n))
    var_mu = s2e / (n_j + s2e / s2b)
    logit_prior = np.log(pi / (1 - pi)) + 0.5 * np.log(var_mu / s2b)
    rng = np.random.default_rng(0)
    eta = rng.normal(0, 0.01, m)
    q = (problem["R"] if ld is None else _dense(problem, *ld)) @ eta  # consistent with the LD used
    arrays = dict(std_beta=problem["b"], n_per_variant=n_j, var_mu=var_mu, logit_prior=logit_prior,
                  gamma=np.full(m, pi), mu=eta / pi, eta=eta, q=q)
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}, s2e


def _dense(problem, data, indices, indptr, scale):
    return sp.csr_matrix((data.astype(np.float64) * scale, indices, indptr), shape=problem["R"].shape)


def _ld(problem, ld_dtype, index_dtype):
    r = problem["R"]
    scale = QUANTISATION[np.dtype(ld_dtype).name]
    return quantise(r.data, ld_dtype), r.indices.astype(index_dtype), r.indptr.astype(np.int64), 1.0 / scale


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step_spike_slab__matches_reference(problem, dtype, tol, ld_dtype, index_dtype, n_threads):
    data, indices, indptr, scale = _ld(problem, ld_dtype, index_dtype)
    ld = (data, indices, indptr, scale)
    ours, s2e = _state(problem, dtype, ld)
    ref, _ = _state(problem, np.float64, ld)
    for sweep in range(3):
        d1 = _e_step.e_step_spike_slab(data, indices, indptr, scale, ours["std_beta"],
                                       ours["n_per_variant"], ours["var_mu"], ours["logit_prior"],
                                       ours["gamma"], ours["mu"], ours["eta"], ours["q"], s2e,
                                       n_threads, 1)  # min_parallel_row=1: every row in parallel
        d2 = _reference.e_step_spike_slab(data, indices, indptr, scale, ref["std_beta"],
                                          ref["n_per_variant"], ref["var_mu"], ref["logit_prior"],
                                          ref["gamma"], ref["mu"], ref["eta"], ref["q"], s2e)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in ("gamma", "mu", "eta", "q"):
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=f"{name}, sweep {sweep}")
        # q stays the off-diagonal LD times the current eta after every sweep
        assert_allclose(ours["q"], _dense(problem, *ld) @ ours["eta"].astype(np.float64),
                        rtol=tol * 10, atol=tol * 10)


def test_e_step_spike_slab__extreme_logits_do_not_overflow(problem):
    data, indices, indptr, scale = _ld(problem, np.float64, np.int32)
    state, s2e = _state(problem, np.float64)
    state["logit_prior"][:] = 800.0  # exp(800) overflows a double
    _e_step.e_step_spike_slab(data, indices, indptr, scale, state["std_beta"], state["n_per_variant"],
                              state["var_mu"], state["logit_prior"], state["gamma"], state["mu"],
                              state["eta"], state["q"], s2e)
    assert np.all(np.isfinite(state["gamma"])) and np.all(state["gamma"] == 1.0)
    state["logit_prior"][:] = -800.0
    _e_step.e_step_spike_slab(data, indices, indptr, scale, state["std_beta"], state["n_per_variant"],
                              state["var_mu"], state["logit_prior"], state["gamma"], state["mu"],
                              state["eta"], state["q"], s2e)
    assert np.all(np.isfinite(state["gamma"])) and np.all(state["gamma"] < 1e-300)


@pytest.fixture(scope="module")
def banded(problem):
    """The problem's LD restricted to a band of 25 neighbours, as upper SparseLD and band rows."""
    from vibank.ld import SparseLD, symmetric_band

    m = problem["m"]
    dense = problem["R"].toarray()
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    upper = np.where((k > j) & (k - j <= 25), dense, 0.0)
    lengths = np.minimum(25, m - 1 - np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.concatenate([upper[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    sparse = SparseLD(data, indptr, None, m)
    return {"upper": sparse, "band": symmetric_band(sparse), "R": sp.csr_matrix(upper + upper.T)}


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
def test_e_step_spike_slab_band__matches_reference_and_csr_kernel(problem, banded, dtype, tol, ld_dtype):
    band = banded["band"]
    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    data = quantise(band.data, ld_dtype)
    dense = sp.csr_matrix(banded["R"].toarray())
    quantised = sp.csr_matrix((quantise(dense.data, ld_dtype), dense.indices, dense.indptr), shape=dense.shape)
    ld = (quantised.data, quantised.indices, quantised.indptr.astype(np.int64), scale)
    ours, s2e = _state(problem, dtype, ld)
    ref, _ = _state(problem, np.float64, ld)
    csr, _ = _state(problem, np.float64, ld)
    for _ in range(3):
        _e_step.e_step_spike_slab_band(data, band.first, band.indptr, scale, *[ours[k] for k in
                                       ("std_beta", "n_per_variant", "var_mu", "logit_prior", "gamma",
                                        "mu", "eta", "q")], s2e)
        _reference.e_step_spike_slab_band(data, band.first, band.indptr, scale, *[ref[k] for k in
                                          ("std_beta", "n_per_variant", "var_mu", "logit_prior", "gamma",
                                           "mu", "eta", "q")], s2e)
        _e_step.e_step_spike_slab(*ld, *[csr[k] for k in ("std_beta", "n_per_variant", "var_mu",
                                  "logit_prior", "gamma", "mu", "eta", "q")], s2e, 1)
        for name in ("gamma", "mu", "eta", "q"):
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol, err_msg=name)
            assert_allclose(ref[name], csr[name], rtol=1e-10, atol=1e-10, err_msg=name)


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
