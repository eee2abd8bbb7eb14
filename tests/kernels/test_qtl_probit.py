"""The elementwise atlasQTL kernels (``_kernels._probit``) against their NumPy twins: the probit
refresh with log Phi, Mills ratios and the sums of Z (steps 12 and 7, with and without the
log-odds, and the log-odds of given rows), the change of the Z sums after a sweep, the
per-response sums of each response's own block (steps 1, 2, 6), the entropy of q(gamma) (ELBO
term B) and the adaptive-focus relevance, over 1 and 2 threads, including |m| beyond 30."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

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


def _refreshed(theta, zeta, n_threads, g=None, logs=True, lpd=None):
    """probit_refresh's outputs: lpd, mills_diff, z_row, z_col (blocks summed), probit_sum."""
    q, p = len(zeta), len(theta)
    g = np.full((q, p), 0.5) if g is None else g
    lpd = np.empty((q, p)) if lpd is None else lpd
    diff, z_row, parts = np.empty((q, p)), np.empty(q), np.empty((-(-q // _probit.ROWS), p))
    probit_sum = np.full(q, 7.0)
    _probit.probit_refresh(theta, zeta, g, lpd, diff, z_row, parts, probit_sum, logs,
                           n_threads=n_threads)
    return lpd, diff, z_row, parts.sum(axis=0), probit_sum


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("q", [64, 150])
def test_probit_refresh__matches_reference(n_threads, extreme, q):
    """Log-odds, Mills ratios, the sums of Z and the probit sums against the twins; q = 150
    leaves a partial block of responses; nothing depends on the thread count."""
    theta, zeta, rng = _propensities(extreme)
    zeta = np.resize(zeta, q)
    g = rng.uniform(0.0, 1.0, (q, len(theta)))
    lpd, diff, z_row, z_col, probit_sum = _refreshed(theta, zeta, n_threads, g)
    lpd_ref, pos, neg, sum_ref = _reference.probit_refresh(theta, zeta, g)
    # beyond |m| = 30 the twin's Mills ratios (through scipy's log_ndtr) carry ~5e-12 relative
    # error, the kernel's series ~6e-13 (both checked against mpmath at 60 digits)
    rtol = 2e-11 if extreme else 1e-12
    # lpd = log Phi(m) - log Phi(-m) cancels near m = 0: absolute rounding of the two logs
    assert_allclose(lpd, lpd_ref, rtol=rtol, atol=1e-14)
    assert_allclose(diff, pos - neg, rtol=rtol, atol=1e-300)
    assert_allclose(probit_sum, sum_ref, rtol=rtol)
    row_ref, col_ref = _reference.latent_sums(theta, zeta, g)
    # Z = m + g * (about -m) cancels for |m| ~ 30: absolute error ~30 x that of the ratios
    assert_allclose(z_row, row_ref, rtol=1e-12, atol=1e-8)
    assert_allclose(z_col, col_ref, rtol=1e-12, atol=1e-8)
    for a, b in zip((lpd, diff, z_row, z_col, probit_sum),
                    _refreshed(theta, zeta, 3 - n_threads, g)):
        assert_array_equal(a, b)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_probit_refresh__without_logs(n_threads):
    """Without ``logs`` step 12 writes the same Mills ratios and Z sums and leaves lpd and the
    probit sums alone; ``probit_lpd`` then gives the swept rows the log-odds the full refresh
    writes."""
    theta, zeta, rng = _propensities(True)
    q, p = len(zeta), len(theta)
    g = rng.uniform(0.0, 1.0, (q, p))
    full = _refreshed(theta, zeta, n_threads, g)
    lpd = np.full((q, p), 7.0)
    partial = _refreshed(theta, zeta, n_threads, g, logs=False, lpd=lpd)
    for a, b in zip(partial[1:4], full[1:4]):
        assert_array_equal(a, b)
    assert np.all(lpd == 7.0) and np.all(partial[4] == 7.0)
    units = np.array([0, 5, 17, q - 1], dtype=np.int64)
    _probit.probit_lpd(theta, zeta, units, lpd, n_threads=n_threads)
    assert_array_equal(lpd[units], full[0][units])
    assert np.all(np.delete(lpd, units, axis=0) == 7.0)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_units", [3, 70, 150])
def test_latent_update__matches_reference(n_threads, n_units):
    """The Z sums step 12 leaves, moved by a sweep that changes the PPIs of ``units``, equal the
    sums recomputed with the new PPIs (Z is linear in g); 70 units leave a partial block; the
    result does not depend on the thread count."""
    theta, zeta, rng = _propensities(True)
    q = 150
    zeta = np.resize(zeta, q)
    g_old = rng.uniform(0.0, 1.0, (q, len(theta)))
    _, diff, z_row, z_col, _ = _refreshed(theta, zeta, 1, g_old)
    units = np.sort(rng.choice(q, n_units, replace=False)).astype(np.int64)
    g = g_old.copy()
    g[units] = rng.uniform(0.0, 1.0, (n_units, len(theta)))
    outs = []
    for threads in (n_threads, 3 - n_threads):
        row, parts = z_row.copy(), np.empty((-(-n_units // _probit.ROWS), len(theta)))
        _probit.latent_update(g, g_old[units], units, diff, row, parts, n_threads=threads)
        outs.append((row, z_col + parts.sum(axis=0)))
    row_ref, col_ref = _reference.latent_sums(theta, zeta, g)
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


def _blocks(with_na):
    rng = np.random.default_rng(9)
    q, p = 37, 210
    g = rng.uniform(0.0, 1.0, (q, p))
    mu = rng.normal(0.0, 0.3, (q, p))
    diag = np.full((q, p), 1999.0)
    if with_na:  # a diagonal that varies along a response
        diag[3] -= rng.integers(0, 50, p)
    ytx, gb = rng.normal(0.0, 10.0, (q, p)), rng.normal(0.0, 10.0, (q, p))
    return g, mu, diag, g * mu, ytx, gb


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("with_na", [False, True])
def test_response_sums__matches_reference(n_threads, with_na):
    """Per-response sums of each response's own block against the twin, written for the given
    responses only (the columns of the others are left as they were); with s2b they give the
    sums of m2 and diag m2 of ``_reference.local_sums``."""
    g, mu, diag, bbar, ytx, gb = _blocks(with_na)
    q = g.shape[0]
    units = np.array([0, 3, 4, 20, q - 1], dtype=np.int64)
    out, again = np.full((7, q), 7.0), np.full((7, q), 7.0)
    _probit.response_sums(g, mu, diag, bbar, ytx, gb, units, out, n_threads=n_threads)
    _probit.response_sums(g, mu, diag, bbar, ytx, gb, units, again, n_threads=3 - n_threads)
    ref = _reference.response_sums(g, mu, diag, bbar, ytx, gb)
    assert_allclose(out[:, units], ref[:, units], rtol=1e-12)
    assert_array_equal(out, again)
    assert np.all(np.delete(out, units, axis=1) == 7.0)
    # the m2 sums from the cached parts and a slab variance constant along each response
    s2b = np.random.default_rng(2).uniform(1e-4, 1e-3, q)
    local = _reference.local_sums(g, mu, np.repeat(s2b[:, None], g.shape[1], axis=1), diag,
                                  bbar, ytx, gb)
    assert_allclose(ref[1] + s2b * ref[0], local[1], rtol=1e-12)
    assert_allclose(ref[2] + s2b * ref[3], local[2], rtol=1e-12)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_entropy_sums__matches_reference(n_threads):
    """The entropy of q(gamma) per response against the twin, with PPIs at 0, 1 and tiny, for
    the given responses only."""
    rng = np.random.default_rng(4)
    g = rng.uniform(0.0, 1.0, (30, 200))
    g[0, :3] = [0.0, 1.0, 1e-300]
    units = np.array([0, 2, 29], dtype=np.int64)
    out, again = np.full(30, 7.0), np.full(30, 7.0)
    _probit.entropy_sums(g, units, ENTROPY_EPS, out, n_threads=n_threads)
    _probit.entropy_sums(g, units, ENTROPY_EPS, again, n_threads=3 - n_threads)
    assert_allclose(out[units], _reference.entropy_sums(g, ENTROPY_EPS)[units], rtol=1e-12)
    assert_array_equal(out, again)
    assert np.all(np.delete(out, units) == 7.0)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_relevance__matches_reference(n_threads):
    """Adaptive focus's response weights (section (f)) against ``focus.relevance``, with PPIs
    at 0, 1 (clipped at 1 - 1e-16) and tiny."""
    rng = np.random.default_rng(8)
    g = rng.uniform(0.0, 1e-3, (40, 300))
    g[0, :3] = [0.0, 1.0, 1e-300]
    g[1] = rng.uniform(0.0, 1.0, 300)
    units = np.arange(40, dtype=np.int64)
    out = np.empty(40)
    _probit.relevance(g, units, out, n_threads=n_threads)
    assert_allclose(out, focus.relevance(g), rtol=1e-12, atol=1e-300)
    again = np.full(40, 7.0)
    _probit.relevance(g, units[::3].copy(), again, n_threads=3 - n_threads)
    assert_array_equal(out[::3], again[::3])
    assert np.all(np.delete(again, units[::3]) == 7.0)
