"""The block extremes of ``vibank.ld.eigenvalues``: the Lanczos path against LAPACK's exact
eigenvalues on panel LD (hard window, int16, not positive semi-definite), its fallback, and the
VIPRS block ridge computed through either path."""

import numpy as np
import pytest
import scipy.sparse as sp
from simulated import correlated_genotypes, small_panel_problem, standardised

import vibank.ld.eigenvalues as eigenvalues
from vibank.io.ld_store import quantise
from vibank.ld import LDRows, SparseLD, extremal_eigenvalues
from vibank.ld.eigenvalues import lanczos_extremes
from vibank.prs import VIPRS


def _panel_ld(m, n_panel, *, window=None, seed=3, copy=0.9):
    """Unit-diagonal LD of an ``n_panel``-person panel over ``m`` variants, int16 values times
    their scale, pairs more than ``window`` variants apart set to 0 (a hard window)."""
    x = standardised(correlated_genotypes(np.random.default_rng(seed), n_panel, m, copy=copy))
    r = x.T @ x / n_panel
    if window is not None:
        r[np.abs(np.subtract.outer(np.arange(m), np.arange(m))) > window] = 0.0
    np.fill_diagonal(r, 0.0)
    r = quantise(r, np.int16).astype(np.float64) / 32767
    return r + np.eye(m)


@pytest.mark.parametrize("window, n_panel", [(150, 80), (400, 200), (None, 100)])
def test_lanczos_extremes__equal_exact_eigenvalues(window, n_panel):
    dense = _panel_ld(1300, n_panel, window=window)
    exact = np.linalg.eigvalsh(dense)
    found = lanczos_extremes(dense)
    assert found is not None  # converged, not the fallback
    width = exact[-1] - exact[0]
    assert abs(found[0] - exact[0]) <= 1e-10 * width
    assert abs(found[1] - exact[-1]) <= 1e-10 * width
    # Rayleigh-Ritz values bound the extremes from inside (up to rounding)
    assert found[0] >= exact[0] - 1e-12 and found[1] <= exact[-1] + 1e-12
    if window is not None:
        assert exact[0] < -0.05  # the case of the ridge: a windowed small panel is not PSD


def test_lanczos_extremes__none_when_not_converged_or_too_small():
    dense = _panel_ld(1300, 80, window=150)
    assert lanczos_extremes(dense, max_steps=20) is None
    assert lanczos_extremes(np.eye(2)) is None
    assert lanczos_extremes(np.eye(50), max_steps=10) is None  # one eigenvalue: beta is 0


def test_extremes__small_blocks_and_unconverged_blocks_get_exact_eigenvalues(monkeypatch):
    dense = _panel_ld(1300, 80, window=150)
    exact = np.linalg.eigvalsh(dense)
    calls = []
    lanczos = eigenvalues.lanczos_extremes
    monkeypatch.setattr(eigenvalues, "lanczos_extremes",
                        lambda d, **k: calls.append(len(d)) or lanczos(d, **k))
    small = dense[:600, :600]
    assert eigenvalues._extremes(small) == tuple(np.linalg.eigvalsh(small)[[0, -1]])
    assert calls == []  # below LANCZOS_MIN
    monkeypatch.setattr(eigenvalues, "LANCZOS_STEP_DIVISOR", 200)  # 6 steps: never converges
    assert eigenvalues._extremes(dense) == (exact[0], exact[-1])  # the exact values, bit for bit
    assert eigenvalues._extremes(sp.csr_matrix(dense)) == (exact[0], exact[-1])
    assert calls == [1300, 1300]


def test_extremal_eigenvalues__lanczos_blocks_equal_exact_and_any_thread_count(monkeypatch):
    m = 2600
    dense = _panel_ld(m, 120, window=200, seed=5)
    lengths = np.minimum(200, m - 1 - np.arange(m))
    data = np.concatenate([dense[j, j + 1:j + 1 + lengths[j]] for j in range(m)])
    band = SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m)  # the hard window
    blocks = [(0, 1300), (1300, m)]
    found = []
    lanczos = eigenvalues.lanczos_extremes
    monkeypatch.setattr(eigenvalues, "lanczos_extremes",
                        lambda d, **k: found.append(lanczos(d, **k)) or found[-1])
    one = extremal_eigenvalues(band, blocks, n_threads=1)
    two = extremal_eigenvalues(band, blocks, n_threads=2)
    assert len(found) == 4 and None not in found  # every block by Lanczos, converged
    assert one == two
    monkeypatch.setattr(eigenvalues, "LANCZOS_MIN", m + 1)  # every block exact
    exact = extremal_eigenvalues(band, blocks)
    for fast, slow in zip(one, exact):
        assert (fast["start"], fast["stop"]) == (slow["start"], slow["stop"])
        assert fast["min"] == pytest.approx(slow["min"], abs=1e-9)
        assert fast["max"] == pytest.approx(slow["max"], abs=1e-9)
        assert slow["min"] < 0


def test_fit__block_ridge_by_lanczos_equals_the_exact_one(monkeypatch):
    """The VIPRS block ridge (-lambda_min + 0.01 per block) from the Lanczos extremes gives the
    fit of the exact eigenvalues, to the solver's tolerance."""
    problem = small_panel_problem()
    used = []
    lanczos = eigenvalues.lanczos_extremes
    monkeypatch.setattr(eigenvalues, "lanczos_extremes",
                        lambda d, **k: used.append(lanczos(d, **k)) or used[-1])
    monkeypatch.setattr(eigenvalues, "LANCZOS_MIN", 100)  # the 400-variant block by Lanczos
    monkeypatch.setattr(eigenvalues, "LANCZOS_STEP_DIVISOR", 1)
    fast = VIPRS(max_iter=500).fit(problem["b"], 5000, LDRows.from_csr(problem["ld"]))
    assert len(used) == 1 and used[0] is not None
    monkeypatch.setattr(eigenvalues, "LANCZOS_MIN", 10**6)
    exact = VIPRS(max_iter=500).fit(problem["b"], 5000, LDRows.from_csr(problem["ld"]))
    assert len(used) == 1
    assert exact.ridge_.max() > 0
    np.testing.assert_allclose(fast.ridge_, exact.ridge_, rtol=0, atol=1e-10)
    assert fast.result_.n_iter == exact.result_.n_iter
    np.testing.assert_allclose(fast.eta_, exact.eta_, rtol=1e-7, atol=1e-10)
    assert fast.h2_ == pytest.approx(exact.h2_, rel=1e-8)
