"""Input checks, preprocessing and the precomputed Gram quantities of atlasQTL
(pqtl_afcavi.md section (a) "Preprocessing" and section (c) "Precomputation" / "Missing values"),
and the two steps that make a study's genotypes and proteins fit inputs: mean imputation of
missing calls and residualisation of the proteins on covariates.
"""

from dataclasses import dataclass, field

import numpy as np

from vibank.errors import VibankError

#: least share of observed entries in Y overall, and in every column (section (a))
MIN_OBSERVED = 0.05
MIN_OBSERVED_COLUMN = 0.025


def _names(obj, axis_len, prefix, given):
    if given is not None:
        names = [str(v) for v in given]
        if len(names) != axis_len:
            raise VibankError(f"{len(names)} {prefix} names given for {axis_len} columns")
        return names
    if hasattr(obj, "columns"):
        return [str(v) for v in obj.columns]
    return [f"{prefix}_{j + 1}" for j in range(axis_len)]


@dataclass
class QTLData:
    """Standardised X, centred Y and what the updates need from them, response-major.

    X : (n, p) centred, scaled to sample sd 1 (denominator n - 1), constant and duplicate
        columns removed; Y : (n, q) centred over observed entries, NAs set to 0.
    gram : (p, p) X'X; ytx : (q, p) Y'X; yy : (q,) ||y_t||^2; n_obs : (q,) observed counts.
    diag : (q, p) the diagonal of the Gram matrix of response t, x_s' O_t x_s (n - 1 w/o NAs).
    c_miss : (m, p, p) Gram matrices of the missing rows (one per distinct missingness pattern),
        miss_index : (q,) their row for each response, -1 if y_t is complete.
    """

    X: np.ndarray
    Y: np.ndarray
    observed: np.ndarray
    sd: np.ndarray
    kept: np.ndarray
    variant_names: list
    response_names: list
    removed_constant: list
    removed_collinear: dict
    gram: np.ndarray = field(repr=False, default=None)
    ytx: np.ndarray = field(repr=False, default=None)
    yy: np.ndarray = field(repr=False, default=None)
    n_obs: np.ndarray = field(repr=False, default=None)
    diag: np.ndarray = field(repr=False, default=None)
    c_miss: np.ndarray = field(repr=False, default=None)
    miss_index: np.ndarray = field(repr=False, default=None)

    @property
    def shape(self):
        return self.X.shape[0], self.X.shape[1], self.Y.shape[1]


def prepare(X, Y, *, variant_names=None, response_names=None):
    """Validate and preprocess (section (a)); user mistakes raise a one-line VibankError.

    X may not contain NaN; Y may, but at least 5% of all its entries and 2.5% of every column
    must be observed. Exactly constant columns of X and exact duplicates (after scaling) are
    removed and reported, duplicates by the kept column they copy. The per-column sd is that of
    the kept columns (fixing the misalignment of (k.8)).
    """
    xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(Y, dtype=np.float64)
    if xa.ndim != 2 or ya.ndim != 2:
        raise VibankError(f"X and Y must be 2-D (n x p and n x q), got {xa.ndim}-D and {ya.ndim}-D")
    n, p = xa.shape
    if ya.shape[0] != n:
        raise VibankError(f"X has {n} rows (individuals) but Y has {ya.shape[0]}")
    if n < 3 or p < 1 or ya.shape[1] < 1:
        raise VibankError(f"need at least 3 individuals, 1 predictor and 1 response (got n={n}, "
                          f"p={p}, q={ya.shape[1]})")
    vnames = _names(X, p, "Cov_x", variant_names)
    rnames = _names(Y, ya.shape[1], "Resp", response_names)
    bad = ~np.isfinite(xa)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise VibankError(f"X has {int(bad.sum())} missing or non-finite values (first at row "
                          f"{i + 1}, column {vnames[j]}); impute or drop them before fitting")
    if np.isinf(ya).any():
        raise VibankError("Y has infinite values; only NaN is accepted as missing")
    observed = ~np.isnan(ya)
    share = observed.mean()
    if share < MIN_OBSERVED:
        raise VibankError(f"only {share:.1%} of the entries of Y are observed (at least "
                          f"{MIN_OBSERVED:.0%} are needed)")
    col_share = observed.mean(axis=0)
    if np.any(col_share < MIN_OBSERVED_COLUMN):
        t = int(np.argmin(col_share))
        raise VibankError(f"response {rnames[t]} has only {col_share[t]:.1%} observed values "
                          f"(at least {MIN_OBSERVED_COLUMN:.1%} are needed per response)")

    constant = np.ptp(xa, axis=0) == 0
    removed_constant = [vnames[j] for j in np.flatnonzero(constant)]
    cols = np.flatnonzero(~constant)
    if cols.size == 0:
        raise VibankError("every column of X is constant")
    xs = xa[:, cols]
    sd = xs.std(axis=0, ddof=1)
    xs = (xs - xs.mean(axis=0)) / sd
    # duplicates after scaling, up to rounding (2x + 1 scales to x only to ~1e-16)
    _, first, inverse = np.unique(np.round(xs.T, 10), axis=0, return_index=True,
                                  return_inverse=True)
    keep = np.zeros(cols.size, dtype=bool)
    keep[first] = True
    removed_collinear = {vnames[cols[j]]: vnames[cols[first[inverse[j]]]]
                         for j in np.flatnonzero(~keep)}
    kept = cols[keep]
    xs, sd = np.ascontiguousarray(xs[:, keep]), sd[keep]

    counts = observed.sum(axis=0)
    means = np.where(observed, ya, 0.0).sum(axis=0) / counts
    yc = np.where(observed, ya - means, 0.0)
    return QTLData(X=xs, Y=yc, observed=observed, sd=sd, kept=kept,
                   variant_names=[vnames[j] for j in kept], response_names=rnames,
                   removed_constant=removed_constant, removed_collinear=removed_collinear)


