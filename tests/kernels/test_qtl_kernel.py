"""The atlasQTL core loop (pqtl_afcavi.md (c) step 5): Cython kernel against its NumPy twin, and
the Gram-matrix formulation against the individual-level update (with missing values)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_ndtr

from vibank.qtl import _reference
from vibank.qtl._kernels import _cavi
from vibank.qtl.data import precompute, prepare


def _problem(with_na):
    """n=80 individuals, p=25 correlated predictors, q=10 responses; optional NA patterns."""
    rng = np.random.default_rng(11)
    n, p, q = 80, 25, 10
    x = rng.binomial(2, 0.35, size=(n, p)).astype(float)
    for j in range(1, p):
        copy = rng.random(n) < 0.4
        x[copy, j] = x[copy, j - 1]
    beta = np.where(rng.random((p, q)) < 0.1, rng.normal(0, 0.5, (p, q)), 0.0)
    y = x @ beta + rng.standard_normal((n, q))
    if with_na:
        y[rng.random(n) < 0.2, 2] = np.nan
        y[:7, 5] = np.nan
        y[:7, 6] = np.nan  # same pattern as response 5: shares its C matrix
    return precompute(prepare(x, y)), rng


def _state(data, rng, c):
    """Consistent variational state: random g, mu; GB = (X'X Bbar)' with the NA corrections."""
    n, p, q = data.shape
    g = rng.uniform(0.01, 0.99, (q, p))
    mu = rng.normal(0, 0.2, (q, p))
    bbar = g * mu
    gb = bbar @ data.gram
    for t in np.flatnonzero(data.miss_index >= 0):
        gb[t] -= data.c_miss[data.miss_index[t]] @ bbar[t]
    tau = rng.uniform(0.5, 2.0, q)
    sig2_inv = 0.7
    s2b = 1.0 / (c * tau[:, None] * (data.diag + sig2_inv))
    m = np.add.outer(rng.normal(-2.5, 0.3, q), rng.normal(0, 0.5, p))
    inputs = dict(s2b=s2b, tau=tau, lpd=log_ndtr(m) - log_ndtr(-m),
                  cst=rng.normal(-1.0, 0.3, q), c=c)
    state = dict(g=g, mu=mu, bbar=bbar, GB=np.ascontiguousarray(gb))
    return inputs, state


def _copy(state):
    return {k: v.copy() for k, v in state.items()}


@pytest.mark.parametrize("with_na", [False, True])
@pytest.mark.parametrize("c", [0.5, 1.0])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("subset", [False, True])
@pytest.mark.parametrize("block, chunk", [(1, 128), (7, 3), (64, 128)])
def test_cavi_sweep__matches_reference(with_na, c, n_threads, subset, block, chunk):
    """The kernel (GB updates delayed over blocks of predictors, one dgemm per block) equals the
    one-predictor-at-a-time specification and the blocked NumPy twin; block 7 does not divide
    p = 25 and chunk 3 splits the responses unevenly over threads."""
    data, rng = _problem(with_na)
    n, p, q = data.shape
    inputs, state = _state(data, rng, c)
    units = np.array([0, 2, 5, 9] if subset else range(q), dtype=np.int64)
    order = rng.permutation(p).astype(np.int64)
    fixed = (data.gram, data.c_miss, data.miss_index, data.ytx)
    ours, ref, twin = _copy(state), _copy(state), _copy(state)
    for _ in range(3):  # several sweeps, so GB carried between them is checked too
        _cavi.cavi_sweep(*fixed, **inputs, units=units, order=order, **ours, n_threads=n_threads,
                         block=block, chunk=chunk)
        _reference.cavi_sweep(*fixed, **inputs, units=units, order=order, **ref)
        _reference.cavi_sweep_blocked(*fixed, **inputs, units=units, order=order, **twin,
                                      block=block)
    for name in state:
        assert_allclose(ours[name], ref[name], rtol=1e-10, atol=1e-10, err_msg=name)
        assert_allclose(twin[name], ref[name], rtol=1e-10, atol=1e-10, err_msg=name)
    skipped = np.setdiff1d(np.arange(q), units)
    assert_array_equal(ours["g"][skipped], state["g"][skipped])
    assert_array_equal(ours["GB"][skipped], state["GB"][skipped])


def test_cavi_sweep__threads_and_response_order_do_not_matter():
    """Bitwise the same with 1 and 2 threads; reversed responses share other dgemm calls, which
    changes only rounding."""
    data, rng = _problem(True)
    n, p, q = data.shape
    inputs, state = _state(data, rng, 1.0)
    order = rng.permutation(p).astype(np.int64)
    fixed = (data.gram, data.c_miss, data.miss_index, data.ytx)
    one, two, rev = _copy(state), _copy(state), _copy(state)
    units = np.arange(q, dtype=np.int64)
    _cavi.cavi_sweep(*fixed, **inputs, units=units, order=order, **one, n_threads=1, chunk=3)
    _cavi.cavi_sweep(*fixed, **inputs, units=units, order=order, **two, n_threads=2, chunk=3)
    _cavi.cavi_sweep(*fixed, **inputs, units=units[::-1].copy(), order=order, **rev, n_threads=2,
                     chunk=3)
    for name in state:
        assert_array_equal(one[name], two[name])
        assert_allclose(one[name], rev[name], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("with_na", [False, True])
@pytest.mark.parametrize("c", [0.5, 1.0])
def test_cavi_sweep__gram_matches_individual_level(with_na, c):
    data, rng = _problem(with_na)
    n, p, q = data.shape
    inputs, state = _state(data, rng, c)
    units = np.arange(q, dtype=np.int64)
    order = rng.permutation(p).astype(np.int64)
    gram, indiv = _copy(state), _copy(state)
    for _ in range(2):
        _reference.cavi_sweep(data.gram, data.c_miss, data.miss_index, data.ytx, **inputs,
                              units=units, order=order, **gram)
        _reference.cavi_sweep_individual(data.X, data.Y, data.observed, **inputs, units=units,
                                         order=order, g=indiv["g"], mu=indiv["mu"],
                                         bbar=indiv["bbar"])
    for name in ("g", "mu", "bbar"):
        assert_allclose(gram[name], indiv[name], rtol=1e-10, atol=1e-10, err_msg=name)
    # GB kept by the Gram sweep equals X_t'X_t bbar_t recomputed from the data
    for t in range(q):
        xt = data.X[data.observed[:, t]]
        assert_allclose(gram["GB"][t], xt.T @ (xt @ gram["bbar"][t]), rtol=1e-10, atol=1e-9)
