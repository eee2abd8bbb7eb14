"""vibank.simulate.phenotypes: effect draws per architecture, h2 scaling, binary coding, seeding."""

import numpy as np
import pandas as pd
import pytest

from vibank import VibankError
from vibank import columns as col
from vibank.io.plink import read_bim, read_dosages, read_fam, read_sample_table
from vibank.simulate.phenotypes import MIXTURES, draw_effects, simulate_phenotypes

M = 200_000


def _binomial_ok(count, n, p, n_sd=5):
    """|count - n p| within n_sd binomial standard deviations."""
    return abs(count - n * p) <= n_sd * np.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("pi", [1e-3, 0.02])
def test_draw_effects__spike_slab_causal_fraction_close_to_pi(pi):
    spec = {"architecture": "spike_slab", "pi": pi}
    beta, causal = draw_effects(M, spec, np.random.default_rng(1))
    assert beta.shape == causal.shape == (M,)
    assert beta.dtype == np.float64 and causal.dtype == bool
    assert _binomial_ok(causal.sum(), M, pi)
    assert (beta[~causal] == 0).all()
    assert (beta[causal] != 0).all()
    assert abs(beta[causal].std() - 1) < 0.15  # standard normal slab


def test_draw_effects__spike_slab_has_at_least_one_causal():
    spec = {"architecture": "spike_slab", "pi": 1e-9}
    _, causal = draw_effects(10, spec, np.random.default_rng(0))
    assert causal.sum() == 1


def test_draw_effects__default_architecture_is_spike_slab():
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    default, _ = draw_effects(1000, {}, rng_a)
    explicit, _ = draw_effects(1000, {"architecture": "spike_slab", "pi": 1e-3}, rng_b)
    np.testing.assert_array_equal(default, explicit)


def test_draw_effects__mixture_sparse_zero_component_fraction():
    probs, mult = MIXTURES["mixture_sparse"]
    assert probs == (0.95, 0.02, 0.02, 0.01) and mult[0] == 0
    beta, causal = draw_effects(M, {"architecture": "mixture_sparse"}, np.random.default_rng(2))
    assert _binomial_ok((beta == 0).sum(), M, 0.95)
    np.testing.assert_array_equal(causal, beta != 0)
    # E[beta^2] = sum_k p_k * multiplier_k
    expected = float(np.dot(probs, mult))
    assert abs(np.mean(beta**2) / expected - 1) < 0.1


def test_draw_effects__mixture_sparse_component_proportions():
    # multipliers 1e-6, 1, 1e6 make the non-zero components separable by |beta|
    probs = [0.95, 0.02, 0.02, 0.01]
    spec = {"architecture": "mixture_sparse", "mixture_pi": probs,
            "mixture_variance_multipliers": [0.0, 1e-6, 1.0, 1e6]}
    beta, _ = draw_effects(M, spec, np.random.default_rng(3))
    size = np.abs(beta)
    counts = [(size == 0).sum(), ((size > 0) & (size < 0.03)).sum(),
              ((size >= 0.03) & (size < 30)).sum(), (size >= 30).sum()]
    for count, p in zip(counts, probs):
        # misclassification across the |beta| cut-offs is ~2.4% of a small component
        assert _binomial_ok(count, M, p, n_sd=6), (counts, probs)


def test_draw_effects__mixture_infinitesimal_all_nonzero():
    beta, causal = draw_effects(5000, {"architecture": "mixture_infinitesimal"},
                                np.random.default_rng(5))
    assert causal.all() and (beta != 0).all()


def test_draw_effects__infinitesimal_all_nonzero():
    beta, causal = draw_effects(M, {"architecture": "infinitesimal"}, np.random.default_rng(6))
    assert causal.all()
    assert (beta != 0).all()
    assert abs(beta.var() - 1) < 0.02


def test_draw_effects__unknown_architecture_raises():
    with pytest.raises(VibankError, match="unknown architecture 'polygenic'"):
        draw_effects(10, {"architecture": "polygenic"}, np.random.default_rng(0))


def test_draw_effects__mixture_probabilities_not_summing_to_one_raise():
    spec = {"architecture": "mixture_sparse", "mixture_pi": [0.5, 0.2, 0.2, 0.05]}
    with pytest.raises(VibankError, match="sum to 1"):
        draw_effects(10, spec, np.random.default_rng(0))


def _read_effects(path):
    return pd.read_csv(path, sep="\t", dtype={col.CHR: str, col.SNP: str})


def _genetic_value(cohort, effects, ref):
    """Genetic value rebuilt with NumPy: per-allele effects on reference-centred allele counts."""
    dosages = read_dosages(cohort.prefix).astype(np.float64)  # (samples, variants)
    observed = dosages >= 0
    ref_obs = observed[ref]
    ref_mean = np.where(ref_obs, dosages[ref], 0).sum(0) / ref_obs.sum(0)
    centred = np.where(observed, dosages - ref_mean, 0.0)  # missing calls -> reference mean
    return centred @ effects["BETA_PER_ALLELE"].to_numpy()


