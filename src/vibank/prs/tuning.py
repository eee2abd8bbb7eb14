"""Hyperparameter strategies for VIPRS-like models: grid search, model averaging, Bayesian
optimisation, and the selection metrics they rank fits by (prs_vi.md sections 7-8).

The strategies know nothing about the model. They take two callables:

``fit_point(params) -> model``
    Builds and fits one model for a dict of hyperparameters, e.g.
    ``lambda p: VIPRS(**p, fix=tuple(p)).fit(b, n, ld)``
    (:func:`viprs_fit_point` builds this one). The fitted model is read duck-typed:
    ``eta_``, ``pip_``, ``h2_`` and ``result_`` (``elbo``, ``n_iter``, ``stop_reason``,
    ``seconds``); missing attributes become NaN in the tables.
``score(model) -> float``
    The selection metric, higher is better: :func:`selection_score` builds one from
    :func:`validation_r2`, :func:`validation_auprc`, :func:`pseudo_validation` or the ELBO.

A fit that raises :class:`~vibank.errors.VibankError` (a diverged fit) is kept in the table with
stop reason ``"failed"`` and never selected or averaged; any other exception propagates.
"""

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from vibank.errors import VibankError
from vibank.ld import LDRows
from vibank.prs.model import VIPRS, join_chromosomes

log = logging.getLogger(__name__)

METRICS = ("validation_r2", "validation_auprc", "pseudo_validation", "elbo")
#: columns every strategy's table has after the hyperparameters
SUMMARY_COLUMNS = ("metric", "elbo", "h2", "n_iter", "stop_reason", "seconds", "error")


# -- grids -----------------------------------------------------------------------------------
def pi_grid(n_variants, n_points=30, *, lowest=None, highest=0.5):
    """Values of pi equally spaced in log10 from ``lowest`` (default 1/M) to ``highest``.

    Parameters
    ----------
    n_variants : int, M
    n_points : int, grid size (section 7: 30)
    lowest, highest : float, the ends of the grid, 0 < lowest < highest < 1

    Returns
    -------
    (n_points,) float64 array, increasing
    """
    lowest = 1.0 / n_variants if lowest is None else float(lowest)
    if n_variants < 1 or n_points < 1:
        raise ValueError("n_variants and n_points must be at least 1")
    if not 0 < lowest < highest < 1:
        raise ValueError(f"need 0 < lowest < highest < 1, got {lowest} and {highest}")
    return np.logspace(np.log10(lowest), np.log10(highest), n_points)


def hyperparameter_grid(pi, h2=None, *, n_variants=None):
    """Grid points as dicts of model keyword arguments, pi crossed with an optional h2 grid.

    Without ``h2`` each point is ``{"pi": pi_i}``; the other hyperparameters are left to the
    M-step. With ``h2`` each (pi_i, h2_k) pair, pi varying slowest, becomes
    ``{"pi": pi_i, "sigma2_beta": h2_k / (M pi_i), "sigma2_eps": 1 - h2_k}``: the spike-and-slab
    prior whose expected genetic variance M pi s2b is h2_k. Fixing every key of a point
    (``fix=tuple(point)``) keeps the fit on the grid.

    Parameters
    ----------
    pi : sequence of float in (0, 1)
    h2 : sequence of float in (0, 1), optional
    n_variants : int, M; required with ``h2``

    Returns
    -------
    list of dict
    """
    pis = np.atleast_1d(np.asarray(pi, dtype=np.float64))
    if not np.all((pis > 0) & (pis < 1)):
        raise ValueError("pi values must lie in (0, 1)")
    if h2 is None:
        return [{"pi": float(p)} for p in pis]
    h2s = np.atleast_1d(np.asarray(h2, dtype=np.float64))
    if not np.all((h2s > 0) & (h2s < 1)):
        raise ValueError("h2 values must lie in (0, 1)")
    if n_variants is None or n_variants < 1:
        raise ValueError("an h2 grid needs n_variants (M) to set sigma2_beta = h2 / (M pi)")
    return [{"pi": float(p), "sigma2_beta": float(h / (n_variants * p)), "sigma2_eps": float(1 - h)}
            for p in pis for h in h2s]


