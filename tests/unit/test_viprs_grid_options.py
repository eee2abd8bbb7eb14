"""VIPRS options for cheap grid fits: lazy neighbour updates (``lazy_tol``), single precision,
and starting at the block ridge (``initial_ridge="block"``); and grid search with them."""

import logging

import numpy as np
import pytest
import scipy.sparse as sp
from simulated import correlated_genotypes, small_panel_problem, standardised

from vibank.prs import VIPRS, tuning


def _genotypes(rng, n, m):
    return standardised(correlated_genotypes(rng, n, m, copy=0.8))


@pytest.fixture(scope="module", name="small_panel_problem")
def small_panel_fixture():
    """Sumstats from 5,000 samples; LD from a 40-sample panel, banded (not PSD); 300
    validation samples."""
    return small_panel_problem(n_validation=300)


@pytest.fixture(scope="module")
def psd_problem():
    """In-sample LD (PSD, no ridge needed) of 3,000 samples and 200 variants."""
    rng = np.random.default_rng(3)
    x = _genotypes(rng, 3000, 200)
    beta = np.where(rng.random(200) < 0.05, rng.normal(0, 0.15, 200), 0.0)
    y = x @ beta + rng.standard_normal(3000)
    y = (y - y.mean()) / y.std()
    r = x.T @ x / 3000
    np.fill_diagonal(r, 0.0)
    return {"b": x.T @ y / 3000, "ld": sp.csr_matrix(r)}


def _offdiagonal_product(model, ld):
    return ld @ model.eta_.astype(np.float64)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_fit__lazy_sweeps_end_at_the_exact_fixed_point(psd_problem, dtype, tol):
    exact = VIPRS(max_iter=500, dtype=dtype).fit(psd_problem["b"], 3000, psd_problem["ld"])
    lazy = VIPRS(max_iter=500, dtype=dtype, lazy_tol=1e-3).fit(psd_problem["b"], 3000,
                                                                 psd_problem["ld"])
    assert exact.result_.stop_reason == lazy.result_.stop_reason == "converged"
    lazy_flags = [row["lazy"] for row in lazy.result_.history]
    assert lazy_flags[0] and not lazy_flags[-1]  # lazy sweeps, then exact ones after the flush
    assert not any(row["lazy"] for row in exact.result_.history)
    # the final state is exact: q = R eta, the last sweep exact and below tol_eta
    np.testing.assert_allclose(lazy._q, _offdiagonal_product(lazy, psd_problem["ld"]), atol=tol)
    assert not lazy._pending.any()
    assert lazy.result_.history[-1]["max_delta_eta"] < lazy.tol_eta
    np.testing.assert_allclose(lazy.eta_, exact.eta_, atol=tol)
    assert lazy.h2_ == pytest.approx(exact.h2_, abs=tol)
    assert lazy.sigma2_eps_ == pytest.approx(exact.sigma2_eps_, abs=tol)


def test_fit__lazy_fit_stopped_by_max_iter_is_flushed(psd_problem):
    model = VIPRS(max_iter=3, lazy_tol=1e-2).fit(psd_problem["b"], 3000, psd_problem["ld"])
    assert model.result_.stop_reason == "max_iter"
    assert not model._pending.any()
    np.testing.assert_allclose(model._q, _offdiagonal_product(model, psd_problem["ld"]), atol=1e-10)
    # the reported ELBO and h2 are those of the flushed state
    assert model.result_.elbo == pytest.approx(model.elbo(), rel=1e-12)
    assert model.result_.history[-1]["h2"] == pytest.approx(model.h2_, rel=1e-12)


def test_fit__initial_block_ridge_is_the_run_after_the_restart(small_panel_problem, caplog):
    """On LD that is not PSD the default fit diverges without a ridge and restarts from the
    initial state with the block ridge: starting there gives the same fit, without the waste."""
    p = small_panel_problem
    with caplog.at_level(logging.WARNING, logger="vibank.prs.model"):
        default = VIPRS(max_iter=500).fit(p["b"], 5000, p["ld"])
    assert "restarting with a block ridge" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vibank.prs.model"):
        started = VIPRS(max_iter=500, initial_ridge="block").fit(p["b"], 5000, p["ld"])
    assert "starting with a block ridge" in caplog.text and "diverged" not in caplog.text
    np.testing.assert_array_equal(started.ridge_, default.ridge_)
    np.testing.assert_array_equal(started.eta_, default.eta_)
    assert started.elbo_history_ == default.elbo_history_


