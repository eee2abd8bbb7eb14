"""The exact E-step sweep on upper band rows (``_kernels._upper``) against its NumPy twin and
against the symmetric band sweep of ``_kernels._e_step`` on the same matrix; its flush (the
product ``LDRows.dot`` uses); and whole VIPRS fits on the two layouts."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from test_e_step import STATE, UPDATED, _state, problem  # noqa: F401

from vibank.io.ld_store import QUANTISATION, quantise
from vibank.ld import LDRows, SparseLD
from vibank.prs import VIPRS, _reference
from vibank.prs._kernels import _e_step, _upper

CUTS = (0, 40, 41, 130, 200, 300)  # five segments, one of a single variant


def _upper_rows(problem, ld_dtype, width=60, cuts=CUTS):
    """The problem's LD within ``width`` neighbours and the blocks ``cuts``, as upper rows of
    ``ld_dtype`` (quantised for integers) and the band rows of the same values."""
    m = problem["m"]
    dense = problem["R"].toarray()
    block = np.searchsorted(cuts, np.arange(m), side="right")
    block_end = np.asarray(cuts)[block]
    lengths = np.minimum(width, block_end - 1 - np.arange(m))
    data = np.concatenate([dense[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    stored = SparseLD(quantise(data, ld_dtype), np.concatenate([[0], np.cumsum(lengths)]), None, m)
    upper = LDRows.from_upper(stored, scale=scale, layout="upper")
    band = LDRows.from_upper(stored, scale=scale)
    assert upper.layout == "upper" and band.layout == "band"
    return upper, band


def _sweep(fn, ld, state, log_null, s2e, **kw):
    return fn(ld, *[state[k] for k in STATE], log_null, *[state[k] for k in UPDATED], s2e, **kw)


def _offdiag_quadratic(ld, eta):
    return float(eta @ (ld.to_csr() @ eta))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("n_comp", [1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_upper_e_step__matches_reference(problem, dtype, tol, ld_dtype, n_comp, n_threads):
    upper, _ = _upper_rows(problem, ld_dtype)
    assert len(upper.segments) == len(CUTS)
    ours, log_null, s2e = _state(problem, dtype, upper, n_comp)
    ref, _, _ = _state(problem, np.float64, upper, n_comp)
    tiny = _upper.TINY_FLOAT32 if dtype == np.float32 else _upper.TINY_FLOAT64
    for sweep in range(3):
        d1 = _sweep(_upper.upper_e_step, upper, ours, log_null, s2e, n_threads=n_threads)
        d2 = _sweep(_reference.upper_e_step, upper, ref, log_null, s2e, tiny=tiny)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in UPDATED:
            assert_allclose(ours[name], ref[name], rtol=tol, atol=tol,
                            err_msg=f"{name}, sweep {sweep}")
        # q = 2 L: the same eta'q as R_offdiag eta
        eta = ours["eta"].astype(np.float64)
        assert eta @ ours["q"] == pytest.approx(_offdiag_quadratic(upper, eta), rel=tol * 10,
                                                abs=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16])
@pytest.mark.parametrize("n_comp", [1, 3])
def test_upper_e_step__equals_the_symmetric_band_sweep(problem, dtype, tol, ld_dtype, n_comp):
    upper, band = _upper_rows(problem, ld_dtype)
    ours, log_null, s2e = _state(problem, dtype, upper, n_comp)
    sym, _, _ = _state(problem, dtype, band, n_comp)
    for _ in range(5):
        d1 = _sweep(_e_step.e_step, upper, ours, log_null, s2e, n_threads=2)  # dispatches
        d2 = _sweep(_e_step.e_step, band, sym, log_null, s2e, n_threads=2)
        assert d1 == pytest.approx(d2, rel=tol * 10, abs=tol)
        for name in ("gamma", "mu", "eta"):
            assert_allclose(ours[name], sym[name], rtol=tol, atol=tol, err_msg=name)
        # the band sweep's q is R_offdiag eta, the upper one's 2 L: the same eta'q, and the same
        # sums of eta_j q_j over each independent segment
        eta = ours["eta"].astype(np.float64)
        seg = upper.segments
        parts = np.add.reduceat(eta * ours["q"], seg[:-1])
        expected = np.add.reduceat(sym["eta"].astype(np.float64) * sym["q"], seg[:-1])
        assert_allclose(parts, expected, rtol=tol * 10, atol=tol)


def test_upper_e_step__lazy_updates_are_refused(problem):
    upper, _ = _upper_rows(problem, np.float64)
    state, log_null, s2e = _state(problem, np.float64, upper)
    pending = np.zeros(problem["m"])
    with pytest.raises(ValueError, match="lazy.*symmetric"):
        _sweep(_e_step.e_step, upper, state, log_null, s2e, pending=pending, lazy_tol=1e-4)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("ld_dtype", [np.float64, np.float32, np.int16, np.int8])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_upper_flush__matches_reference_and_the_product(problem, dtype, tol, ld_dtype, n_threads):
    upper, _ = _upper_rows(problem, ld_dtype)
    rng = np.random.default_rng(4)
    pending = np.where(rng.random(problem["m"]) < 0.5, rng.normal(size=problem["m"]), 0.0)
    q0 = rng.normal(size=problem["m"])
    ours_p, ours_q = pending.astype(dtype), q0.astype(dtype)
    ref_p, ref_q = pending.copy(), q0.copy()
    count = _e_step.flush(upper, ours_p, ours_q, n_threads)  # dispatches to upper_flush
    assert count == _reference.upper_flush(upper, ref_p, ref_q) == np.count_nonzero(pending)
    assert not ours_p.any() and not ref_p.any()
    assert_allclose(ours_q, ref_q, rtol=tol, atol=tol)
    assert_allclose(ref_q, q0 + upper.to_csr() @ pending, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- whole fits on both layouts


def _pair(problem, ld_dtype=np.int16):
    """Upper and band rows of one banded LD in two blocks, the first one's eigenvalues
    recorded with a negative minimum (a block ridge of 0.06 for ``initial_ridge="block"``)."""
    upper, band = _upper_rows(problem, ld_dtype, width=25, cuts=(0, 150, 300))
    blocks = [{"start": 0, "stop": 150, "min": -0.05, "max": 4.0},
              {"start": 150, "stop": 300, "min": 0.1, "max": 4.0}]
    upper.eigenvalues, band.eigenvalues = blocks, list(blocks)
    return upper, band


@pytest.mark.parametrize("prior", ["spike_slab", "mixture"])
@pytest.mark.parametrize("initial_ridge", ["none", "block"])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-8), (np.float32, 1e-3)])
def test_viprs__upper_and_band_layouts_give_the_same_fit(problem, prior, initial_ridge, dtype,
                                                         tol):
    upper, band = _pair(problem)
    # plain iterations: the two sweeps agree to rounding at every one (SQUAREM's step lengths
    # would amplify the rounding: tests/unit/test_stages_prs.py checks it within the stopping rule)
    kw = dict(max_iter=40, initial_ridge=initial_ridge, dtype=dtype, ld_noise="none",
              sigma2_eps=0.9, fix=("sigma2_eps",), pi=0.02, sigma2_beta=1e-3, accelerate="none")
    a = VIPRS(prior, **kw).fit(problem["b"], problem["n"], upper)
    b = VIPRS(prior, **kw).fit(problem["b"], problem["n"], band)
    if initial_ridge == "block":
        assert a.ridge_.max() == pytest.approx(0.06)
    assert_allclose(a.ridge_, b.ridge_)
    if dtype == np.float64:
        assert a.result_.n_iter == b.result_.n_iter
        assert_allclose(a.elbo_history_, b.elbo_history_, rtol=tol)
    else:  # float32 rounding can move the convergence test by an iteration
        assert abs(a.result_.n_iter - b.result_.n_iter) <= 1
        assert a.result_.elbo == pytest.approx(b.result_.elbo, rel=tol)
    assert_allclose(a.eta_, b.eta_, rtol=tol, atol=tol * 1e-2)
    assert a.h2_ == pytest.approx(b.h2_, rel=tol)
    assert a.pi_ == pytest.approx(b.pi_, rel=tol)


def test_viprs__joint_fit_h2_parts_on_upper_rows(problem):
    upper, band = _pair(problem)
    half = problem["m"] // 2
    b, n = problem["b"], problem["n"]
    parts_u = [upper.subset(np.arange(problem["m"]) < half),
               upper.subset(np.arange(problem["m"]) >= half)]
    parts_b = [p.symmetric() for p in parts_u]
    kw = dict(max_iter=20, ld_noise="none", pi=0.02, sigma2_beta=1e-3, sigma2_eps=0.9)
    a = VIPRS(**kw).fit([b[:half], b[half:]], [n, n], parts_u)
    c = VIPRS(**kw).fit([b[:half], b[half:]], [n, n], parts_b)
    assert a._ld.layout == "upper" and c._ld.layout == "band"
    assert_allclose(a.h2_parts_, c.h2_parts_, rtol=1e-8)
    assert sum(a.h2_parts_) == pytest.approx(a.h2_, rel=1e-10)


def test_viprs__lazy_tol_on_upper_rows_runs_exact_sweeps(problem, caplog):
    upper, band = _pair(problem)
    kw = dict(max_iter=30, ld_noise="none", pi=0.02, sigma2_beta=1e-3, sigma2_eps=0.9,
              fix=("pi", "sigma2_beta", "sigma2_eps"))
    with caplog.at_level("INFO", logger="vibank.prs.model"):
        lazy = VIPRS(lazy_tol=1e-4, **kw).fit(problem["b"], problem["n"], upper)
    assert "exact E-step sweeps instead of lazy ones" in caplog.text
    exact = VIPRS(**kw).fit(problem["b"], problem["n"], band)
    assert not any(h["lazy"] for h in lazy.result_.history)
    assert_allclose(lazy.eta_, exact.eta_, rtol=1e-8, atol=1e-12)
    # the symmetric rows of the same LD run the lazy sweeps
    again = VIPRS(lazy_tol=1e-4, **kw).fit(problem["b"], problem["n"], upper.symmetric())
    assert again.result_.history[0]["lazy"]


def test_upper_rows__ld_noise_auto_and_its_column_space(problem):
    # windowed LD in one segment per chromosome: the effective sample size alone, from the
    # symmetric row widths; block LD: the column-space treatment, on band rows it builds
    for cuts in ((0, 300), CUTS):
        upper, band = _upper_rows(problem, np.int16, width=30, cuts=cuts)
        upper.n_ref = band.n_ref = np.full(problem["m"], 200.0)
        kw = dict(max_iter=15, pi=0.02, sigma2_beta=1e-3, sigma2_eps=0.9)
        a = VIPRS(**kw).fit(problem["b"], problem["n"], upper)
        b = VIPRS(**kw).fit(problem["b"], problem["n"], band)
        assert_allclose(a.n_eff_, b.n_eff_)
        assert a.dropped_dimensions_ == b.dropped_dimensions_
        assert_allclose(a.eta_, b.eta_, rtol=1e-8, atol=1e-12)

