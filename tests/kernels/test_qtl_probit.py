"""The elementwise atlasQTL kernels (``_kernels._probit``) against their NumPy twins: the probit
refresh with log Phi and Mills ratios (step 12), the sums of Z at c = 1 (step 7) and of m2 and
the residual bracket (steps 1, 2, 6), ELBO term B and the adaptive-focus relevance, over 1 and 2
threads, including |m| beyond 30."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_ndtr

from vibank.qtl import _reference, focus
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


def _refreshed(theta, zeta, n_threads, g=None):
    q, p = len(zeta), len(theta)
    out = [np.empty((q, p)) for _ in range(3)] + [np.empty(q)]
    g = np.full((q, p), 0.5) if g is None else g
    _probit.probit_refresh(theta, zeta, g, *out, n_threads=n_threads)
    return out


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("extreme", [False, True])
def test_probit_refresh__matches_reference(n_threads, extreme):
    theta, zeta, rng = _propensities(extreme)
    g = rng.uniform(0.0, 1.0, (len(zeta), len(theta)))
    ours = _refreshed(theta, zeta, n_threads, g)
    # beyond |m| = 30 the twin's Mills ratios (through scipy's log_ndtr) carry ~5e-12 relative
    # error, the kernel's series ~6e-13 (both checked against mpmath at 60 digits)
    rtol = 2e-11 if extreme else 1e-12
    # lpd = log Phi(m) - log Phi(-m) cancels near m = 0: absolute rounding of the two logs
    for name, a, b in zip(("lpd", "mills_pos", "mills_neg", "probit_sum"), ours,
                          _reference.probit_refresh(theta, zeta, g)):
        assert_allclose(a, b, rtol=rtol, atol=1e-14 if name == "lpd" else 1e-300, err_msg=name)
    assert_array_equal(ours[3], _refreshed(theta, zeta, 3 - n_threads, g)[3])


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("q", [64, 150])
def test_latent_sums__matches_reference(n_threads, q):
    """Row and column sums of Z at c = 1 against the twin; q = 150 leaves a partial block of
    responses; the sums do not depend on the thread count."""
    theta, zeta, rng = _propensities(True)
    zeta = np.resize(zeta, q)
    g = rng.uniform(0.0, 1.0, (q, len(theta)))
    _, mills_pos, mills_neg, _ = _refreshed(theta, zeta, 1, g)
    n_blocks = -(-q // _probit.ROWS)
    outs = []
    for threads in (n_threads, 3 - n_threads):
        z_row, parts = np.empty(q), np.empty((n_blocks, len(theta)))
        _probit.latent_sums(theta, zeta, g, mills_pos, mills_neg, z_row, parts, n_threads=threads)
        outs.append((z_row, parts.sum(axis=0)))
    row_ref, col_ref = _reference.latent_sums(theta, zeta, g)
    # Z = m + g * (about -m) cancels for |m| ~ 30: absolute error ~30 x that of the ratios
    assert_allclose(outs[0][0], row_ref, rtol=1e-12, atol=1e-8)
    assert_allclose(outs[0][1], col_ref, rtol=1e-12, atol=1e-8)
    assert_array_equal(outs[0][0], outs[1][0])
    assert_array_equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("c", [0.5, 0.9])
def test_latent_sums_annealed__matches_reference(n_threads, c):
    """Row and column sums of Z under annealing (variance 1/c, ratios at sqrt(c) m) against
    ``moments.truncated_latent_mean``, across |m| up to 45; independent of the thread count."""
    theta, zeta, rng = _propensities(True)
    q = len(zeta)
    g = rng.uniform(0.0, 1.0, (q, len(theta)))
    n_blocks = -(-q // _probit.ROWS)
    outs = []
    for threads in (n_threads, 3 - n_threads):
        z_row, parts = np.empty(q), np.empty((n_blocks, len(theta)))
        _probit.latent_sums_annealed(theta, zeta, g, c, z_row, parts, n_threads=threads)
        outs.append((z_row, parts.sum(axis=0)))
    row_ref, col_ref = _reference.latent_sums(theta, zeta, g, c)
    assert_allclose(outs[0][0], row_ref, rtol=1e-11, atol=1e-8)
    assert_allclose(outs[0][1], col_ref, rtol=1e-11, atol=1e-8)
    assert_array_equal(outs[0][0], outs[1][0])
    assert_array_equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_local_sums__matches_reference(n_threads):
    """Per-response sums of g, m2, diag m2, bbar Y'X, GB bbar and diag bbar^2 against the twin,
    with a diagonal that varies along a response (NAs)."""
    rng = np.random.default_rng(9)
    q, p = 37, 210
    g = rng.uniform(0.0, 1.0, (q, p))
    mu = rng.normal(0.0, 0.3, (q, p))
    s2b = rng.uniform(1e-4, 1e-3, (q, p))
    diag = np.full((q, p), 1999.0)
    diag[3] -= rng.integers(0, 50, p)
    bbar = g * mu
    ytx, gb = rng.normal(0.0, 10.0, (q, p)), rng.normal(0.0, 10.0, (q, p))
    out, again = np.empty((6, q)), np.empty((6, q))
    _probit.local_sums(g, mu, s2b, diag, bbar, ytx, gb, out, n_threads=n_threads)
    _probit.local_sums(g, mu, s2b, diag, bbar, ytx, gb, again, n_threads=3 - n_threads)
    assert_allclose(out, _reference.local_sums(g, mu, s2b, diag, bbar, ytx, gb), rtol=1e-12)
    assert_array_equal(out, again)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_elbo_gamma_terms__matches_reference(n_threads):
    """The kernel (from g, s2b and the per-response sums of m2 and of the probit part) equals
    its twin and the term written out pair by pair (section (d), term B)."""
    theta, zeta, rng = _propensities(False)
    q, p = len(zeta), len(theta)
    g = rng.uniform(0.0, 1.0, (q, p))
    g[0, :3] = [0.0, 1.0, 1e-300]
    m2 = rng.uniform(0.0, 0.1, (q, p))
    s2b = rng.uniform(1e-4, 1e-3, (q, p))
    s2b[1] = 5e-4  # constant along a response, as without NAs
    _, _, _, probit_sum = _refreshed(theta, zeta, 1, g)
    log_tau, tau = rng.normal(0.0, 0.1, q), rng.uniform(0.5, 2.0, q)
    args = (g, s2b, m2.sum(axis=1), probit_sum, log_tau, tau, -0.3, 1.7, ENTROPY_EPS)
    out = np.empty(q)
    _probit.elbo_gamma_terms(*args, out, n_threads=n_threads)
    assert_allclose(out, _reference.elbo_gamma_terms(*args), rtol=1e-12)
    m = np.add.outer(zeta, theta)
    log_phi, log_phi_neg = log_ndtr(m), log_ndtr(-m)
    pairwise = np.sum(0.5 * g * (-0.3 + log_tau[:, None]) - 0.5 * tau[:, None] * 1.7 * m2
                      + g * log_phi + (1 - g) * log_phi_neg
                      - g * np.log(g + ENTROPY_EPS) - (1 - g) * np.log(1 - g + ENTROPY_EPS)
                      + 0.5 * g * (np.log(s2b) + 1), axis=1)
    assert_allclose(out, pairwise, rtol=1e-12)
    again = np.empty(q)
    _probit.elbo_gamma_terms(*args, again, n_threads=3 - n_threads)
    assert_array_equal(out, again)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_relevance__matches_reference(n_threads):
    """Adaptive focus's response weights (section (f)) against ``focus.relevance``, with PPIs
    at 0, 1 (clipped at 1 - 1e-16) and tiny."""
    rng = np.random.default_rng(8)
    g = rng.uniform(0.0, 1e-3, (40, 300))
    g[0, :3] = [0.0, 1.0, 1e-300]
    g[1] = rng.uniform(0.0, 1.0, 300)
    out = np.empty(40)
    _probit.relevance(g, out, n_threads=n_threads)
    assert_allclose(out, focus.relevance(g), rtol=1e-12, atol=1e-300)
    again = np.empty(40)
    _probit.relevance(g, again, n_threads=3 - n_threads)
    assert_array_equal(out, again)
