"""Prediction metrics of a polygenic score: incremental R^2 with its standard error, AUPRC,
AUROC, relative R^2, distances between population centroids in PC space and the liability-scale
h^2 of a binary trait; and the classification metrics of pQTL calls against a simulated truth.

Regressions are ordinary least squares by ``numpy.linalg.lstsq`` (no statsmodels); every fit
has an intercept.
"""

import numpy as np


def r2_ols(y, x):
    """R^2 = 1 - RSS / TSS of the least-squares fit of ``y`` on ``[1, x]``.

    Parameters
    ----------
    y : (n,) outcome
    x : (n, k) predictors (k may be 0); rank-deficient designs are allowed

    Returns
    -------
    float, 0 when y is constant
    """
    y = np.asarray(y, dtype=np.float64)
    design = np.column_stack([np.ones(len(y)), np.asarray(x, dtype=np.float64).reshape(len(y), -1)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    tss = np.sum((y - y.mean()) ** 2)
    return float(1.0 - resid @ resid / tss) if tss > 0 else 0.0


def incremental_r2(y, prs, covariates=None):
    """Incremental R^2 of a score over covariates, with a delta-method standard error.

    delta = R^2(y ~ 1 + C + prs) - R^2(y ~ 1 + C).

    By Frisch-Waugh-Lovell, with ``e_y`` and ``e_s`` the residuals of y and of the score on
    ``[1, C]`` and ``rho = corr(e_y, e_s)``, delta = (1 - R^2(y ~ 1 + C)) rho^2. The standard
    error applies the delta method to rho^2 (Olkin & Finn 1995: Var(r^2) ~ 4 rho^2
    (1 - rho^2)^2 / n) with the covariate R^2 held fixed:

        SE = (1 - R^2_C) * 2 |rho| (1 - rho^2) / sqrt(n).

    It is a large-sample approximation; at rho = 0 it is 0 (use a bootstrap there).

    Parameters
    ----------
    y : (n,) phenotype (0/1 for a binary trait: the observed-scale, linear-probability R^2)
    prs : (n,) polygenic score
    covariates : (n, k) or None

    Returns
    -------
    (delta, se) : floats
    """
    y = np.asarray(y, dtype=np.float64)
    prs = np.asarray(prs, dtype=np.float64)
    n = len(y)
    c = np.empty((n, 0)) if covariates is None else np.asarray(covariates, np.float64).reshape(n, -1)
    r2_null = r2_ols(y, c)
    r2_full = r2_ols(y, np.column_stack([c, prs]))
    delta = max(r2_full - r2_null, 0.0)  # >= 0 up to rounding: the models are nested
    rho2 = delta / (1.0 - r2_null) if r2_null < 1 else 0.0
    se = (1.0 - r2_null) * 2.0 * np.sqrt(rho2) * (1.0 - rho2) / np.sqrt(n)
    return float(delta), float(se)


def bootstrap_incremental_r2_se(y, prs, covariates=None, *, n_boot=500, seed=0):
    """Bootstrap standard error of :func:`incremental_r2` (resampling samples); a check on the
    delta-method SE, n_boot times the cost."""
    rng = np.random.default_rng(seed)
    y, prs = np.asarray(y, np.float64), np.asarray(prs, np.float64)
    n = len(y)
    c = np.empty((n, 0)) if covariates is None else np.asarray(covariates, np.float64).reshape(n, -1)
    draws = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, n, n)
        draws[b] = incremental_r2(y[i], prs[i], c[i])[0]
    return float(draws.std(ddof=1))


def binary_metrics(y, prs):
    """AUPRC (scikit-learn average precision) and AUROC of a score for 0/1 outcomes.

    Returns (nan, nan) when only one class is present.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    return float(average_precision_score(y, prs)), float(roc_auc_score(y, prs))


def classification_metrics(truth, score, threshold=0.5):
    """Ranking and thresholded metrics of a score against boolean truth (e.g. PPIs of variant x
    protein pairs against the simulated associations).

    Parameters
    ----------
    truth : (m,) bool
    score : (m,) float, higher means more likely true
    threshold : float
        Items with ``score >= threshold`` are called.

    Returns
    -------
    dict
        auroc, auprc (as :func:`binary_metrics`: average precision; NaN with one class only);
        tp, fp, fn, tn of the calls; precision, recall and fpr (NaN where the denominator is 0).
    """
    truth = np.asarray(truth, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    auprc, auroc = binary_metrics(truth, score)
    called = score >= threshold
    tp, fp = int(np.sum(called & truth)), int(np.sum(called & ~truth))
    fn, tn = int(np.sum(~called & truth)), int(np.sum(~called & ~truth))
    return {"auroc": auroc, "auprc": auprc, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else np.nan,
            "recall": tp / (tp + fn) if tp + fn else np.nan,
            "fpr": fp / (fp + tn) if fp + tn else np.nan}


def relative_r2(r2_target, r2_reference):
    """R^2 in a target set over R^2 in the reference set (nan when the reference is not > 0)."""
    r2_target = np.asarray(r2_target, dtype=np.float64)
    r2_reference = np.asarray(r2_reference, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r2_reference > 0, r2_target / r2_reference, np.nan)


def centroid_distance(pcs_a, pcs_b):
    """Euclidean distance between the centroids (column means) of two sets of PC coordinates.

    Parameters
    ----------
    pcs_a, pcs_b : (n_a, k), (n_b, k) principal-component coordinates of the two sets
    """
    a = np.asarray(pcs_a, dtype=np.float64)
    b = np.asarray(pcs_b, dtype=np.float64)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"PC sets differ in dimension: {a.shape[1:]} vs {b.shape[1:]}")
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))


def observed_to_liability_h2(h2_observed, *, prevalence, sample_prevalence=None):
    """SNP heritability of a binary trait on the liability scale from its observed (0/1) scale
    estimate (Lee et al. 2011, their transformation for case-control samples).

    With K the population prevalence, P the case share of the sample the estimate came from,
    t = Phi^-1(1 - K) the liability threshold and z = phi(t) the standard normal density there:

        h2_liability = h2_observed * K^2 (1 - K)^2 / (z^2 P (1 - P)).

    For a sample with the population's case share (P = K) the factor is K (1 - K) / z^2.

    Parameters
    ----------
    h2_observed : float or array, h^2 estimated on the 0/1 scale (NaN passes through)
    prevalence : float or array, K in (0, 1)
    sample_prevalence : float or array, P in (0, 1); default K

    Returns
    -------
    float or ndarray, h2_liability

    Raises
    ------
    ValueError when a finite K or P lies outside (0, 1)

    References
    ----------
    Lee SH, Wray NR, Goddard ME, Visscher PM (2011). Estimating missing heritability for disease
    from genome-wide association studies. Am J Hum Genet 88:294-305.
    """
    from scipy.stats import norm

    k = np.asarray(prevalence, dtype=np.float64)
    p = k if sample_prevalence is None else np.asarray(sample_prevalence, dtype=np.float64)
    for name, value in (("prevalence", k), ("sample_prevalence", p)):
        finite = value[np.isfinite(value)]
        if np.any((finite <= 0) | (finite >= 1)):
            raise ValueError(f"{name} must lie in (0, 1), got {value}")
    z = norm.pdf(norm.isf(k))  # density at the threshold t = Phi^-1(1 - K)
    h2 = np.asarray(h2_observed, dtype=np.float64) * (k * (1 - k)) ** 2 / (z**2 * p * (1 - p))
    return float(h2) if h2.ndim == 0 else h2


def effect_agreement(first, second, columns=("BETA", "BETA_PER_ALLELE")):
    """Agreement of two fits' effects (DataFrames indexed by variant key, with ``columns``): a
    variant fitted in one only counts with effect 0 in the other, as it does in a score.

    Returns a dict: n_variants (the union), n_first_only, n_second_only, and the Pearson
    correlation of each column (``<column>_correlation``).
    """
    both = (first[list(columns)].add_suffix("_1")
            .join(second[list(columns)].add_suffix("_2"), how="outer").fillna(0.0))
    out = {"n_variants": len(both),
           "n_first_only": int((~both.index.isin(second.index)).sum()),
           "n_second_only": int((~both.index.isin(first.index)).sum())}
    for column in columns:
        out[f"{column}_correlation"] = float(np.corrcoef(both[f"{column}_1"],
                                                         both[f"{column}_2"])[0, 1])
    return out
