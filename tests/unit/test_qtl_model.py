"""AtlasQTL fits (pqtl_afcavi.md (c)-(f)): monotone ELBO in every mode, AF with epsilon = 1 equal
to full CAVI, recovery of simulated hotspot QTLs, preprocessing, one-line input errors, and the
per-response caches of adaptive focus equal to a recomputation."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import digamma
from sklearn.metrics import roc_auc_score

from vibank.errors import VibankError
from vibank.qtl import AtlasQTL, ConvergenceWarning, _reference, focus
from vibank.qtl.model import ENTROPY_EPS
from vibank.simulate import simulate_protein_panel


def _genotypes(n, p, seed):
    rng = np.random.default_rng(seed)
    return rng.binomial(2, rng.uniform(0.05, 0.5, p), size=(n, p)).astype(float)


@pytest.fixture(scope="module")
def small():
    """n=200, p=60, q=40 panel with hotspots (fast fits)."""
    x = _genotypes(200, 60, 3)
    panel = simulate_protein_panel(x, 40, active_variant_fraction=0.05,
                                   active_protein_fraction=0.3, mean_pve=0.2, seed=4)
    return x, panel


@pytest.fixture(scope="module")
def recovery():
    """The acceptance problem: p=200, q=100, n=500, full vs adaptive fits."""
    x = _genotypes(500, 200, 7)
    panel = simulate_protein_panel(x, 100, active_variant_fraction=0.025,
                                   active_protein_fraction=0.3, mean_pve=0.15, seed=2)
    fits = {mode: AtlasQTL(cavi=mode, seed=3).fit(x, panel.Y) for mode in ("full", "adaptive")}
    return panel, fits


def _auroc(panel, fit):
    return roc_auc_score(panel.associations.ravel(), fit.gamma_.ravel())


@pytest.mark.parametrize("cavi, options", [
    ("full", {}), ("full", {"thinned_elbo": True}), ("random", {"start_partial": 15}),
    ("adaptive", {"start_partial": 15}), ("adaptive", {"thinned_elbo": False, "start_partial": 15}),
    ("adaptive", {"epsilon_scheme": "ELBO", "start_partial": 15}),
    ("adaptive", {"epsilon_scheme": "minimum", "min_epsilon": 0.05, "start_partial": 15}),
    ("adaptive", {"fix_size": 0.3, "start_partial": 15}),
])
def test_fit__elbo_non_decreasing_after_annealing(small, cavi, options):
    x, panel = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # includes the ELBO-drop ConvergenceWarning
        fit = AtlasQTL(cavi=cavi, seed=1, **options).fit(x, panel.Y)
    elbo = fit.elbo_history_
    assert fit.result_.stop_reason == "converged"
    assert len(elbo) >= 3 and fit.elbo_iterations_[0] == 10  # first untempered iteration
    assert np.all(np.diff(elbo) >= -1e-8 * np.abs(elbo[1:]))
    assert fit.result_.history[-1]["n_units"] == panel.Y.shape[1]  # ends on a full sweep
    assert fit.result_.elbo_diff <= 0.01
    if cavi != "full":
        assert min(r["n_units"] for r in fit.result_.history) < panel.Y.shape[1]


def test_fit__epsilon_one_reproduces_full_cavi(small):
    x, panel = small
    full = AtlasQTL(cavi="full", seed=9, start_partial=20).fit(x, panel.Y)
    af = AtlasQTL(cavi="adaptive", epsilon_scheme="minimum", min_epsilon=1.0, seed=9,
                  start_partial=20, thinned_elbo=False).fit(x, panel.Y)
    assert af.n_iter_ == full.n_iter_
    assert_array_equal(af.elbo_history_, full.elbo_history_)
    for name in ("gamma_", "beta_", "theta_", "zeta_", "tau_"):
        assert_array_equal(getattr(af, name), getattr(full, name))


def test_fit__full_cavi_evaluates_every_elbo(small):
    x, panel = small
    fit = AtlasQTL(cavi="full", seed=2, start_partial=12).fit(x, panel.Y)
    assert_array_equal(fit.elbo_iterations_, np.arange(10, fit.n_iter_ + 1))
    thinned = AtlasQTL(cavi="full", seed=2, start_partial=12, thinned_elbo=True).fit(x, panel.Y)
    assert len(thinned.elbo_history_) < thinned.n_iter_ - 9


@pytest.mark.parametrize("final_full_sweep", [True, False])
def test_fit__confirming_full_sweep(small, final_full_sweep):
    x, panel = small
    fit = AtlasQTL(cavi="adaptive", seed=2, start_partial=15, min_epsilon=0.0,
                   final_full_sweep=final_full_sweep).fit(x, panel.Y)
    last = fit.result_.history[-1]
    assert fit.result_.stop_reason == "converged"
    assert last["confirming"] == (fit.n_confirming_sweeps_ > 0 and final_full_sweep)
    if final_full_sweep:
        assert last["n_units"] == panel.Y.shape[1]
    else:
        assert fit.n_confirming_sweeps_ == 0


def test_fit__same_seed_same_result(small):
    x, panel = small
    a = AtlasQTL(seed=5, start_partial=15).fit(x, panel.Y)
    b = AtlasQTL(seed=5, start_partial=15).fit(x, panel.Y)
    c = AtlasQTL(seed=6, start_partial=15).fit(x, panel.Y)
    assert_array_equal(a.gamma_, b.gamma_)
    assert_array_equal(a.elbo_history_, b.elbo_history_)
    assert not np.array_equal(a.gamma_, c.gamma_)


def test_fit__threads_do_not_change_the_fit(small, monkeypatch):
    x, panel = small
    monkeypatch.setattr("vibank.qtl.model.MIN_PARALLEL_PAIRS", 0)  # threads even at this size
    a = AtlasQTL(seed=5, n_threads=1).fit(x, panel.Y)
    b = AtlasQTL(seed=5, n_threads=2).fit(x, panel.Y)
    assert_array_equal(a.gamma_, b.gamma_)


def test_fit__recovers_simulated_associations(recovery):
    panel, fits = recovery
    full, af = _auroc(panel, fits["full"]), _auroc(panel, fits["adaptive"])
    assert full > 0.95
    assert abs(af - full) < 1e-3
    # hotspot propensity ranks the active variants on top
    top = np.argsort(-fits["full"].theta_)[: len(panel.active_variants)]
    assert len(np.intersect1d(top, panel.active_variants)) >= len(panel.active_variants) - 1
    for fit in fits.values():
        assert fit.result_.success and fit.gamma_.shape == (200, 100)
        assert set(fit.seconds_) >= {"precompute", "loop", "elbo", "total"}


def test_fit__per_allele_effects(recovery):
    panel, fits = recovery
    fit = fits["full"]
    strong = fit.gamma_ > 0.99
    assert strong.sum() > 10
    # per-allele posterior means estimate the simulated per-allele effects
    assert np.corrcoef(fit.beta_per_allele_[strong], panel.beta[strong])[0, 1] > 0.95


def test_fit__removes_constant_and_duplicate_columns(small):
    x, panel = small
    xx = np.column_stack([x[:, :10], np.ones(len(x)), 2 * x[:, 3] + 1, x[:, 10:]])
    names = [f"v{j}" for j in range(xx.shape[1])]
    fit = AtlasQTL(seed=1).fit(xx, panel.Y, variant_names=names)
    assert fit.removed_constant_ == ["v10"]
    assert fit.removed_collinear_ == {"v11": "v3"}
    assert fit.gamma_.shape == (x.shape[1], panel.Y.shape[1])
    assert "v10" not in fit.variant_names_ and len(fit.variant_names_) == x.shape[1]
    # per-allele scaling uses the kept columns' sd (no misalignment, spec (k.8))
    assert_allclose(fit.beta_per_allele_, fit.beta_ / x.std(axis=0, ddof=1)[:, None])


def test_fit__missing_values(small):
    x, panel = small
    y = panel.Y.copy()
    rng = np.random.default_rng(0)
    y[rng.random(y.shape) < 0.1] = np.nan
    fit = AtlasQTL(seed=2, start_partial=15).fit(x, y)
    assert fit.result_.success
    assert np.all(np.diff(fit.elbo_history_) >= -1e-8 * np.abs(fit.elbo_history_[1:]))
    assert np.all(np.isfinite(fit.gamma_))


@pytest.mark.parametrize("case, pattern", [
    ("y_mostly_na", "observed"), ("y_column_na", "Resp_3"), ("x_nan", "X has 1 missing"),
    ("rows", "rows"), ("y_1d", "2-D"), ("mode", "cavi"), ("min_epsilon", "min_epsilon"),
])
def test_fit__bad_input(small, case, pattern):
    x, panel = small
    x, y = x.copy(), panel.Y.copy()
    kwargs = {}
    if case == "y_mostly_na":
        y[np.random.default_rng(0).random(y.shape) < 0.97] = np.nan
    elif case == "y_column_na":
        y[2:, 2] = np.nan
    elif case == "x_nan":
        x[5, 7] = np.nan
    elif case == "rows":
        y = y[:-3]
    elif case == "y_1d":
        y = y[:, 0]
    elif case == "mode":
        kwargs = {"cavi": "fast"}
    elif case == "min_epsilon":
        kwargs = {"min_epsilon": 1.5}
    with pytest.raises(VibankError, match=pattern) as err:
        AtlasQTL(max_iter=5, **kwargs).fit(x, y)
    assert "\n" not in str(err.value)


class _Checked(AtlasQTL):
    """AtlasQTL that compares, every iteration, what adaptive focus keeps cached or updates
    incrementally (per-response sums, entropy, relevance, Z sums, log-odds of the swept rows,
    slab variances) with the same
    quantities recomputed from the whole current state by the NumPy twins."""

    def _from_scratch_s2b(self):
        d, s = self._data, self._s
        return 1.0 / ((d.diag + s.sig2_inv) * (s.c_s2b * s.tau[:, None]))

    def core_loop(self, c, units, order):
        super().core_loop(c, units, order)
        s = self._s
        lpd = _reference.probit_refresh(s.theta, s.zeta, s.g)[0]  # m is unchanged by step 5
        self.gaps["lpd"] = max(self.gaps["lpd"], np.max(np.abs(s.lpd[units] - lpd[units]),
                                                         initial=0.0))
        s2b = self._from_scratch_s2b()
        rows = np.union1d(units, s.na_rows)
        assert_array_equal(s.s2b[rows], s2b[rows])
        self.n_swept.append(len(units))

    def update_local(self, c, units):
        super().update_local(c, units)
        d, s = self._data, self._s
        ref = _reference.response_sums(s.g, s.mu, d.diag, s.bbar, d.ytx, s.gb)
        sums = _reference.local_sums(s.g, s.mu, self._from_scratch_s2b(), d.diag, s.bbar, d.ytx,
                                     s.gb)
        z_row, z_col = _reference.latent_sums(s.theta, s.zeta, s.g, c)
        for name, ours, theirs in (("rsums", s.rsums, ref), ("sums", s.sums, sums),
                                   ("z", np.r_[s.z_row, s.z_col], np.r_[z_row, z_col])):
            gap = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0))
            self.gaps[name] = max(self.gaps[name], gap)

    def _select(self, partial_iteration, rng, elbo_diff):
        out = super()._select(partial_iteration, rng, elbo_diff)
        gap = np.max(np.abs(self._s.relevance - focus.relevance(self._s.g)))
        self.gaps["relevance"] = max(self.gaps["relevance"], gap)
        return out

    def elbo(self):
        value = super().elbo()
        d, h, s = self._data, self.hyper_, self._s
        g_sum, m2_sum = s.sums[0], s.sums[1]
        log_tau = digamma(h.eta + 0.5 * d.n_obs + 0.5 * g_sum) - np.log(
            h.kappa + 0.5 * self._residual_bracket(s.sig2_inv))
        log_sig = digamma(h.nu + 0.5 * g_sum.sum()) - np.log(h.rho + 0.5 * np.sum(s.tau * m2_sum))
        probit_sum = _reference.probit_refresh(s.theta, s.zeta, s.g)[3]
        ref = _reference.elbo_gamma_terms(s.g, self._from_scratch_s2b(), m2_sum, probit_sum,
                                          log_tau, s.tau, log_sig, s.sig2_inv, ENTROPY_EPS)
        ours = self._gamma_terms(g_sum, m2_sum, log_tau, log_sig)
        self.gaps["elbo"] = max(self.gaps["elbo"], np.max(np.abs(ours - ref) / np.abs(ref)))
        return value

    def fit(self, X, Y):
        self.gaps = dict.fromkeys(("lpd", "rsums", "sums", "z", "relevance", "elbo"), 0.0)
        self.n_swept = []
        return super().fit(X, Y)


@pytest.mark.parametrize("with_na", [False, True])
@pytest.mark.parametrize("thinned_elbo", [False, True])
def test_fit__cached_sums_equal_recomputation(small, with_na, thinned_elbo):
    """After every adaptive iteration, the cached per-response sums, entropy, relevance, the
    Z sums moved by the swept responses, the log-odds of the swept responses and their slab
    variances equal a recomputation from the whole state (tight tolerances: rounding only),
    also with NAs and with the thinned ELBO (log-odds then computed for the swept responses
    only)."""
    x, panel = small
    y = panel.Y.copy()
    if with_na:
        y[np.random.default_rng(0).random(y.shape) < 0.05] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 60 iterations are enough here
        fit = _Checked(cavi="adaptive", seed=2, start_partial=15, thinned_elbo=thinned_elbo,
                       max_iter=60).fit(x, y)
    assert min(fit.n_swept) < y.shape[1]  # partial sweeps happened
    assert fit.gaps["lpd"] < 1e-13
    assert fit.gaps["rsums"] < 1e-12 and fit.gaps["sums"] < 1e-12 and fit.gaps["z"] < 1e-12
    assert fit.gaps["relevance"] < 1e-13 and fit.gaps["elbo"] < 1e-12


class _Uncached(AtlasQTL):
    """AtlasQTL recomputing everything adaptive focus caches, for every response, every
    iteration (what the fit did before the caches)."""

    def update_slab_variance(self, c, units):
        super().update_slab_variance(c, np.arange(len(self._s.tau), dtype=np.int64))

    def _local_sums(self, units):
        super()._local_sums(np.arange(len(self._s.g), dtype=np.int64))

    def _refresh_probit(self, logs):
        super()._refresh_probit(True)

    def core_loop(self, c, units, order):
        super().core_loop(c, units, order)
        self._s.stale_entropy[:] = True
        self._s.stale_relevance[:] = True


@pytest.mark.parametrize("options", [{}, {"thinned_elbo": False}, {"fix_size": 0.3}])
def test_fit__caches_do_not_change_the_fit(small, options):
    """Adaptive focus with its caches gives the fit that recomputing everything every
    iteration gives, bitwise: the cached values are the values a recomputation returns."""
    x, panel = small
    a = AtlasQTL(cavi="adaptive", seed=4, start_partial=15, **options).fit(x, panel.Y)
    b = _Uncached(cavi="adaptive", seed=4, start_partial=15, **options).fit(x, panel.Y)
    assert a.n_iter_ == b.n_iter_
    assert min(r["n_units"] for r in a.result_.history) < panel.Y.shape[1]
    assert_array_equal(a.elbo_history_, b.elbo_history_)
    for name in ("gamma_", "mu_", "s2b_", "theta_", "zeta_", "tau_"):
        assert_array_equal(getattr(a, name), getattr(b, name))
