"""The elementwise atlasQTL kernels (``_kernels._probit``) against their NumPy twins: the probit
refresh with log Phi, Mills ratios and the sums of Z (steps 12 and 7, with and without the
log-odds, and the log-odds of given rows), the change of the Z sums after a sweep, the
per-response sums of each response's own block (steps 1, 2, 6), the entropy of q(gamma) (ELBO
term B) and the adaptive-focus relevance, over 1 and 2 threads, including |m| beyond 30; and the
inlined special functions they use (``_probit.special``) against scipy and NumPy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erfcx

from vibank.qtl import _reference, focus
from vibank.qtl._kernels import _probit
from vibank.qtl.model import ENTROPY_EPS


def _propensities(extreme):
    rng = np.random.default_rng(5)
    theta = rng.normal(0.0, 1.0, 300)
    zeta = rng.normal(-3.0, 0.8, 64)
    if extreme:  # both tails, beyond |m| = 30 and either side of erfcx's split (|m| = 8 sqrt 2)
        theta[:8] = [-45.0, -31.0, -11.5, -11.2, 11.2, 11.5, 31.0, 45.0]
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
    # for |m| up to 45 the twin's Mills ratios (through scipy's log_ndtr) carry up to 3e-13
    # relative error, the kernel's (through erfcx) 6e-16 (both checked against mpmath, 60 digits)
    rtol = 2e-12 if extreme else 1e-12
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


def _special(name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _probit.special(name, x, out)
    return out


def _ulps(a, b):
    """|a - b| in units in the last place of b."""
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_special__erfcx_matches_scipy():
    """erfcx over 0..1e300: the polynomial in K / (K + x) below 8, the continued fraction from 8
    on (both sides of the split to the last bit), tiny and huge x. Both are ~9e-16 from mpmath,
    so they differ from each other by as much: measured 9e-16, bound 2e-15."""
    rng = np.random.default_rng(11)
    x = np.concatenate([np.linspace(0.0, 12.0, 60_001), rng.uniform(0.0, 1e3, 20_000),
                        10.0 ** rng.uniform(-300.0, 300.0, 20_000),
                        np.nextafter(8.0, [0.0, 9.0]),
                        [0.0, 5e-324, 1e-300, 1e-17, 8.0, 1e3, 1e8, 1e150]])
    assert_allclose(_special("erfcx", x), erfcx(x), rtol=2e-15, atol=0.0)


def test_special__exp_matches_numpy():
    """exp within 1 ulp of NumPy's for normal results (bound 2), to the smallest subnormal
    below -708.4, and exactly 0 from -745.2 on (the tails of Phi underflow as in libm)."""
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.uniform(-708.3, 709.78, 50_000), rng.uniform(-1.0, 1.0, 10_000),
                        [0.0, -0.0, 1e-300, -1e-300, 709.78]])
    assert np.all(_ulps(_special("exp", x), np.exp(x)) <= 2.0)
    low = np.concatenate([rng.uniform(-745.1, -708.4, 10_000), [-745.13, -744.44]])
    assert np.all(np.abs(_special("exp", low) - np.exp(low)) <= 5e-324)
    under = np.array([-745.2, -746.0, -800.0, -1e5, -1e300, -np.inf])
    assert np.all(np.exp(under) == 0.0)
    assert np.all(_special("exp", under) == 0.0)


def test_special__log_matches_numpy():
    """log within 1 ulp of NumPy's (bound 2), subnormal arguments included; log(1) = 0."""
    rng = np.random.default_rng(13)
    v = np.concatenate([10.0 ** rng.uniform(-300.0, 300.0, 50_000),
                        rng.uniform(0.5, 2.0, 20_000),
                        [5e-324, 1e-310, 2.2250738585072014e-308, np.nextafter(1.0, 0.0),
                         np.nextafter(1.0, 2.0), 1.7976931348623157e308]])
    assert np.all(_ulps(_special("log", v), np.log(v)) <= 2.0)
    assert _special("log", np.ones(1))[0] == 0.0


def test_special__log1m_matches_log1p():
    """log(1 - t) for 0 <= t <= 1/2 (the larger probability's log) within 2 ulp of
    np.log1p(-t), down to subnormal t, where log1p(-t) = -t."""
    rng = np.random.default_rng(14)
    t = np.concatenate([rng.uniform(0.0, 0.5, 50_000), 10.0 ** rng.uniform(-320.0, -0.31, 20_000),
                        [5e-324, 1e-17, 1.1e-16, 0.5]])
    assert np.all(_ulps(_special("log1m", t), np.log1p(-t)) <= 2.0)
    assert _special("log1m", np.zeros(1))[0] == 0.0
