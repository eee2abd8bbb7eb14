"""Hyperparameter strategies (GS, BMA, BO) and selection metrics, on real VIPRS fits of a
small simulated problem: 1,500 training samples, 300 variants in LD, a separate validation set."""

import types

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import average_precision_score

from vibank.errors import VibankError
from vibank.prs import VIPRS
from vibank.prs import tuning

M, N_TRAIN, N_VAL = 300, 1500, 1000


def _standardise(a):
    return (a - a.mean(0)) / a.std(0)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(20)
    x = rng.binomial(2, 0.3, size=(N_TRAIN + N_VAL, M)).astype(float)
    for j in range(1, M):  # each variant copies its left neighbour in 80% of samples: LD
        copy = rng.random(len(x)) < 0.8
        x[copy, j] = x[copy, j - 1]
    beta = np.where(rng.random(M) < 0.03, rng.normal(0, 0.15, M), 0.0)
    y = _standardise(x) @ beta + rng.standard_normal(len(x))
    x_train, y_train = _standardise(x[:N_TRAIN]), _standardise(y[:N_TRAIN])
    x_val, y_val = _standardise(x[N_TRAIN:]), _standardise(y[N_TRAIN:])
    r = x_train.T @ x_train / N_TRAIN
    np.fill_diagonal(r, 0.0)  # VIPRS takes R without its diagonal
    return types.SimpleNamespace(
        b=x_train.T @ y_train / N_TRAIN, ld=sp.csr_matrix(r), x_val=x_val, y_val=y_val,
        grid=tuning.hyperparameter_grid(tuning.pi_grid(M, 8)))


def _fit(problem, pi):
    """The brute-force reference: one VIPRS fit with pi fixed."""
    return VIPRS(pi=pi, fix=("pi",)).fit(problem.b, N_TRAIN, problem.ld)


def _without_timing(table):
    return table.drop(columns="seconds")


# -- grids -----------------------------------------------------------------------------------
def test_pi_grid__log_spaced_from_one_over_m_to_half():
    grid = tuning.pi_grid(M)
    assert len(grid) == 30
    assert grid[0] == pytest.approx(1 / M) and grid[-1] == pytest.approx(0.5)
    np.testing.assert_allclose(np.diff(np.log10(grid)), np.log10(0.5 * M) / 29)
    np.testing.assert_allclose(tuning.pi_grid(M, 3, lowest=1e-3, highest=0.1), [1e-3, 1e-2, 1e-1])


@pytest.mark.parametrize("kwargs", [{"lowest": 0.6}, {"highest": 1.0}, {"lowest": 0.0}])
def test_pi_grid__rejects_ends_outside_zero_one(kwargs):
    with pytest.raises(ValueError, match="lowest < highest"):
        tuning.pi_grid(M, **kwargs)


def test_hyperparameter_grid__h2_crossed_with_pi():
    points = tuning.hyperparameter_grid([0.01, 0.1], h2=[0.2, 0.5], n_variants=M)
    assert [(p["pi"], round(1 - p["sigma2_eps"], 12)) for p in points] == [
        (0.01, 0.2), (0.01, 0.5), (0.1, 0.2), (0.1, 0.5)]
    for p in points:  # expected genetic variance M pi s2b equals h2
        assert M * p["pi"] * p["sigma2_beta"] == pytest.approx(1 - p["sigma2_eps"])
    assert tuning.hyperparameter_grid([0.01, 0.1]) == [{"pi": 0.01}, {"pi": 0.1}]
    with pytest.raises(ValueError, match="n_variants"):
        tuning.hyperparameter_grid([0.01], h2=[0.2])


# -- metrics ---------------------------------------------------------------------------------
def test_validation_r2__equals_r2_of_least_squares_with_intercept(problem):
    eta = _fit(problem, 0.05).eta_
    score = problem.x_val @ eta
    design = np.column_stack([np.ones_like(score), score])
    residual = problem.y_val - design @ np.linalg.lstsq(design, problem.y_val, rcond=None)[0]
    expected = 1 - residual @ residual / np.sum((problem.y_val - problem.y_val.mean()) ** 2)
    r2 = tuning.validation_r2(eta, problem.x_val, problem.y_val)
    assert r2 == pytest.approx(expected, rel=1e-10)
    assert tuning.validation_r2(np.zeros(M), problem.x_val, problem.y_val) == 0.0


