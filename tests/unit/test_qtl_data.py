"""vibank.qtl.data: the input steps before a fit (mean imputation, residualisation on
covariates) against hand computations."""

import numpy as np
from numpy.testing import assert_allclose

from vibank.qtl import impute_dosages, residualise


def test_residualise__matches_lstsq_per_column_with_missing():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 2))
    y = z @ [[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]] + rng.normal(size=(50, 3)) + 4.0
    y[[3, 7], 1] = np.nan
    out = residualise(y, z)
    assert np.isnan(out[[3, 7], 1]).all() and np.isfinite(np.delete(out[:, 1], [3, 7])).all()
    for t in range(3):
        rows = ~np.isnan(y[:, t])
        design = np.column_stack([np.ones(rows.sum()), z[rows]])
        coef = np.linalg.lstsq(design, y[rows, t], rcond=None)[0]
        assert_allclose(out[rows, t], y[rows, t] - design @ coef, atol=1e-10)
        assert abs(out[rows, t].mean()) < 1e-10


def test_impute_dosages__missing_calls_take_the_variant_mean():
    raw = np.array([[0, 2, -127], [1, np.nan, 2], [2, 1, 0], [-9, 0, 1]], dtype=np.float32)
    x = impute_dosages(raw)
    assert x.dtype == np.float64 and raw[0, 2] == -127  # a copy; the input is untouched
    assert_allclose(x, [[0, 2, 1], [1, 1, 2], [2, 1, 0], [1, 0, 1]])
