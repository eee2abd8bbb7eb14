"""Hyperparameters of atlasQTL: Owen's T elicitation of (n0, t02) from p0, the defaults, and the
annealing ladder (pqtl_afcavi.md sections (a) and (e))."""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri, owens_t

from vibank.errors import VibankError

#: bracket of the root-finder for t02 (the reference's uniroot interval)
T02_BRACKET = (1e-6, 1e5)
ANNEAL_TYPES = {1: "geometric", 2: "harmonic", 3: "linear"}


def prior_count_variance(t02, mean, p):
    """Var N_t of the number of predictors of one response under zeta ~ N(n0(t02), t02).

    Section (a): with h = n0 / sqrt(1 + t02) and n0 = sqrt(1 + t02) Phi^-1(mean / p),
    Var N = p (p - 1) E[Phi(zeta)^2] - p^2 Phi(h)^2 + p Phi(h), where
    E[Phi(zeta)^2] = Phi(h) - 2 T(h, 1 / sqrt(1 + 2 t02)) (Owen's T).
    """
    h = ndtri(mean / p)
    e1 = ndtr(h)
    e2 = e1 - 2.0 * owens_t(h, 1.0 / np.sqrt(1.0 + 2.0 * t02))
    return p * (p - 1) * e2 - p**2 * e1**2 + p * e1


def elicit_n0_t02(p0, p):
    """(n0, t02) such that the prior number of predictors per response has mean and variance p0.

    Section (a), "Eliciting n0 and t02 from p0": t02 is the root of Var N_t = V_p on
    [1e-6, 1e5] (the theta_s are ignored), then n0 = sqrt(1 + t02) Phi^-1(E_p / p).

    Parameters
    ----------
    p0 : (E_p, V_p), prior mean and variance of the number of predictors per response
    p : number of predictors

    Returns
    -------
    n0, t02 : floats

    Raises
    ------
    VibankError if E_p is not in (0, p) or no t02 in the bracket gives V_p.
    """
    mean, var = (float(v) for v in p0)
    if not 0 < mean < p or var <= 0:
        raise VibankError(f"p0 = ({mean:g}, {var:g}): the mean must be in (0, p = {p}) and the "
                          "variance positive")
    lo, hi = T02_BRACKET
    f_lo = prior_count_variance(lo, mean, p) - var
    f_hi = prior_count_variance(hi, mean, p) - var
    if f_lo * f_hi > 0:
        raise VibankError(f"p0 = ({mean:g}, {var:g}): no prior variance t02 in [{lo:g}, {hi:g}] "
                          f"gives this variance with p = {p} predictors; choose another p0")
    t02 = brentq(lambda t: prior_count_variance(t, mean, p) - var, lo, hi, xtol=1e-12, rtol=1e-14)
    n0 = np.sqrt(1.0 + t02) * ndtri(mean / p)
    return float(n0), float(t02)


def anneal_ladder(anneal=(1, 2.0, 10)):
    """Inverse temperatures c_1..c_m, from 1/T0 up to exactly 1 (section (e)).

    ``anneal = (type, T0, m)``: type 1 geometric c_i = k^((m-i)/(m-1)), 2 harmonic (temperatures
    linear from T0 to 1), 3 linear c_i = k + (1-k)(i-1)/(m-1), k = 1/T0. None: no annealing, [1].
    """
    if anneal is None:
        return np.ones(1)
    kind, t0, m = anneal
    if int(kind) not in ANNEAL_TYPES:
        raise VibankError(f"anneal type must be 1 (geometric), 2 (harmonic) or 3 (linear), not {kind}")
    if t0 < 1.5:
        raise VibankError(f"anneal: the initial temperature T0 must be at least 1.5, not {t0}")
    m = int(m)
    if not 2 <= m <= 1000:
        raise VibankError(f"anneal: the number of rungs must be in [2, 1000], not {m}")
    k, i = 1.0 / t0, np.arange(1, m + 1)
    if int(kind) == 1:
        c = k ** ((m - i) / (m - 1))
    elif int(kind) == 2:
        c = 1.0 / (1.0 + (t0 - 1.0) * (m - i) / (m - 1))
    else:
        c = k + (1.0 - k) * (i - 1) / (m - 1)
    c[-1] = 1.0
    return c


@dataclass
class Hyperparameters:
    """Prior hyperparameters (section (a) table). eta, kappa and n0 are per response."""

    eta: np.ndarray
    kappa: np.ndarray
    n0: np.ndarray
    t02: float
    nu: float = 1e-2
    rho: float = 1.0
    m0: float = 0.0
    a2_inv: float = 1.0


def default_hyperparameters(Y, observed, p0, p):
    """``auto_set_hyper_`` of section (a): eta_t = 1 / median_t var(y_t) (NAs dropped, the
    atlasqtl choice of (k.10); 1e3 if not finite), kappa_t = 1, nu = 1e-2, rho = 1, and (n0, t02)
    from p0."""
    q = Y.shape[1]
    variances = np.array([np.var(Y[observed[:, t], t], ddof=1) if observed[:, t].sum() > 1
                          else np.nan for t in range(q)])
    eta = 1.0 / np.nanmedian(variances) if np.any(np.isfinite(variances)) else np.inf
    if not np.isfinite(eta):
        eta = 1e3
    n0, t02 = elicit_n0_t02(p0, p)
    return Hyperparameters(eta=np.full(q, eta), kappa=np.ones(q), n0=np.full(q, n0), t02=t02)