@pytest.mark.parametrize("trait", ["height", "disease"])
def test_simulate_phenotypes__genetic_value_variance_is_h2_in_reference(cohort, phenotypes, trait):
    samples = read_sample_table(cohort.sample_table).set_index(col.IID)
    fam = read_fam(cohort.prefix)
    ref = (samples.loc[fam[col.IID], col.POP] == "EUR").to_numpy()
    effects = _read_effects(phenotypes.effects[trait])
    bim = read_bim(cohort.prefix)
    assert effects[col.SNP].tolist() == bim[col.SNP].tolist()
    assert (read_dosages(cohort.prefix) == -127).any()  # missing calls are exercised
    g = _genetic_value(cohort, effects, ref)
    h2 = phenotypes.traits[trait]["h2"]
    np.testing.assert_allclose(np.var(g[ref]), h2, rtol=1e-6)
    # BETA is the standardised effect: BETA_PER_ALLELE * REF_SD where the variant varies in EUR
    poly = effects["REF_SD"] > 0
    assert poly.sum() > 0.5 * len(effects)
    np.testing.assert_allclose(effects["BETA_PER_ALLELE"][poly] * effects["REF_SD"][poly],
                               effects[col.BETA][poly], rtol=1e-9, atol=1e-15)
    assert (effects["BETA_PER_ALLELE"][~poly] == 0).all()
    assert ((effects[col.BETA] != 0) <= (effects["CAUSAL"] == 1)).all()


def test_simulate_phenotypes__causal_variants_have_per_allele_effects(phenotypes):
    effects = _read_effects(phenotypes.effects["disease"])  # infinitesimal: every variant causal
    causal = effects["CAUSAL"] == 1
    assert (effects.loc[causal, "BETA_PER_ALLELE"] != 0).all()


def test_simulate_phenotypes__summary_table(phenotypes, cohort):
    summary = pd.read_csv(phenotypes.summary, sep="\t").set_index("trait")
    assert list(summary.index) == list(phenotypes.traits)
    m = len(read_bim(cohort.prefix))
    for trait, spec in phenotypes.traits.items():
        effects = _read_effects(phenotypes.effects[trait])
        assert summary.loc[trait, "n_causal"] == effects["CAUSAL"].sum()
        assert summary.loc[trait, "architecture"] == spec["architecture"]
        assert summary.loc[trait, "h2"] == spec["h2"]
    # infinitesimal: every variant that varies in the reference population is causal
    polymorphic = int((_read_effects(phenotypes.effects["disease"])["REF_SD"] > 0).sum())
    assert 0 < polymorphic < m
    assert summary.loc["disease", "n_causal"] == polymorphic
    assert summary.loc["disease", "prevalence"] == 0.2
    assert np.isnan(summary.loc["height", "prevalence"])
    assert {"h2_observed_EUR", "h2_observed_AFR", "h2_observed_EAS"} <= set(summary.columns)
    # genetic value / phenotype variance in the reference population ~ h2 (n = 300)
    assert abs(summary.loc["height", "h2_observed_EUR"] - 0.5) < 0.15


def test_simulate_phenotypes__binary_trait_case_fraction_is_prevalence(cohort, phenotypes):
    pheno = pd.read_csv(phenotypes.phenotypes, sep="\t", dtype={col.FID: str, col.IID: str})
    fam = read_fam(cohort.prefix)
    assert list(pheno.columns) == [col.FID, col.IID, *phenotypes.traits]
    assert pheno[col.IID].tolist() == fam[col.IID].tolist()
    assert set(pheno["disease"]) == {1, 2}
    samples = read_sample_table(cohort.sample_table).set_index(col.IID)
    ref = (samples.loc[pheno[col.IID], col.POP] == "EUR").to_numpy()
    case_fraction = (pheno.loc[ref, "disease"] == 2).mean()
    assert abs(case_fraction - 0.2) <= 1 / ref.sum()
    assert pheno["height"].notna().all() and pheno["height"].nunique() == len(pheno)


def _simulate(cohort, directory, traits, seed):
    # same file names as the fixture: gzip headers store the file name
    effects = {t: directory / f"true_effects_{t}.tsv.gz" for t in traits}
    simulate_phenotypes(cohort.prefix, cohort.sample_table, traits, directory / "phenotypes.tsv",
                        effects, directory / "traits.tsv", seed=seed)
    return directory / "phenotypes.tsv", effects


def test_simulate_phenotypes__same_seed_identical_files(cohort, phenotypes, tmp_path):
    pheno, effects = _simulate(cohort, tmp_path, phenotypes.traits, phenotypes.seed)
    assert pheno.read_bytes() == phenotypes.phenotypes.read_bytes()
    for trait in phenotypes.traits:
        assert effects[trait].read_bytes() == phenotypes.effects[trait].read_bytes()