def viprs_fit_point(std_beta, n_per_variant, ld, *, fit_kwargs=None, **model_params):
    """``fit_point`` callback fitting :class:`VIPRS` with a grid point's values fixed.

    ``model_params`` (prior, max_iter, n_threads, fix, ...) go to every model; the point's
    keys are added to ``fix`` so the M-step leaves them at the grid value. ``fit_kwargs``
    (allele_frequency, label) go to ``fit``. Lists (one item per chromosome, a joint fit) are
    joined, and the LD's mean LD score computed, here once rather than at every fit.
    """
    fixed = tuple(model_params.pop("fix", ()))
    fit_kwargs = dict(fit_kwargs or {})
    if isinstance(ld, (list, tuple)):
        joined = join_chromosomes(std_beta, n_per_variant, ld,
                                  allele_frequency=fit_kwargs.pop("allele_frequency", None))
        std_beta, n_per_variant = joined.pop("std_beta"), joined.pop("n_per_variant")
        ld = joined.pop("ld")
        fit_kwargs.update(joined)
    ld = LDRows.of(ld)
    # the LD's mean LD score (initial h2) once for the whole grid, not at every fit
    if fit_kwargs.get("mean_ld_score") is None:
        fit_kwargs["mean_ld_score"] = ld.mean_ld_score()

    def fit_point(params):
        fix = tuple(dict.fromkeys((*fixed, *params)))
        model = VIPRS(**{**model_params, **params}, fix=fix)
        return model.fit(std_beta, n_per_variant, ld, **fit_kwargs)

    return fit_point


# -- selection metrics -----------------------------------------------------------------------
def _correlation(score, y):
    """Pearson correlation; 0 when either side is constant (an all-zero score predicts nothing)."""
    score, y = score - score.mean(), y - y.mean()
    denominator = math.sqrt(float(score @ score) * float(y @ y))
    return float(score @ y) / denominator if denominator > 0 else 0.0


def validation_matrix(dosages, *, flip, allele_frequency, phenotype):
    """The validation samples' data the selection metrics take.

    Parameters
    ----------
    dosages : (n, M) float32 allele counts of the file's A1 (negative = missing), changed in place
    flip : (M,) bool, variants whose fitted A1 is the file's A2 (recoded 2 - dosage)
    allele_frequency : (M,) the fit's allele frequencies (the GWAS's, else the panel's)
    phenotype : (n,) values; a binary trait coded 1/2 (plink) becomes 0/1

    Returns
    -------
    x : (n, M) float32, centred on the validation mean (missing -> 0) and scaled by the GWAS
        sd sqrt(2 p (1 - p)), so ``x @ eta`` is the score of standardised effects
    y : (n,) float64, binary : bool
    """
    g = dosages
    g[g < 0] = np.nan
    g[:, flip] = 2 - g[:, flip]
    mean = np.nanmean(g, axis=0)
    g = np.where(np.isnan(g), mean, g) - mean
    p = np.asarray(allele_frequency, dtype=float)
    g /= np.sqrt(2 * p * (1 - p)).astype(np.float32)
    y = np.asarray(phenotype, dtype=float)
    binary = bool(np.isin(y, (1, 2)).all())
    return g, (y - 1 if binary else y), binary


def validation_r2(eta, x_val, y_val):
    """R^2 of the regression, with intercept, of y_val on the score x_val @ eta.

    Parameters
    ----------
    eta : (M,) posterior mean effects on the standardised scale
    x_val : (n_val, M) standardised genotypes of the validation samples (the same variants
        and effect alleles as eta)
    y_val : (n_val,) phenotype

    Returns
    -------
    float, the squared correlation of score and phenotype (0 for a constant score)

    The score is computed in the precision of ``x_val`` (float32 genotypes: about 1e-7
    relative error; a mixed float32-float64 product would convert all of x_val at every call).
    """
    y = np.asarray(y_val, dtype=np.float64)
    return _correlation(_score(eta, x_val), y) ** 2


def _score(eta, x_val):
    """x_val @ eta as float64, the product in x_val's floating precision."""
    dtype = x_val.dtype if np.issubdtype(x_val.dtype, np.floating) else np.float64
    return np.asarray(x_val @ np.asarray(eta, dtype=dtype), dtype=np.float64)