def test_validation_auprc__is_sklearn_average_precision(problem):
    eta = _fit(problem, 0.05).eta_
    cases = (problem.y_val > np.quantile(problem.y_val, 0.8)).astype(int)
    expected = average_precision_score(cases, problem.x_val @ eta)
    assert tuning.validation_auprc(eta, problem.x_val, cases) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="binary"):
        tuning.validation_auprc(eta, problem.x_val, problem.y_val)


def test_pseudo_validation__equals_validation_correlation_with_in_sample_ld(problem):
    """b_val = X_val'y_val / n and R = X_val'X_val / n: r_pv is corr(X_val eta, y_val)."""
    eta = _fit(problem, 0.05).eta_
    b_val = problem.x_val.T @ problem.y_val / N_VAL
    r_val = problem.x_val.T @ problem.x_val / N_VAL
    correlation = np.corrcoef(problem.x_val @ eta, problem.y_val)[0, 1]
    r_pv = tuning.pseudo_validation(eta, b_val, sp.csr_matrix(r_val), squared=False)
    assert abs(r_pv - correlation) < 1e-6
    assert tuning.pseudo_validation(eta, b_val, r_val) == pytest.approx(correlation**2, abs=1e-6)
    as_matvec = tuning.pseudo_validation(eta, b_val, lambda v: r_val @ v)
    assert as_matvec == pytest.approx(correlation**2, abs=1e-6)
    assert tuning.pseudo_validation(np.zeros(M), b_val, r_val) == 0.0


def test_pseudo_validation__rejects_ld_without_diagonal(problem):
    with pytest.raises(ValueError, match="unit diagonal"):
        tuning.pseudo_validation(np.ones(M), problem.b, problem.ld)


def test_selection_score__names_missing_data(problem):
    model = _fit(problem, 0.05)
    assert tuning.selection_score("elbo")(model) == model.result_.elbo
    with pytest.raises(ValueError, match="b_val, ld"):
        tuning.selection_score("pseudo_validation")
    with pytest.raises(ValueError, match="metric must be one of"):
        tuning.selection_score("r2")


# -- grid search -----------------------------------------------------------------------------
def test_grid_search__picks_best_validation_point_of_brute_force_loop(problem):
    score = tuning.selection_score("validation_r2", x_val=problem.x_val, y_val=problem.y_val)
    fit_point = tuning.viprs_fit_point(problem.b, N_TRAIN, problem.ld)
    result = tuning.grid_search(problem.grid, fit_point, score)
    etas = [_fit(problem, p["pi"]).eta_ for p in problem.grid]
    brute = [np.corrcoef(problem.x_val @ eta, problem.y_val)[0, 1] ** 2 for eta in etas]
    np.testing.assert_allclose(result.table["metric"], brute, rtol=1e-10)
    assert result.best_index == int(np.argmax(brute))
    assert result.best_params == problem.grid[result.best_index]
    np.testing.assert_array_equal(result.best_model.eta_, etas[result.best_index])
    assert list(result.table.columns) == ["pi", *tuning.SUMMARY_COLUMNS]
    assert (result.table["stop_reason"] == "converged").all()


def test_grid_search__same_results_for_one_and_two_jobs(problem):
    fit_point = tuning.viprs_fit_point(problem.b, N_TRAIN, problem.ld)
    score = tuning.selection_score("validation_r2", x_val=problem.x_val, y_val=problem.y_val)
    one = tuning.grid_search(problem.grid, fit_point, score, n_jobs=1)
    two = tuning.grid_search(problem.grid, fit_point, score, n_jobs=2)
    assert _without_timing(one.table).equals(_without_timing(two.table))
    assert one.best_index == two.best_index
    np.testing.assert_array_equal(one.best_model.eta_, two.best_model.eta_)
    bma_one = tuning.model_average(problem.grid, fit_point, n_jobs=1)
    bma_two = tuning.model_average(problem.grid, fit_point, n_jobs=2)
    np.testing.assert_array_equal(bma_one.eta, bma_two.eta)
    np.testing.assert_array_equal(bma_one.weights, bma_two.weights)


def test_grid_search__warm_start_passes_the_previous_model_in_grid_order(problem):
    seen = []

    def fit_point(params, previous):
        seen.append(None if previous is None else previous.pi_)
        start = None if previous is None else previous.sigma2_beta_
        return VIPRS(**params, sigma2_beta=start, fix=("pi",)).fit(problem.b, N_TRAIN, problem.ld)

    result = tuning.grid_search(problem.grid[:4], fit_point, tuning.training_elbo,
                                n_jobs=2, warm_start=True)
    np.testing.assert_allclose(seen[1:], [p["pi"] for p in problem.grid[:3]])
    assert seen[0] is None and len(result.table) == 4