def test_simulate_phenotypes__different_seed_changes_phenotypes(cohort, phenotypes, tmp_path):
    pheno, _ = _simulate(cohort, tmp_path, phenotypes.traits, phenotypes.seed + 1)
    first = pd.read_csv(phenotypes.phenotypes, sep="\t")
    second = pd.read_csv(pheno, sep="\t")
    assert not np.allclose(first["height"], second["height"])


def test_simulate_phenotypes__trait_unchanged_when_another_is_added(cohort, phenotypes, tmp_path):
    alone = {"height": phenotypes.traits["height"]}
    extra = {"bmi": {"architecture": "mixture_sparse", "h2": 0.2}, **phenotypes.traits}
    pheno_alone, effects_alone = _simulate(cohort, tmp_path / "alone", alone, phenotypes.seed)
    pheno_extra, _ = _simulate(cohort, tmp_path / "extra", extra, phenotypes.seed)
    reference = pd.read_csv(phenotypes.phenotypes, sep="\t", dtype=str)
    for path in (pheno_alone, pheno_extra):
        other = pd.read_csv(path, sep="\t", dtype=str)
        pd.testing.assert_series_equal(other["height"], reference["height"])
    pd.testing.assert_series_equal(
        pd.read_csv(pheno_extra, sep="\t", dtype=str)["disease"], reference["disease"])
    # the effect scale comes from a matrix product over all traits: equal up to rounding (1 ulp)
    pd.testing.assert_frame_equal(_read_effects(effects_alone["height"]),
                                  _read_effects(phenotypes.effects["height"]), rtol=1e-12)


def test_simulate_phenotypes__empty_traits_raise(cohort, tmp_path):
    with pytest.raises(VibankError, match="traits is empty"):
        _simulate(cohort, tmp_path, {}, 1)


def test_simulate_phenotypes__missing_reference_population_raises(cohort, tmp_path):
    effects = {"t": tmp_path / "e.tsv.gz"}
    with pytest.raises(VibankError, match="reference population SAS"):
        simulate_phenotypes(cohort.prefix, cohort.sample_table, {"t": {}}, tmp_path / "p.tsv",
                            effects, tmp_path / "s.tsv", seed=1, reference_population="SAS")


def test_simulate_phenotypes__h2_too_large_raises(cohort, tmp_path):
    with pytest.raises(VibankError, match="h2 \\+ covariate_variance"):
        _simulate(cohort, tmp_path, {"t": {"h2": 0.99}}, 1)


def test_simulate_phenotypes__sample_missing_from_table_raises(cohort, tmp_path):
    table = pd.read_csv(cohort.sample_table, sep="\t", dtype=str)
    table.iloc[1:].to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    with pytest.raises(VibankError, match=table[col.IID].iloc[0]):
        simulate_phenotypes(cohort.prefix, tmp_path / "samples.tsv", {"t": {}}, tmp_path / "p.tsv",
                            {"t": tmp_path / "e.tsv.gz"}, tmp_path / "s.tsv", seed=1)


def test_simulate_phenotypes__no_variation_in_reference_raises(tmp_path):
    from vibank.io.plink import write_bfile

    # 20 EUR samples homozygous at every variant, 10 AFR samples that vary
    ids = [f"EUR{i}" for i in range(20)] + [f"AFR{i}" for i in range(10)]
    samples = pd.DataFrame({col.FID: ids, col.IID: ids, col.POP: ["EUR"] * 20 + ["AFR"] * 10,
                            col.SEX: [1, 2] * 15, col.AGE: np.linspace(40, 70, 30)})
    dosages = np.zeros((30, 6), dtype=np.int8)
    dosages[20:] = np.random.default_rng(0).integers(0, 3, size=(10, 6))
    bim = pd.DataFrame({col.CHR: "1", col.SNP: [f"v{j}" for j in range(6)], col.CM: 0.0,
                        col.POS: np.arange(1, 7) * 100, col.A1: "A", col.A2: "G"})
    write_bfile(tmp_path / "b", dosages, bim, samples)
    samples.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    traits = {"t": {"architecture": "infinitesimal", "h2": 0.3}}
    try:
        with np.errstate(all="ignore"):
            pheno = simulate_phenotypes(tmp_path / "b", tmp_path / "samples.tsv", traits,
                                        tmp_path / "p.tsv", {"t": tmp_path / "e.tsv.gz"},
                                        tmp_path / "s.tsv", seed=1)
    except VibankError as err:
        assert "trait t" in str(err) and "\n" not in str(err)
        return
    raise AssertionError(f"no error; phenotypes finite: {bool(np.isfinite(pheno['t']).all())}")
