"""The elementwise atlasQTL kernels (``_kernels._probit``) against their NumPy twins: the probit
refresh with log Phi and Mills ratios (step 12), Z at c = 1 (step 7) and ELBO term B, over
1 and 2 threads, including |m| beyond the asymptotic switch."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from vibank.qtl import _reference
from vibank.qtl._kernels import _probit
from vibank.qtl.model import ENTROPY_EPS


def _propensities(extreme):
    rng = np.random.default_rng(5)
    theta = rng.normal(0.0, 1.0, 300)
    zeta = rng.normal(-3.0, 0.8, 64)
    if extreme:  # both tails, either side of the asymptotic switch at |m| = 30
        theta[:6] = [-45.0, -31.0, -29.5, 29.5, 31.0, 45.0]
        zeta[0] = 0.0
    return theta, zeta, rng


def _refreshed(theta, zeta, n_threads):
    out = [np.empty((len(zeta), len(theta))) for _ in range(4)]
    _probit.probit_refresh(theta, zeta, *out, n_threads=n_threads)
    return out


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("extreme", [False, True])
def test_probit_refresh__matches_reference(n_threads, extreme):
    theta, zeta, _ = _propensities(extreme)
    ours = _refreshed(theta, zeta, n_threads)
    # beyond |m| = 30 the twin's Mills ratios (through scipy's log_ndtr) carry ~5e-12 relative
    # error, the kernel's series ~6e-13 (both checked against mpmath at 60 digits)
    rtol = 2e-11 if extreme else 1e-12
    for name, a, b in zip(("log_phi", "log_phi_neg", "mills_pos", "mills_neg"), ours,
                          _reference.probit_refresh(theta, zeta)):
        assert_allclose(a, b, rtol=rtol, atol=1e-300, err_msg=name)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_latent_mean__matches_reference(n_threads):
    theta, zeta, rng = _propensities(True)
    g = rng.uniform(0.0, 1.0, (len(zeta), len(theta)))
    _, _, mills_pos, mills_neg = _refreshed(theta, zeta, 1)
    z = np.empty_like(g)
    _probit.latent_mean(theta, zeta, g, mills_pos, mills_neg, z, n_threads=n_threads)
    # Z = m + g * (about -m) cancels for |m| ~ 30: absolute error ~30 x that of the ratios
    assert_allclose(z, _reference.latent_mean(theta, zeta, g), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_elbo_gamma_terms__matches_reference(n_threads):
    theta, zeta, rng = _propensities(False)
    q, p = len(zeta), len(theta)
    g = rng.uniform(0.0, 1.0, (q, p))
    g[0, :3] = [0.0, 1.0, 1e-300]
    m2 = rng.uniform(0.0, 0.1, (q, p))
    s2b = rng.uniform(1e-4, 1e-3, (q, p))
    log_phi, log_phi_neg, _, _ = _refreshed(theta, zeta, 1)
    log_tau, tau = rng.normal(0.0, 0.1, q), rng.uniform(0.5, 2.0, q)
    args = (g, m2, s2b, log_phi, log_phi_neg, log_tau, tau, -0.3, 1.7, ENTROPY_EPS)
    out = np.empty(q)
    _probit.elbo_gamma_terms(*args, out, n_threads=n_threads)
    assert_allclose(out, _reference.elbo_gamma_terms(*args), rtol=1e-12)
    again = np.empty(q)
    _probit.elbo_gamma_terms(*args, again, n_threads=3 - n_threads)
    assert_array_equal(out, again)
