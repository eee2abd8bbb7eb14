"""Lazy neighbour updates of the VIPRS E-step kernel (``lazy_tol > 0``) and its ``flush``,
against the NumPy twins: q = R (eta - pending) after every lazy sweep, q = R eta after a flush."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from simulated import sparse_trait

from vibank.io.ld_store import QUANTISATION, quantise
from vibank.ld import LDRows
from vibank.prs import _reference
from vibank.prs._kernels import _e_step

STATE = ("std_beta", "n_per_variant", "var_mu", "log_prior")
UPDATED = ("gamma", "mu", "eta", "q", "pending")


@pytest.fixture(scope="module")
def problem():
    """In-sample LD (n = 400, m = 300) of correlated genotypes in 3 independent segments of
    100 variants (band of 20 neighbours within a segment), and a sparse trait's sumstats."""
    n, m, width = 400, 300, 20
    x, y, r = sparse_trait(11, n=n, m=m, copy=0.7)
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    r[(np.abs(j - k) > width) | (j // 100 != k // 100) | (j == k)] = 0.0
    return {"R": r, "b": x.T @ y / n, "n": n, "m": m,
            "segments": np.array([0, 100, 200, 300], dtype=np.int64)}


def _layout(problem, ld_dtype, band):
    """The problem's LD as LDRows (CSR or band rows), quantised to ld_dtype; its segments (which
    the kernel runs in parallel) are the problem's three."""
    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    r, m = problem["R"], problem["m"]
    if not band:
        csr = sp.csr_matrix(r)
        ld = LDRows(quantise(csr.data, ld_dtype), csr.indptr, m, indices=csr.indices, scale=scale)
    else:
        # band rows: row j covers columns first_j .. last_j, its diagonal among them (stored as 0)
        nonzero = r != 0
        cols = [np.flatnonzero(nonzero[i]) for i in range(m)]
        first = np.array([min(c.min(), i) if len(c) else i for i, c in enumerate(cols)])
        last = np.array([max(c.max(), i) if len(c) else i for i, c in enumerate(cols)])
        data = np.concatenate([r[i, first[i]:last[i] + 1] for i in range(m)])
        indptr = np.concatenate([[0], np.cumsum(last - first + 1)])
        ld = LDRows(quantise(data, ld_dtype), indptr, m, first=first, scale=scale)
    assert ld.layout == ("band" if band else "csr")
    assert_array_equal(ld.segments, problem["segments"])
    return ld


def _dense(ld):
    """The correlations of an LDRows (stored values times scale) as float64 CSR."""
    return ld.to_csr(dtype=np.float64)


def _state(problem, dtype, n_comp=1, pi=0.05, s2b=0.01, s2e=0.8):
    m, n = problem["m"], problem["n"]
    n_j = np.full(m, float(n))
    s2 = s2b * 10.0 ** -np.arange(n_comp)
    pis = np.full(n_comp, pi / n_comp)
    var_mu = s2e / (n_j[:, None] + s2e / s2)
    arrays = dict(std_beta=problem["b"], n_per_variant=n_j, var_mu=var_mu,
                  log_prior=np.log(pis) + 0.5 * np.log(var_mu / s2), gamma=np.tile(pis, (m, 1)),
                  mu=np.zeros((m, n_comp)), eta=np.zeros(m), q=np.zeros(m), pending=np.zeros(m))
    state = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()}
    return state, float(np.log1p(-pis.sum())), s2e


def _sweep(module, ld, state, log_null, s2e, lazy_tol, **kw):
    return module.e_step(ld, *[state[k] for k in STATE], log_null,
                         *[state[k] for k in UPDATED[:4]], s2e, pending=state["pending"],
                         lazy_tol=lazy_tol, **kw)


def _flush(module, ld, state, **kw):
    return module.flush(ld, state["pending"], state["q"], **kw)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.int16, np.int8])
@pytest.mark.parametrize("band", [False, True], ids=["csr", "band"])
@pytest.mark.parametrize("n_comp", [1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_e_step__lazy_sweeps_and_flush_match_reference(problem, dtype, tol, ld_dtype, band, n_comp,
                                                        n_threads):
    ld = _layout(problem, ld_dtype, band)
    dense = _dense(ld)
    ours, log_null, s2e = _state(problem, dtype, n_comp)
    ref, _, _ = _state(problem, np.float64, n_comp)
    lazy_tol = 1e-3
    for sweep in range(6):
        d1 = _sweep(_e_step, ld, ours, log_null, s2e, lazy_tol, n_threads=n_threads)
        d2 = _sweep(_reference, ld, ref, log_null, s2e, lazy_tol)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol,
                            err_msg=f"{name}, sweep {sweep}")
        # q lags eta by exactly the pending changes, each below the tolerance
        applied = ours["eta"].astype(np.float64) - ours["pending"]
        assert_allclose(ours["q"], dense @ applied, rtol=tol * 10, atol=tol * 10)
        assert np.all(np.abs(ours["pending"]) < lazy_tol)
    assert np.count_nonzero(ours["pending"]) > 0  # the test holds changes back
    n1 = _flush(_e_step, ld, ours, n_threads=n_threads)
    n2 = _flush(_reference, ld, ref)
    assert n1 == n2 > 0
    assert not ours["pending"].any() and not ref["pending"].any()
    assert_allclose(ours["q"], ref["q"], rtol=tol, atol=tol)
    assert_allclose(ours["q"], dense @ ours["eta"].astype(np.float64), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_e_step__zero_lazy_tol_is_the_exact_sweep(problem, dtype):
    """lazy_tol = 0 leaves pending alone and gives the exact sweep bit for bit."""
    ld = _layout(problem, np.int16, True)
    lazy, log_null, s2e = _state(problem, dtype)
    exact, _, _ = _state(problem, dtype)
    lazy["pending"][:] = 7.0  # never read
    for _ in range(3):
        _sweep(_e_step, ld, lazy, log_null, s2e, 0.0)
        _e_step.e_step(ld, *[exact[k] for k in STATE],
                       log_null, *[exact[k] for k in UPDATED[:4]], s2e)
    for name in UPDATED[:4]:
        assert_array_equal(lazy[name], exact[name], err_msg=name)
    assert np.all(lazy["pending"] == 7.0)


def test_e_step__lazy_sweep_needs_a_pending_array(problem):
    ld = _layout(problem, np.float64, False)
    state, log_null, s2e = _state(problem, np.float64)
    with pytest.raises(ValueError, match="pending"):
        _e_step.e_step(ld, *[state[k] for k in STATE], log_null, *[state[k] for k in UPDATED[:4]],
                       s2e, lazy_tol=1e-3)
