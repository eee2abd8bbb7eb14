"""The real regime in small: a GWAS of N >> n_ref against LD from a small panel (issue 17).

A coalescent population of 3,000 EUR genomes on 2 Mb stands for the GWAS population; the LD
comes from 400 other people as one block of ~790 variants, so it is rank-deficient (rank <=
399), and the statistics of N = 200,000 are drawn from the population's LD
(``vibank.simulate.sumstats``). The default fit (effective sample size + the panel's column
space) must recover h2; the fit without the LD-noise treatment collapses and its guards fire.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from vibank.io.plink import read_bim, read_dosages, read_fam, write_keep
from vibank.ld import LDEstimator, LDMatrix, LDRows, build_ld_store
from vibank.ld.genotypes import standardise_genotypes
from vibank.ld.spectral import column_space, treatable
from vibank.prs import VIPRS
from vibank.prs.guards import fit_flags
from vibank.prs.ld_noise import effective_sample_size
from vibank.simulate import CohortParams, simulate_cohort
from vibank.simulate.sumstats import (draw_effects, expected_r2, genetic_variance,
                                      simulate_sumstats, sumstats_table)

N_POP, N_REF, N_GWAS, H2 = 3000, 400, 200_000, 0.05


@pytest.fixture(scope="module")
def regime(tmp_path_factory):
    d = tmp_path_factory.mktemp("regime")
    params = CohortParams(populations={"EUR": N_POP + N_REF}, n_chromosomes=1,
                          chromosome_length=2_000_000, min_spacing_bp=2500, missing_rate=0.0,
                          error_variant_fraction=0.0, bad_sample_fraction=0.0, seed=3)
    simulate_cohort(str(d / "g"), str(d / "samples.tsv"), params)
    write_keep(d / "panel.keep", read_fam(str(d / "g")).iloc[N_POP:])
    build_ld_store(str(d / "g"), str(d / "ld.zarr"), chrom="1", keep=str(d / "panel.keep"),
                   estimator=LDEstimator("block", window_cm=3.0, block_max_variants=5000),
                   dtype="int16")
    build_ld_store(str(d / "g"), str(d / "windowed.zarr"), chrom="1", keep=str(d / "panel.keep"),
                   dtype="int16", estimator=LDEstimator("windowed", window_cm="auto"))
    store = LDMatrix(d / "ld.zarr")
    in_store = read_bim(str(d / "g"))["SNP"].isin(store.variants()["SNP"]).to_numpy()
    dosages = read_dosages(str(d / "g"), sample_index=np.arange(N_POP))
    genotypes, _, _, _ = standardise_genotypes(dosages[:, in_store].T)
    windowed = LDMatrix(d / "windowed.zarr")
    assert (windowed.variants()["SNP"] == store.variants()["SNP"]).all()
    return {"genotypes": genotypes, "store": store, "ld": store.rows(), "windowed": windowed}


def _statistics(regime, seed):
    rng = np.random.default_rng(seed)
    g = regime["genotypes"]
    beta = draw_effects(g, g.shape[0] // 100, H2, rng)
    return beta, simulate_sumstats(g, beta, N_GWAS, rng)


def test_regime__one_block_larger_than_the_panel(regime):
    ld = regime["ld"]
    assert len(ld.segments) == 2 and ld.n_variants > N_REF  # one block, rank-deficient
    assert np.all(ld.n_ref == N_REF)
    assert column_space(ld).dropped >= ld.n_variants - (N_REF - 1)


@pytest.mark.parametrize("seed", range(4))
def test_default_fit__recovers_h2_on_rank_deficient_panel_ld(regime, seed):
    beta, b = _statistics(regime, seed)
    model = VIPRS().fit(b, N_GWAS, regime["ld"])
    assert model.result_.stop_reason == "converged" and not model.flags_
    assert model.h2_ == pytest.approx(H2, rel=0.25)
    assert np.median(model.n_eff_) < N_GWAS / 2  # the panel noise dominates the GWAS's
    assert expected_r2(regime["genotypes"], beta, model.eta_) > 0.7 * H2


@pytest.mark.parametrize("seed", range(2))
def test_default_windowed_ld__psd_no_ridge_and_recovers_h2(regime, seed):
    """The default windowed store of the 400-person panel (0.73 cM, Bartlett taper) is PSD as
    stored (int16): the fit converges without a ridge or a flag and recovers h2."""
    store = regime["windowed"]
    assert store.attrs["estimator_params"]["window_cm"] == 0.73
    dense = store.to_csr(dtype=np.float64, symmetric=True).toarray()
    assert np.linalg.eigvalsh(dense)[0] > -1e-3
    beta, b = _statistics(regime, seed)
    model = VIPRS().fit(b, N_GWAS, store.rows())
    assert model.result_.stop_reason == "converged" and not model.flags_
    assert model.h2_ == pytest.approx(H2, rel=0.25)
    assert expected_r2(regime["genotypes"], beta, model.eta_) > 0.7 * H2


def test_fit_without_ld_noise_collapses_and_its_guards_fire(regime):
    beta, b = _statistics(regime, 0)
    model = VIPRS(ld_noise="none").fit(b, N_GWAS, regime["ld"])
    assert model.h2_ > 3 * H2
    assert {"h2_vs_ldsc", "ridge"} <= set(model.flags_)
    assert all(sentence for _, sentence in model.result_.flags)


def test_simulate_sumstats__mean_and_covariance():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((5, 4000))
    g = (g - g.mean(1, keepdims=True)) / g.std(1, keepdims=True)
    beta = np.array([0.1, 0.0, -0.05, 0.0, 0.02])
    draws = np.array([simulate_sumstats(g, beta, 1000, rng, h2=0.0) for _ in range(4000)])
    r = g @ g.T / g.shape[1]
    np.testing.assert_allclose(draws.mean(0), r @ beta, atol=3e-3)
    np.testing.assert_allclose(np.cov(draws.T) * 1000, r, atol=0.1)
    assert genetic_variance(g, beta) == pytest.approx(beta @ r @ beta)


def test_sumstats_table__z_inverts_std_beta():
    import pandas as pd

    from vibank.prs.model import std_beta_from_z

    variants = pd.DataFrame({"CHR": ["1"] * 3, "SNP": ["a", "b", "c"], "POS": [1, 2, 3],
                             "A1": ["A"] * 3, "A2": ["G"] * 3})
    b = np.array([0.01, -0.003, 0.0])
    table = sumstats_table(variants, b, 50_000, np.array([0.1, 0.5, 0.3]))
    np.testing.assert_allclose(std_beta_from_z(table["Z"], table["N"]), b, atol=1e-15)
    np.testing.assert_allclose(table["BETA"] / table["SE"], table["Z"])


def test_effective_sample_size__formula_and_unknown_panel():
    ld = LDRows.of(sp.csr_matrix(np.eye(4, k=1) * 0.5 + np.eye(4, k=-1) * 0.5))
    n = np.full(4, 1e5)
    np.testing.assert_array_equal(effective_sample_size(n, ld, 0.2), n)  # n_ref unknown
    ld.n_ref = np.full(4, 500.0)
    widths = np.array([2, 3, 3, 2])  # the variant itself and its stored neighbours
    np.testing.assert_allclose(effective_sample_size(n, ld, 0.2),
                               1 / (1 / n + 0.2 * widths / 4 / 500))


def test_column_space__projection_and_positive_part():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 12))  # 5 people, a block of 12 variants: rank 4 after centring
    x = (x - x.mean(0)) / x.std(0)
    r = x.T @ x / 5
    blocks = sp.block_diag([r - np.diag(np.diag(r)), np.zeros((3, 3))], format="csr")
    ld = LDRows.of(blocks)
    ld.n_ref = np.full(15, 5.0)
    assert treatable(ld)
    space = column_space(ld)
    assert space.dropped == 12 - 4 + 0
    full = space.rows.to_csr(dtype=np.float64).toarray() + np.diag(space.rows.diagonal)
    np.testing.assert_allclose(full[:12, :12], r, atol=1e-12)  # r is PSD: kept whole
    b = rng.standard_normal(15)
    projected = space.project(b)
    np.testing.assert_allclose(projected[12:], b[12:])
    np.testing.assert_allclose(space.project(projected), projected, atol=1e-12)
    assert column_space(ld) is space  # computed once


def test_n_ref_travels_with_the_rows(regime):
    ld = regime["ld"]
    keep = np.arange(ld.n_variants) % 2 == 0
    assert np.all(ld.subset(keep).n_ref == N_REF)
    joined = LDRows.concatenate([ld, ld.subset(keep)])
    assert joined.n_ref.shape == (joined.n_variants,) and np.all(joined.n_ref == N_REF)


@pytest.mark.parametrize("change, flag", [({"h2": 0.7}, "h2_implausible"),
                                          ({"h2": 0.2}, "h2_vs_ldsc"),
                                          ({"sigma2_eps": 1e-6}, "sigma2_eps_floor"),
                                          ({"elbo": 12.0}, "positive_elbo"),
                                          ({"stop": "max_iter"}, "drift"),
                                          ({"ridge_max": 0.1}, "ridge")])
def test_fit_flags__each_guard(change, flag):
    base = dict(h2=0.05, h2_ldsc=0.05, sigma2_eps=0.95, elbo=-1e5, stop="converged",
                h2_history=list(np.linspace(0.01, 0.05, 200)), ridge_max=0.0)
    assert fit_flags(**base) == []
    assert flag in [name for name, _ in fit_flags(**{**base, **change})]


def test_panel_note__small_panels_and_rank_deficient_blocks():
    from vibank.ld.build import panel_note

    assert panel_note("windowed", 5000) is None
    assert "effective sample size" in panel_note("windowed", 378)
    assert "rank-deficient" in panel_note("block", 378, max_block=2000)
    assert "rank-deficient" not in panel_note("block", 378, max_block=300)
    assert "hard window" in panel_note("windowed", 378, taper="none")
    assert "hard window" not in panel_note("windowed", 378)
