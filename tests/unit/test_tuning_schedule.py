"""Grid search with several jobs: fits start from the last point, results stay in grid order."""

import threading
from types import SimpleNamespace

import numpy as np

from vibank.prs import tuning


def _model(value):
    result = SimpleNamespace(elbo=float(value), n_iter=1, stop_reason="converged", seconds=0.0)
    return SimpleNamespace(eta_=np.array([value]), pip_=np.array([0.5]), h2_=0.1, result_=result)


def test_grid_search__several_jobs_start_from_the_last_point_and_keep_grid_order():
    started, lock = [], threading.Lock()
    metric = {0: 0.2, 1: 0.9, 2: 0.9, 3: 0.1, 4: 0.5}  # a tie: the first of 1 and 2 wins

    def fit_point(params):
        with lock:
            started.append(params["i"])
        return _model(metric[params["i"]])

    points = [{"i": i} for i in range(5)]
    result = tuning.grid_search(points, fit_point, lambda m: float(m.eta_[0]), n_jobs=2)
    assert started[:2] == [4, 3] or started[:2] == [3, 4]
    assert list(result.table["i"]) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(result.table["metric"], [metric[i] for i in range(5)])
    assert result.best_index == 1 and result.best_model.eta_[0] == 0.9
    one_job = tuning.grid_search(points, fit_point, lambda m: float(m.eta_[0]), n_jobs=1)
    assert one_job.best_index == 1
    assert one_job.table.drop(columns="seconds").equals(result.table.drop(columns="seconds"))


def test_model_average__several_jobs_equal_one_job():
    points = [{"i": i} for i in range(6)]

    def fit_point(params):
        return _model(-float(params["i"]) / 3)

    one = tuning.model_average(points, fit_point, n_jobs=1)
    two = tuning.model_average(points, fit_point, n_jobs=2)
    np.testing.assert_array_equal(one.weights, two.weights)
    np.testing.assert_array_equal(one.eta, two.eta)
