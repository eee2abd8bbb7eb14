"""Summary-statistics VIPRS with in-sample LD equals individual-level CAVI (prs_vi.md §2)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from vibank.prs import VIPRS
from vibank.prs._reference import cavi_individual

N, M, N_ITER = 2000, 500, 15


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(21)
    x = rng.binomial(2, rng.uniform(0.05, 0.5, M), size=(N, M)).astype(float)
    for j in range(1, M):  # LD between neighbours
        copy = rng.random(N) < 0.5
        x[copy, j] = x[copy, j - 1]
    x = (x - x.mean(0)) / x.std(0)
    beta = np.where(rng.random(M) < 0.02, rng.normal(0, 0.15, M), 0.0)
    y = x @ beta + rng.standard_normal(N) * 0.8
    y = (y - y.mean()) / y.std()
    r = x.T @ x / N
    np.fill_diagonal(r, 0.0)
    freq = rng.uniform(0.05, 0.5, M)  # allele frequencies for the alpha prior
    return {"x": x, "y": y, "b": x.T @ y / N, "ld": sp.csr_matrix(r), "beta": beta, "freq": freq}


def _fit(data, prior="spike_slab", **kw):
    """N_ITER plain VEM iterations (each one against the individual-level CAVI's)."""
    model = VIPRS(prior, pi=0.05, sigma2_beta=0.005, sigma2_eps=0.8, max_iter=N_ITER, tol_eta=0.0,
                  tol_elbo=0.0, tol_elbo_abs=0.0, accelerate="none", **kw)
    return model.fit(data["b"], N, data["ld"], allele_frequency=data["freq"])


# prior, VIPRS options, the same prior for the individual-level reference
PRIORS = {
    "spike_slab": ({}, {}),
    "mixture": ({"n_components": 3}, {"multipliers": (1.0, 0.1, 0.01)}),
    "mixture-scale": ({"n_components": 3, "update_components": False},
                      {"multipliers": (1.0, 0.1, 0.01), "update_components": False}),
    "alpha": ({"alpha": -0.25}, {"alpha": -0.25}),
}


@pytest.mark.parametrize("case", list(PRIORS))
def test_viprs__sumstats_fit_equals_individual_level_cavi(data, case):
    """Every eta, gamma, mu and hyperparameter and the ELBO trace to 1e-8, for every prior."""
    options, ref_options = PRIORS[case]
    prior = case.split("-")[0]
    model = _fit(data, prior, **options)
    if prior == "alpha":
        het = 2 * data["freq"] * (1 - data["freq"])
        ref_options = {"slab_weights": het ** (1 + ref_options["alpha"])}
    ref = cavi_individual(data["x"], data["y"], pi=0.05, sigma2_beta=0.005, sigma2_eps=0.8,
                          n_iter=N_ITER, **ref_options)
    assert model.result_.n_iter == N_ITER
    for ours, theirs in [(model.eta_, ref["eta"]), (model.gamma_, ref["gamma"]),
                         (model.mu_, ref["mu"]), (model.var_mu_, ref["var_mu"])]:
        assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8)
    assert model.pi_ == pytest.approx(ref["pi"], rel=1e-8)
    assert_allclose(model.pi_components_, ref["pis"], rtol=1e-8)
    assert_allclose(model.sigma2_components_, ref["sigma2"], rtol=1e-8)
    assert model.sigma2_eps_ == pytest.approx(ref["sigma2_eps"], rel=1e-8)
    assert_allclose(model.elbo_history_, ref["elbo"], rtol=1e-8)


@pytest.mark.parametrize("prior", ["mixture", "alpha"])
def test_viprs__elbo_non_decreasing_for_every_prior(data, prior):
    model = VIPRS(prior, max_iter=300, fit_alpha=prior == "alpha", accelerate="none").fit(
        data["b"], N, data["ld"], allele_frequency=data["freq"])
    elbo = np.array(model.elbo_history_)
    assert np.all(np.diff(elbo) >= -1e-8 * np.abs(elbo[1:]))
    assert model.result_.stop_reason == "converged"
    assert np.corrcoef(model.eta_, data["beta"])[0, 1] > 0.8


