"""VIPRS priors (mixture, alpha) and genome-wide fits with shared hyperparameters."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from vibank.ld import LDRows, SparseLD
from vibank.prs import VIPRS

N = 3000


def _chromosome(seed, m=250):
    """In-sample banded LD (as band rows and CSR), b, allele frequencies of one chromosome."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.5, m)
    x = rng.binomial(2, freq, size=(N, m)).astype(float)
    for j in range(1, m):
        copy = rng.random(N) < 0.6
        x[copy, j] = x[copy, j - 1]
    x = (x - x.mean(0)) / x.std(0)
    beta = np.where(rng.random(m) < 0.03, rng.normal(0, 0.15, m), 0.0)
    y = x @ beta + rng.standard_normal(N)
    y = (y - y.mean()) / y.std()
    r = x.T @ x / N
    width = 20
    lengths = np.minimum(width, m - 1 - np.arange(m))
    data = np.concatenate([r[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = LDRows.from_upper(SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m))
    return {"b": x.T @ y / N, "band": band, "csr": band.to_scipy(), "freq": freq,
            "beta": beta}


@pytest.fixture(scope="module")
def chromosomes():
    return [_chromosome(1), _chromosome(2, m=180), _chromosome(3, m=300)]


def _fixed(**kw):
    return VIPRS(pi=0.03, sigma2_beta=0.003, sigma2_eps=0.8, fix=("pi", "sigma2_beta", "sigma2_eps"),
                 max_iter=40, tol_eta=0.0, tol_elbo=0.0, tol_elbo_abs=0.0, **kw)


def test_genome_wide__fixed_hyperparameters_equal_separate_chromosome_fits(chromosomes):
    together = _fixed().fit([c["b"] for c in chromosomes], [N] * 3, [c["band"] for c in chromosomes])
    separate = np.concatenate([_fixed().fit(c["b"], N, c["band"]).eta_ for c in chromosomes])
    assert_allclose(together.eta_, separate, rtol=1e-12, atol=1e-15)
    # the chromosome boundaries are segments the E-step may run in parallel
    sizes = np.cumsum([0] + [len(c["b"]) for c in chromosomes])
    assert set(sizes) <= set(together.segments_)


def test_genome_wide__shares_hyperparameters_and_is_thread_count_independent(chromosomes):
    args = ([c["b"] for c in chromosomes], [N] * 3, [c["band"] for c in chromosomes])
    one = VIPRS(n_threads=1).fit(*args)
    two = VIPRS(n_threads=2).fit(*args)
    assert_array_equal(one.eta_, two.eta_)
    assert one.elbo_history_ == two.elbo_history_
    # one pi for the genome: the mean of all the inclusion probabilities
    assert one.pi_ == pytest.approx(np.mean(one.pip_), rel=1e-12)
    # the same as one fit on the block-diagonal matrix
    block = VIPRS().fit(np.concatenate(args[0]), N, sp.block_diag([c["csr"] for c in chromosomes]))
    assert_allclose(block.eta_, one.eta_, rtol=1e-10, atol=1e-13)


def test_concatenate_ld__band_rows_stay_band_rows(chromosomes):
    cat = LDRows.concatenate([c["band"] for c in chromosomes])
    assert cat.layout == "band"
    assert cat.parts == [len(c["b"]) for c in chromosomes]
    dense = sp.block_diag([c["csr"] for c in chromosomes]).toarray()
    assert_allclose(cat.to_scipy().toarray(), dense)
    csr = LDRows.concatenate([c["csr"] for c in chromosomes])
    assert csr.layout == "csr"
    assert_allclose(csr.to_scipy().toarray(), dense)
    with pytest.raises(ValueError, match="value types"):
        LDRows.concatenate([chromosomes[0]["band"], chromosomes[0]["csr"].astype(np.float32)])


def test_independent_segments__csr_and_band_agree(chromosomes):
    c = chromosomes[0]
    csr = LDRows.of(c["csr"])
    assert c["band"].layout == "band" and csr.layout == "csr"
    assert_array_equal(c["band"].segments, csr.segments)
    assert c["band"].segments[-1] == len(c["b"])


def test_mixture__one_component_is_spike_and_slab(chromosomes):
    c = chromosomes[0]
    mix = VIPRS("mixture", n_components=1).fit(c["b"], N, c["band"])
    ss = VIPRS("spike_slab").fit(c["b"], N, c["band"])
    assert_allclose(mix.eta_, ss.eta_, rtol=1e-9, atol=1e-12)
    assert mix.h2_ == pytest.approx(ss.h2_, rel=1e-9)


def test_mixture__components_and_inclusion_probabilities(chromosomes):
    c = chromosomes[0]
    model = VIPRS("mixture", n_components=4).fit(c["b"], N, c["band"])
    assert model.gamma_.shape == (len(c["b"]), 4)
    assert_allclose(model.pip_, model.gamma_.sum(axis=1))
    assert np.all(model.pip_ <= 1 + 1e-12)
    assert model.pi_ == pytest.approx(model.pi_components_.sum())
    assert_allclose(model.eta_, np.sum(model.gamma_ * model.mu_, axis=1), rtol=1e-10, atol=1e-14)
    assert model.result_.stop_reason == "converged"
    assert np.corrcoef(model.eta_, c["beta"])[0, 1] > 0.8
    # fixed multipliers: the slab variances stay in ratio 1 : 0.1 : 0.01 : 0.001
    scaled = VIPRS("mixture", n_components=4, update_components=False).fit(c["b"], N, c["band"])
    assert_allclose(scaled.sigma2_components_ / scaled.sigma2_beta_, 10.0 ** -np.arange(4))


def test_alpha__minus_one_is_spike_and_slab(chromosomes):
    c = chromosomes[0]
    a = VIPRS("alpha", alpha=-1.0).fit(c["b"], N, c["band"], allele_frequency=c["freq"])
    ss = VIPRS("spike_slab").fit(c["b"], N, c["band"])
    assert_allclose(a.eta_, ss.eta_, rtol=1e-9, atol=1e-12)


def test_alpha__fitted_alpha_maximises_the_penalised_objective(chromosomes):
    c = chromosomes[0]
    model = VIPRS("alpha", fit_alpha=True, max_iter=15).fit(c["b"], N, c["band"],
                                                            allele_frequency=c["freq"])
    assert -1.5 <= model.alpha_ <= 0.5
    elbo = np.array(model.elbo_history_)
    assert np.all(np.diff(elbo) >= -1e-8 * np.abs(elbo[1:]))
    # at the final state, no alpha on a grid (with its best s2b) beats the fitted one
    best = model.elbo()
    for a in np.linspace(-1.5, 0.5, 41):
        trial = VIPRS("alpha", fit_alpha=True)
        trial.__dict__.update({k: v.copy() if isinstance(v, np.ndarray) else v
                               for k, v in model.__dict__.items()})
        trial.alpha_ = a
        trial._s2 = trial._s2.copy()
        w = trial._slab_weights()
        g = trial._gamma[:, 0]
        trial._s2[0] = np.sum(g * (trial._mu[:, 0] ** 2 + trial._var_mu[:, 0]) / w) / g.sum()
        assert trial.elbo() <= best + 1e-6


def test_alpha__needs_allele_frequencies(chromosomes):
    c = chromosomes[0]
    with pytest.raises(ValueError, match="allele_frequency"):
        VIPRS("alpha").fit(c["b"], N, c["band"])
    with pytest.raises(ValueError, match="one value in"):
        VIPRS("alpha").fit(c["b"], N, c["band"], allele_frequency=np.zeros(len(c["b"])))
    with pytest.raises(ValueError, match="prior must be"):
        VIPRS("horseshoe").fit(c["b"], N, c["band"])