def precompute(data):
    """G = X'X, Y'X, ||y_t||^2 and the NA corrections C_t = X_miss,t' X_miss,t (section (c)).

    Responses sharing a missingness pattern share one C matrix. Costs O(n p^2 + n p q) once.
    """
    X, Y, observed = data.X, data.Y, data.observed
    q = Y.shape[1]
    data.gram = np.ascontiguousarray(X.T @ X)
    data.ytx = np.ascontiguousarray(Y.T @ X)
    data.yy = np.einsum("ij,ij->j", Y, Y)
    data.n_obs = observed.sum(axis=0).astype(np.float64)
    data.miss_index = np.full(q, -1, dtype=np.int64)
    patterns, mats = {}, []
    for t in np.flatnonzero(~observed.all(axis=0)):
        key = np.packbits(~observed[:, t]).tobytes()
        if key not in patterns:
            xm = X[~observed[:, t]]
            patterns[key] = len(mats)
            mats.append(xm.T @ xm)
        data.miss_index[t] = patterns[key]
    p = X.shape[1]
    data.c_miss = np.ascontiguousarray(np.stack(mats) if mats else np.zeros((0, p, p)))
    data.diag = np.tile(np.diag(data.gram), (q, 1))
    for t in np.flatnonzero(data.miss_index >= 0):
        data.diag[t] -= np.diag(data.c_miss[data.miss_index[t]])
    return data


def impute_dosages(dosages):
    """Fill the missing calls of a dosage matrix with the variant's mean dosage.

    atlasQTL takes no missing genotype (:func:`prepare` rejects them).

    Parameters
    ----------
    dosages : (n, p) dosages of A1; missing calls negative or NaN

    Returns
    -------
    ndarray (n, p) of float64, a copy with each missing call replaced by the mean of the
    variant's observed calls
    """
    x = np.asarray(dosages).astype(np.float64)
    x[x < 0] = np.nan
    means = np.nanmean(x, axis=0)
    missing = np.isnan(x)
    x[missing] = np.take(means, np.nonzero(missing)[1])
    return x


def residualise(y, z):
    """Residuals of each column of ``y`` after least squares on ``z`` plus an intercept.

    Each column is fitted on its own observed rows; missing entries stay missing.

    Parameters
    ----------
    y : (n, q) responses, NaN where missing
    z : (n, k) covariates, complete

    Returns
    -------
    ndarray (n, q) of float64
    """
    design = np.column_stack([np.ones(len(z)), z])
    out = np.full_like(y, np.nan, dtype=np.float64)
    observed = ~np.isnan(y)
    # columns sharing a missingness pattern share one least-squares solve
    patterns, inverse = np.unique(observed.T, axis=0, return_inverse=True)
    for k, rows in enumerate(patterns):
        cols = np.flatnonzero(inverse.ravel() == k)
        coef = np.linalg.lstsq(design[rows], y[np.ix_(rows, cols)], rcond=None)[0]
        out[np.ix_(rows, cols)] = y[np.ix_(rows, cols)] - design[rows] @ coef
    return out