def test_grid_search__failed_fit_is_recorded_and_never_selected(problem):
    fit = tuning.viprs_fit_point(problem.b, N_TRAIN, problem.ld)
    bad = problem.grid[-1]["pi"]

    def fit_point(params):
        if params["pi"] == bad:
            raise VibankError("VIPRS diverged on chromosome 1")
        return fit(params)

    result = tuning.grid_search(problem.grid, fit_point, tuning.training_elbo)
    last = result.table.iloc[-1]
    assert last["stop_reason"] == "failed" and "diverged" in last["error"]
    assert np.isnan(last["metric"]) and result.best_index != len(problem.grid) - 1
    average = tuning.model_average(problem.grid, fit_point)
    assert average.weights[-1] == 0 and average.weights.sum() == pytest.approx(1.0)
    with pytest.raises(VibankError, match="1 of 1 fits failed"):
        tuning.grid_search([{"pi": bad}], fit_point, tuning.training_elbo)


# -- model averaging -------------------------------------------------------------------------
def test_model_average__is_the_softmax_elbo_weighted_average(problem):
    fit_point = tuning.viprs_fit_point(problem.b, N_TRAIN, problem.ld)
    average = tuning.model_average(problem.grid, fit_point)
    models = [_fit(problem, p["pi"]) for p in problem.grid]
    elbo = np.array([m.result_.elbo for m in models])
    assert elbo.max() < -700  # exp(ELBO) alone would underflow to 0
    weights = np.exp(elbo - elbo.max()) / np.exp(elbo - elbo.max()).sum()
    np.testing.assert_allclose(average.weights, weights, rtol=1e-12)
    assert average.weights.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(average.eta, sum(w * m.eta_ for w, m in zip(weights, models)),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(average.pip, sum(w * m.pip_ for w, m in zip(weights, models)),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(average.table["weight"], weights)


def test_model_average__any_model_with_eta_pip_and_result():
    """The strategies only read eta_, pip_, h2_ and result_: a stand-in model works."""

    def fit_point(params):
        elbo = -1e6 + params["shift"]
        return types.SimpleNamespace(
            eta_=np.full(3, params["shift"]), pip_=np.full(3, 0.5), h2_=0.1,
            result_=types.SimpleNamespace(elbo=elbo, n_iter=1, stop_reason="converged",
                                          seconds=0.0))

    average = tuning.model_average([{"shift": 0.0}, {"shift": np.log(3.0)}], fit_point)
    np.testing.assert_allclose(average.weights, [0.25, 0.75])
    np.testing.assert_allclose(average.eta, np.full(3, 0.75 * np.log(3.0)))


# -- Bayesian optimisation -------------------------------------------------------------------
def test_bayesian_optimisation__inside_bounds_and_reproducible(problem):
    bounds = (np.log10(1 / M), np.log10(0.5))
    score = tuning.selection_score("validation_r2", x_val=problem.x_val, y_val=problem.y_val)
    fit_point = tuning.viprs_fit_point(problem.b, N_TRAIN, problem.ld)
    runs = [tuning.bayesian_optimisation(fit_point, score, bounds_log10_pi=bounds, n_calls=8,
                                         n_initial_points=4, seed=5) for _ in range(2)]
    table = runs[0].table
    assert len(table) == 8
    assert table["log10_pi"].between(*bounds).all()
    np.testing.assert_allclose(table["pi"], 10.0 ** table["log10_pi"])
    assert _without_timing(table).equals(_without_timing(runs[1].table))
    assert runs[0].best_index == int(table["metric"].idxmax())
    assert runs[0].best_params == {"pi": table["pi"].iloc[runs[0].best_index]}
    assert score(runs[0].best_model) == table["metric"].max()


def test_bayesian_optimisation__rejects_bad_bounds_and_sizes():
    with pytest.raises(ValueError, match="bounds_log10_pi"):
        tuning.bayesian_optimisation(None, None, bounds_log10_pi=(-1.0, -2.0))
    with pytest.raises(ValueError, match="n_initial_points"):
        tuning.bayesian_optimisation(None, None, bounds_log10_pi=(-2.0, -1.0), n_calls=3)
