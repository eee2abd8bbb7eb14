"""Hyperparameter elicitation, annealing ladder and the closed-form expectations of atlasQTL
(pqtl_afcavi.md sections (a), (b), (c) step 8, (e)), against the spec's values and quadrature."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.special import ndtr
from scipy.stats import norm

from vibank.errors import VibankError
from vibank.qtl import anneal_ladder, elicit_n0_t02, mean_inv_lambda2, truncated_latent_mean
from vibank.qtl.moments import log_q_function
from vibank.qtl.priors import prior_count_variance


@pytest.mark.parametrize("p, t02, n0", [(1000, 0.1589, -3.3268), (200, 0.2398, -2.8681)])
def test_elicit_n0_t02__reference_values(p, t02, n0):
    got_n0, got_t02 = elicit_n0_t02((1, 4), p)
    assert round(got_t02, 4) == t02
    assert round(got_n0, 4) == n0
    # marginal prior inclusion probability Phi(n0 / sqrt(1 + t02)) = E_p / p
    assert_allclose(ndtr(got_n0 / np.sqrt(1 + got_t02)), 1 / p, rtol=1e-10)


def test_elicit_n0_t02__moments_by_quadrature():
    """E N and Var N of the number of predictors, integrating Phi(zeta) over N(n0, t02)."""
    p, mean, var = 500, 3.0, 10.0
    n0, t02 = elicit_n0_t02((mean, var), p)
    dens = norm(n0, np.sqrt(t02)).pdf
    e1 = quad(lambda z: ndtr(z) * dens(z), -np.inf, np.inf, epsabs=1e-14)[0]
    e2 = quad(lambda z: ndtr(z) ** 2 * dens(z), -np.inf, np.inf, epsabs=1e-14)[0]
    assert_allclose(p * e1, mean, rtol=1e-8)
    assert_allclose(p * (p - 1) * e2 - p**2 * e1**2 + p * e1, var, rtol=1e-6)
    assert_allclose(prior_count_variance(t02, mean, p), var, rtol=1e-10)


@pytest.mark.parametrize("p0", [(1, 0.5), (0, 4), (2000, 4)])
def test_elicit_n0_t02__impossible_p0(p0):
    with pytest.raises(VibankError):
        elicit_n0_t02(p0, 1000)


def test_anneal_ladder__spec_values():
    assert_allclose(anneal_ladder((1, 2, 10)),
                    [0.5, 0.54, 0.5833, 0.63, 0.6804, 0.7349, 0.7937, 0.8572, 0.9259, 1],
                    atol=1e-4)
    assert_allclose(anneal_ladder((2, 2, 10))[:4], [0.5, 0.5294, 0.5625, 0.6], atol=1e-4)
    assert_allclose(anneal_ladder((2, 2, 10))[-2:], [0.9, 1.0])
    assert_allclose(anneal_ladder((3, 2, 10))[:2], [0.5, 0.5556], atol=1e-4)
    assert anneal_ladder(None).tolist() == [1.0]
    with pytest.raises(VibankError):
        anneal_ladder((1, 1.2, 10))


def _quad_moment(L, c, k):
    f = lambda u: u**k * (1 + u) ** (-c) * np.exp(-L * u)  # noqa: E731
    # split at the density's scale 1/L so quad sees its mass
    edge = 1.0 / L
    return (quad(f, 0, edge, epsabs=0, epsrel=1e-13, limit=500)[0]
            + quad(f, edge, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0])


@pytest.mark.parametrize("c", [0.5, 0.63, 0.7349, 0.9259, 1.0])
def test_mean_inv_lambda2__quadrature(c):
    """E lambda^-2 under q(u) proportional to (1 + u)^-c e^{-L u}, annealed (c < 1) and not."""
    L = np.array([1e-4, 0.01, 0.3, 0.999, 1.0, 1.001, 2.5, 12.0, 150.0, 2000.0])
    expected = [_quad_moment(v, c, 1) / _quad_moment(v, c, 0) for v in L]
    assert_allclose(mean_inv_lambda2(L, c), expected, rtol=1e-8, atol=0)


def test_mean_inv_lambda2__huge_L_stays_finite():
    """Gamma(a, L) underflows for L > ~745; the scaled form must not (E u ~ 1/L - ...)."""
    L = np.array([1e3, 1e5, 1e8])
    for c in (0.5, 1.0):
        got = mean_inv_lambda2(L, c)
        assert np.all(np.isfinite(got)) and np.all(got > 0)
        assert_allclose(got * L, 1.0, rtol=2e-3)


def test_log_q_function__quadrature():
    L = np.array([0.05, 0.7, 1.0, 3.0, 40.0])
    expected = [np.log(_quad_moment(v, 1.0, 0)) for v in L]
    assert_allclose(log_q_function(L), expected, rtol=1e-10)


@pytest.mark.parametrize("c", [0.5, 0.8, 1.0])
def test_truncated_latent_mean__quadrature(c):
    """Z = g E[z | z > 0] + (1 - g) E[z | z <= 0], z ~ N(m, 1/c) (section (b))."""
    sd = 1 / np.sqrt(c)
    for m, g in [(-3.3, 0.02), (-1.0, 0.4), (0.0, 0.5), (0.7, 0.9), (2.0, 0.99)]:
        dens = norm(m, sd).pdf
        pos = quad(lambda z: z * dens(z), 0, np.inf, epsabs=1e-13)[0] / norm(m, sd).sf(0)
        neg = quad(lambda z: z * dens(z), -np.inf, 0, epsabs=1e-13)[0] / norm(m, sd).cdf(0)
        got = truncated_latent_mean(np.array([m]), np.array([g]), c)[0]
        assert_allclose(got, g * pos + (1 - g) * neg, rtol=1e-8, atol=1e-10)