def validation_auprc(eta, x_val, y_val):
    """Area under the precision-recall curve of the score x_val @ eta for binary y_val
    (``sklearn.metrics.average_precision_score``; y_val 0/1 or boolean, cases = 1)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y_val)
    if not np.all(np.isin(y, (0, 1))) or np.unique(y).size != 2:
        raise ValueError("validation_auprc needs a binary y_val (0/1) with cases and controls")
    return float(average_precision_score(y.astype(int), _score(eta, x_val)))


def pseudo_validation(eta, b_val, ld, *, squared=True):
    """Pseudo-validation from validation summary statistics (section 8).

    r_pv = eta' b_val / sqrt(eta' R eta). When b_val = X_val' y_val / n and R = X_val' X_val / n
    for standardised X_val and y_val, r_pv is exactly corr(X_val eta, y_val); with the training
    LD it approximates it.

    Parameters
    ----------
    eta : (M,) posterior mean effects
    b_val : (M,) standardised marginal effects from the validation sample (section 1)
    ld : the full R with unit diagonal, as a callable ``v -> R @ v`` (e.g.
        ``LDMatrix.dot``), a scipy sparse matrix or a dense array. (VIPRS takes R *without*
        its diagonal; pass ``ld + identity`` then.)
    squared : return r_pv^2, the metric comparable to validation R^2 (default), or the signed
        r_pv

    Returns
    -------
    float (0 when eta' R eta = 0)

    Raises
    ------
    ValueError if the matrix's diagonal is not 1
    """
    eta = np.asarray(eta, dtype=np.float64)
    if callable(ld):
        r_eta = np.asarray(ld(eta), dtype=np.float64)
    else:
        diagonal = ld.diagonal() if sp.issparse(ld) else np.diagonal(ld)
        if not np.allclose(diagonal, 1.0, atol=1e-6):
            raise ValueError("pseudo_validation needs R with unit diagonal (add the identity to "
                             "the off-diagonal LD that VIPRS takes)")
        r_eta = np.asarray(ld @ eta, dtype=np.float64).ravel()
    variance = float(eta @ r_eta)
    covariance = float(eta @ np.asarray(b_val, dtype=np.float64))
    r_pv = covariance / math.sqrt(variance) if variance > 0 else 0.0
    return r_pv**2 if squared else r_pv


def training_elbo(model):
    """The fit's final ELBO (``result_.elbo``, else the last of ``elbo_history_``)."""
    result = getattr(model, "result_", None)
    if result is not None:
        return float(result.elbo)
    return float(model.elbo_history_[-1])


def selection_score(metric, *, x_val=None, y_val=None, b_val=None, ld=None):
    """``score(model)`` callback for a metric named in config (one of ``METRICS``).

    validation_r2 and validation_auprc need x_val and y_val; pseudo_validation needs b_val and
    ld (see :func:`pseudo_validation`, which it reports squared); elbo needs nothing.
    """
    needs = {"validation_r2": ("x_val", "y_val"), "validation_auprc": ("x_val", "y_val"),
             "pseudo_validation": ("b_val", "ld"), "elbo": ()}
    if metric not in needs:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    given = {"x_val": x_val, "y_val": y_val, "b_val": b_val, "ld": ld}
    missing = [name for name in needs[metric] if given[name] is None]
    if missing:
        raise ValueError(f"metric {metric!r} needs {', '.join(missing)}")
    if metric == "validation_r2":
        return lambda model: validation_r2(model.eta_, x_val, y_val)
    if metric == "validation_auprc":
        return lambda model: validation_auprc(model.eta_, x_val, y_val)
    if metric == "pseudo_validation":
        return lambda model: pseudo_validation(model.eta_, b_val, ld)
    return training_elbo


# -- results ---------------------------------------------------------------------------------
@dataclass
class TuningResult:
    """Outcome of a search: one table row per fit, in grid (or evaluation) order.

    Attributes
    ----------
    table : DataFrame, the hyperparameters of each point, then ``SUMMARY_COLUMNS``
        (metric, elbo, h2, n_iter, stop_reason, seconds, error)
    best_index : int, row of the highest metric (the first such row on ties)
    best_params : dict, that row's hyperparameters
    best_model : the fitted model of that row
    """

    table: pd.DataFrame
    best_index: int
    best_params: dict
    best_model: object


@dataclass
class ModelAverage:
    """Bayesian model average over a grid (section 7, BMA).

    Attributes
    ----------
    eta, pip : (M,) averaged posterior means and inclusion probabilities
    var_beta : (M,) posterior variance of each effect under the averaged posterior,
        sum_g w_g (var_g + eta_g^2) - eta^2 (NaN when a model has no ``var_beta_``)
    weights : (G,) softmax(ELBO_g) per grid point, summing to 1 (0 for failed fits)
    table : DataFrame as in :class:`TuningResult`, plus a ``weight`` column
    """

    eta: np.ndarray
    pip: np.ndarray
    weights: np.ndarray
    table: pd.DataFrame
    var_beta: np.ndarray = None


def _evaluate(params, fit_point, score, *previous):
    """Fit one point; returns its table row and the model (None when the fit failed)."""
    t0 = time.perf_counter()
    try:
        model = fit_point(dict(params), *previous)
    except VibankError as error:
        log.warning("fit at %s failed: %s", params, error)
        row = {"metric": np.nan, "elbo": np.nan, "h2": np.nan, "n_iter": 0,
               "stop_reason": "failed", "seconds": time.perf_counter() - t0, "error": str(error)}
        return {**row, **params}, None
    result = getattr(model, "result_", None)
    row = {"metric": float(score(model)) if score is not None else np.nan,
           "elbo": training_elbo(model),
           "h2": float(getattr(model, "h2_", np.nan)),
           "n_iter": int(getattr(result, "n_iter", len(getattr(model, "elbo_history_", ())))),
           "stop_reason": str(getattr(result, "stop_reason", "")),
           "seconds": float(getattr(result, "seconds", time.perf_counter() - t0)),
           "error": ""}
    # a point's own value (e.g. the h2 of a Gibbs point) wins over the fit's summary
    return {**row, **params}, model


def _fit_grid(points, fit_point, score, n_jobs, warm_start, keep):
    """Rows of every point in grid order, calling ``keep(index, row, model)`` on each success
    (so only what ``keep`` holds on to stays alive): in grid order with one job, as the fits
    finish with several; see :func:`grid_search`."""
    if not points:
        raise ValueError("the grid is empty")
    if n_jobs < 1:
        raise ValueError("n_jobs must be at least 1")
    if warm_start:
        if n_jobs > 1:
            log.info("warm starts chain the fits: fitting the %d points one at a time", len(points))
        rows, previous = [], None
        for index, params in enumerate(points):
            row, model = _evaluate(params, fit_point, score, previous)
            rows.append(row)
            if model is not None:
                keep(index, row, model)
                previous = model
        return rows
    if n_jobs == 1:
        rows = []
        for index, params in enumerate(points):
            row, model = _evaluate(params, fit_point, score)
            rows.append(row)
            if model is not None:
                keep(index, row, model)
        return rows
    # The E-step releases the GIL. The fits start from the last point backwards: along a pi
    # grid the fits at large pi run longest (drifting towards h2 = 0 up to max_iter), and
    # started last they would leave one thread working alone at the end. Each fit is kept or
    # dropped as soon as it finishes, so finished models do not wait for slower ones.
    # BLAS on one thread for the whole grid: each fit limits it, but the limit is process-wide,
    # so one fit's exit would lift it under another (results would then depend on the thread
    # count in their last digits)
    rows = [None] * len(points)
    with (threadpool_limits(limits=1, user_api="blas"),
          ThreadPoolExecutor(max_workers=n_jobs) as pool):
        futures = {pool.submit(_evaluate, points[index], fit_point, score): index
                   for index in reversed(range(len(points)))}
        for future in as_completed(futures):
            index = futures.pop(future)
            rows[index], model = future.result()
            if model is not None:
                keep(index, rows[index], model)
            del future, model
    return rows


def _table(rows):
    table = pd.DataFrame(rows)
    params = [c for c in table.columns if c not in SUMMARY_COLUMNS]
    return table[params + list(SUMMARY_COLUMNS)]


def _best_row(table):
    metric = table["metric"].to_numpy(dtype=np.float64)
    if not np.any(np.isfinite(metric)):
        failed = int((table["stop_reason"] == "failed").sum())
        raise VibankError("no hyperparameter point gave a fitted model with a finite metric "
                          f"({failed} of {len(table)} fits failed)")
    return int(np.nanargmax(np.where(np.isfinite(metric), metric, np.nan)))


# -- strategies ------------------------------------------------------------------------------
def grid_search(points, fit_point, score, *, n_jobs=1, warm_start=False):
    """Fit every grid point and select the one with the highest ``score`` (section 7, GS).

    Parameters
    ----------
    points : sequence of dict, hyperparameters of each fit (see :func:`hyperparameter_grid`)
    fit_point : callable, ``fit_point(params) -> fitted model``; with ``warm_start``,
        ``fit_point(params, previous)``
    score : callable, ``score(model) -> float``, higher is better (:func:`selection_score`)
    n_jobs : int, fits running at once in threads. Each fit is independent, so the results are
        the same for any n_jobs; mind each model's own ``n_threads`` (total = product).
    warm_start : bool, fit the points one after another in grid order, passing each call the
        previous successful model (None for the first) to start from, e.g. its ``sigma2_beta_``;
        ``n_jobs`` is then ignored. Default: independent starts.

    Returns
    -------
    TuningResult

    Raises
    ------
    VibankError if no point gave a finite metric
    """
    points = [dict(p) for p in points]
    best = {}

    def keep(index, row, model):  # hold only the best model so far, not the whole grid
        value = row["metric"]  # ties go to the first point in grid order, as in _best_row
        if np.isfinite(value) and ("metric" not in best or value > best["metric"]
                                   or (value == best["metric"] and index < best["index"])):
            best.update(index=index, metric=value, model=model)

    table = _table(_fit_grid(points, fit_point, score, n_jobs, warm_start, keep))
    index = _best_row(table)
    log.info("grid search: best of %d points is %s (metric %.6g)", len(table), points[index],
             table.at[index, "metric"])
    return TuningResult(table, index, points[index], best["model"])


def _softmax(values):
    """softmax over the finite values (others get weight 0), shifted by the max for safety."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    weights = np.zeros_like(values)
    if finite.any():
        shifted = np.exp(values[finite] - values[finite].max())
        weights[finite] = shifted / shifted.sum()
    return weights


def model_average(points, fit_point, *, n_jobs=1):
    """Fit every grid point and average eta and PIP with weights softmax(ELBO_g) (section 7, BMA).

    The weights are exp(ELBO_g - max ELBO) normalised, so ELBOs in the thousands do not
    overflow. Failed fits get weight 0. ``points``, ``fit_point`` and ``n_jobs`` as in
    :func:`grid_search`.

    Returns
    -------
    ModelAverage
    """
    points = [dict(p) for p in points]
    kept = {}

    def keep(index, row, model):
        eta = np.asarray(model.eta_, np.float64)
        var = np.asarray(getattr(model, "var_beta_", np.full(len(eta), np.nan)), np.float64)
        kept[index] = (eta, np.asarray(model.pip_, np.float64), var + eta**2)

    table = _table(_fit_grid(points, fit_point, None, n_jobs, False, keep)).drop(columns="metric")
    weights = _softmax(table["elbo"].to_numpy(dtype=np.float64))
    if not weights.any():
        raise VibankError(f"model averaging: all {len(table)} fits failed")
    # sum in grid order, so the average does not depend on n_jobs
    eta = sum(weights[i] * kept[i][0] for i in sorted(kept))
    pip = sum(weights[i] * kept[i][1] for i in sorted(kept))
    var_beta = sum(weights[i] * kept[i][2] for i in sorted(kept)) - eta**2
    table["weight"] = weights
    log.info("model average over %d points: largest weight %.3g at %s", len(table),
             weights.max(), points[int(np.argmax(weights))])
    return ModelAverage(eta, pip, weights, table, var_beta)


def bayesian_optimisation(fit_point, score, *, bounds_log10_pi, n_calls=20, seed=0,
                          n_initial_points=10):
    """Maximise ``score`` over log10(pi) with a Gaussian process (section 7, BO).

    ``skopt.gp_minimize`` on -score with acquisition ``gp_hedge``; each evaluation fits
    ``fit_point({"pi": 10 ** x})``. Every x lies within the bounds, and the same ``seed`` gives
    the same evaluations. A failed fit counts as the worst evaluation so far (a failure before
    any success is raised, since the GP needs a value).

    Parameters
    ----------
    fit_point, score : callables as in :func:`grid_search`
    bounds_log10_pi : (low, high), section 7 uses (log10(1/M), log10(0.5))
    n_calls : int, evaluations in total (section 7: 20)
    seed : int, random state of the initial design and the GP
    n_initial_points : int, random evaluations before the GP guides the search (<= n_calls)

    Returns
    -------
    TuningResult whose table has a ``log10_pi`` column, rows in evaluation order
    """
    from skopt import gp_minimize
    from skopt.space import Real

    low, high = (float(v) for v in bounds_log10_pi)
    if not (np.isfinite(low) and np.isfinite(high) and low < high < 0):
        raise ValueError("bounds_log10_pi must be finite with low < high < 0, "
                         f"got {bounds_log10_pi}")
    if not 1 <= n_initial_points <= n_calls:
        raise ValueError("need 1 <= n_initial_points <= n_calls")
    rows, best = [], []

    def objective(x):
        log10_pi = min(max(float(x[0]), low), high)  # the space already keeps x inside
        row, model = _evaluate({"pi": 10.0**log10_pi}, fit_point, score)
        rows.append({"log10_pi": log10_pi, **row})
        value = row["metric"]
        if not np.isfinite(value):
            seen = [r["metric"] for r in rows if np.isfinite(r["metric"])]
            if not seen:
                reason = row["error"] or "metric not finite"
                raise VibankError("Bayesian optimisation: no fit has succeeded yet and pi = "
                                  f"{10.0**log10_pi:.4g} failed ({reason})")
            return -min(seen)
        if not best or value > best[0][0]:
            best[:] = [(value, model)]
        return -value

    gp_minimize(objective, [Real(low, high, name="log10_pi")], n_calls=n_calls,
                n_initial_points=n_initial_points, acq_func="gp_hedge", random_state=seed)
    table = _table(rows)
    index = _best_row(table)
    log.info("Bayesian optimisation: best of %d evaluations pi = %.4g (metric %.6g)", len(table),
             table.at[index, "pi"], table.at[index, "metric"])
    return TuningResult(table, index, {"pi": float(table.at[index, "pi"])}, best[0][1])


@dataclass
class Tuned:
    """A strategy's outcome as the fit stages write it: ``table`` (one row per fit),
    ``best_params`` and ``best_model`` (for BMA the heaviest point, refitted for its record),
    and ``posterior`` (eta, pip, var_beta: the best fit's, or the model average)."""

    table: pd.DataFrame
    best_params: dict
    best_model: object
    posterior: dict


def tune(strategy, fit_point, score, *, n_variants, grid_size=30, bo_calls=20, seed=0, n_jobs=1):
    """Run a strategy over pi (section 7): ``gs`` and ``bma`` on ``pi_grid(n_variants,
    grid_size)``, ``bo`` with ``bo_calls`` evaluations over log10 pi in [log10(1/M), log10(0.5)]
    (the first min(10, bo_calls) random). ``fit_point``, ``score``, ``n_jobs`` as in
    :func:`grid_search`.

    Returns
    -------
    Tuned
    """
    points = hyperparameter_grid(pi_grid(n_variants, grid_size))
    if strategy in ("gs", "bo"):
        if strategy == "gs":
            result = grid_search(points, fit_point, score, n_jobs=n_jobs)
        else:
            result = bayesian_optimisation(
                fit_point, score, bounds_log10_pi=(np.log10(1 / n_variants), np.log10(0.5)),
                n_calls=bo_calls, seed=seed, n_initial_points=min(10, bo_calls))
        model = result.best_model
        posterior = {"eta": model.eta_, "pip": model.pip_, "var_beta": model.var_beta_}
        chosen = result.best_params
    elif strategy == "bma":
        result = model_average(points, fit_point, n_jobs=n_jobs)
        posterior = {"eta": result.eta, "pip": result.pip, "var_beta": result.var_beta}
        chosen = points[int(np.argmax(result.weights))]
        model = fit_point(chosen)
    else:
        raise VibankError(f"unknown strategy {strategy!r} (gs, bma or bo)")
    log.info("%s chose %s", strategy, chosen)
    return Tuned(result.table, chosen, model, posterior)