def test_fit__initial_block_ridge_adds_nothing_to_psd_ld(psd_problem):
    default = VIPRS(max_iter=500).fit(psd_problem["b"], 3000, psd_problem["ld"])
    started = VIPRS(max_iter=500, initial_ridge="block").fit(psd_problem["b"], 3000,
                                                             psd_problem["ld"])
    assert not started.ridge_.any()
    np.testing.assert_array_equal(started.eta_, default.eta_)


@pytest.mark.parametrize("kwargs, match", [({"lazy_tol": -1.0}, "lazy_tol"),
                                           ({"lazy_tol": np.nan}, "lazy_tol"),
                                           ({"initial_ridge": "large"}, "initial_ridge")])
def test_fit__rejects_bad_grid_options(psd_problem, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VIPRS(**kwargs).fit(psd_problem["b"], 3000, psd_problem["ld"])


def test_grid_search__grid_options_select_the_same_point(small_panel_problem):
    """Grid search with the cheap-fit options picks the default grid search's point. Lazy
    sweeps in float32 give every point the validation R^2 of exact float64 sweeps from the same
    start (to float32 precision); the start at the block ridge changes a point only where the
    fit without a ridge would not have diverged (here pi = 0.5)."""
    p = small_panel_problem
    score = tuning.selection_score("validation_r2", x_val=p["x_val"], y_val=p["y_val"])
    points = tuning.hyperparameter_grid(tuning.pi_grid(400, 8))
    default_point = tuning.viprs_fit_point(p["b"], 5000, p["ld"], max_iter=300)
    default = tuning.grid_search(points, default_point, score)
    block = tuning.grid_search(points, tuning.viprs_fit_point(p["b"], 5000, p["ld"], max_iter=300,
                                                              initial_ridge="block"), score)
    fast_point = tuning.viprs_fit_point(p["b"], 5000, p["ld"], max_iter=300, dtype=np.float32,
                                        lazy_tol=1e-4, initial_ridge="block")
    fast = tuning.grid_search(points, fast_point, score, n_jobs=2)
    assert fast.best_index == block.best_index == default.best_index
    assert (fast.table["stop_reason"] == "converged").all()
    np.testing.assert_allclose(fast.table["metric"], block.table["metric"], atol=1e-5)
    np.testing.assert_allclose(block.table["metric"][:-1], default.table["metric"][:-1], rtol=1e-12)


def test_join_chromosomes__fit_on_joined_inputs_equals_fit_on_lists(small_panel_problem):
    from vibank.prs.model import join_chromosomes

    p = small_panel_problem
    ld = p["ld"].tocsr()
    halves = [slice(0, 200), slice(200, 400)]
    lists = ([p["b"][h] for h in halves], [5000, np.full(200, 5000.0)],
             [ld[h, h] for h in halves])
    joined = join_chromosomes(*lists)
    assert joined["ld"].parts == [200, 200]
    a = VIPRS(max_iter=300).fit(*lists)
    b = VIPRS(max_iter=300).fit(**joined)
    np.testing.assert_array_equal(a.eta_, b.eta_)
    assert a.h2_parts_ == b.h2_parts_
    point = tuning.viprs_fit_point(*lists, max_iter=300)({"pi": 0.05})
    reference = VIPRS(max_iter=300, pi=0.05, fix=("pi",)).fit(*lists)
    np.testing.assert_array_equal(point.eta_, reference.eta_)
    assert point.h2_parts_ == reference.h2_parts_


def test_validation_r2__float32_genotypes_close_to_float64(small_panel_problem):
    p = small_panel_problem
    eta = np.random.default_rng(1).normal(0, 0.01, 400)
    r2_64 = tuning.validation_r2(eta, p["x_val"], p["y_val"])
    r2_32 = tuning.validation_r2(eta, p["x_val"].astype(np.float32), p["y_val"])
    assert r2_32 == pytest.approx(r2_64, rel=1e-5)