def test_viprs__elbo_non_decreasing_and_recovers_effects(data):
    model = VIPRS(max_iter=300, accelerate="none").fit(data["b"], N, data["ld"])
    elbo = np.array(model.elbo_history_)
    assert np.all(np.diff(elbo) >= -1e-8 * np.abs(elbo[1:]))
    assert model.result_.success and model.result_.stop_reason == "converged"
    assert np.corrcoef(model.eta_, data["beta"])[0, 1] > 0.8
    assert 0 < model.h2_ < 1


@pytest.mark.parametrize("prior", ["spike_slab", "mixture", "alpha"])
def test_viprs__squarem_reaches_the_plain_iterations_fixed_point(data, prior):
    """SQUAREM (the default) ends where plain VEM iterations end, in fewer iterations: the same
    effects and h2, an ELBO at least as high (the mixture's small slabs drift on a plateau the
    plain iterations stop on earlier); an accepted extrapolation never lowers the ELBO by more
    than tol_elbo_abs."""
    kw = dict(max_iter=1000, fit_alpha=prior == "alpha")
    plain = VIPRS(prior, accelerate="none", **kw).fit(data["b"], N, data["ld"],
                                                      allele_frequency=data["freq"])
    fast = VIPRS(prior, **kw).fit(data["b"], N, data["ld"], allele_frequency=data["freq"])
    assert plain.result_.stop_reason == fast.result_.stop_reason == "converged"
    history = fast.result_.history
    assert any(h["squarem"].startswith("extrapolated") for h in history)
    assert fast.result_.n_iter < plain.result_.n_iter
    assert fast.result_.elbo >= plain.result_.elbo - 1e-3
    assert_allclose(fast.eta_, plain.eta_, rtol=0, atol=1e-4)
    assert fast.h2_ == pytest.approx(plain.h2_, abs=1e-3)
    accepted = [h["elbo"] for h in history if not h["squarem"].startswith("rejected")]
    assert np.all(np.diff(accepted) >= -1e-3)


def test_viprs__rejected_extrapolations_restore_the_state(data):
    """When every extrapolation is rejected (its ELBO forced down here), the fit goes on from
    the state before each one: it ends where plain iterations end, to the last bit, having
    spent the rejected iterations on top."""

    class Rejecting(VIPRS):
        def _set_point(self, *point):
            super()._set_point(*point)
            self._extrapolated = True

        def elbo(self):
            value = super().elbo()
            if getattr(self, "_extrapolated", False):
                self._extrapolated = False
                return value - 1.0
            return value

    plain = VIPRS(accelerate="none").fit(data["b"], N, data["ld"])
    rejecting = Rejecting().fit(data["b"], N, data["ld"])
    rejected = [h for h in rejecting.result_.history if h["squarem"].startswith("rejected")]
    assert rejected and not any(h["squarem"].startswith("extrapolated")
                                for h in rejecting.result_.history)
    assert rejecting.result_.n_iter == plain.result_.n_iter + len(rejected)
    np.testing.assert_array_equal(rejecting.eta_, plain.eta_)
    np.testing.assert_array_equal(rejecting.gamma_, plain.gamma_)
    assert rejecting.result_.elbo == plain.result_.elbo and rejecting.h2_ == plain.h2_


@pytest.mark.parametrize("n_threads", [1, 2])
def test_viprs__float32_close_to_float64(data, n_threads):
    m64 = _fit(data)
    m32 = _fit(data, dtype=np.float32, n_threads=n_threads)
    assert_allclose(m32.eta_, m64.eta_, atol=1e-4)
    assert m32.h2_ == pytest.approx(m64.h2_, rel=1e-3)


def test_viprs__fixed_hyperparameters_stay(data):
    model = VIPRS(pi=0.01, fix=("pi",), max_iter=20).fit(data["b"], N, data["ld"])
    assert model.pi_ == 0.01
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        VIPRS(fix=("tau",)).fit(data["b"], N, data["ld"])
