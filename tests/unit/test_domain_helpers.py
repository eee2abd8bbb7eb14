"""Statistics that the stage modules hand to their domains (issue 16): the agreement of two
fits, harmonisation totals, per-mode pQTL accuracy and runtime, the validation matrix, the
effect table, the phenotype column reader and the tuning dispatcher."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from vibank.errors import VibankError
from vibank.eval.metrics import effect_agreement
from vibank.io.plink import read_phenotype_column
from vibank.prs import effects_table, tuning
from vibank.qtl import mode_metrics, runtime_summary
from vibank.sumstats.harmonise import harmonisation_totals


def test_effect_agreement__union_with_zeros():
    first = pd.DataFrame({"BETA": [1.0, 2.0, 3.0], "W": [1.0, 0.0, 1.0]}, index=["a", "b", "c"])
    second = pd.DataFrame({"BETA": [1.0, 2.0, 5.0], "W": [2.0, 0.0, 1.0]}, index=["a", "b", "d"])
    out = effect_agreement(first, second, ("BETA", "W"))
    assert (out["n_variants"], out["n_first_only"], out["n_second_only"]) == (4, 1, 1)
    # a, b, c, d with the missing side 0
    expected = np.corrcoef([1, 2, 3, 0], [1, 2, 0, 5])[0, 1]
    assert out["BETA_correlation"] == pytest.approx(expected)
    assert out["W_correlation"] == pytest.approx(np.corrcoef([1, 0, 1, 0], [2, 0, 0, 1])[0, 1])


def test_harmonisation_totals__sums_and_overlap():
    rows = [{"name": "x", "chrom": "1", "input": 60, "paired": 50, "matched": 48, "overlap": 0.8},
            {"name": "x", "chrom": "2", "input": 40, "paired": 30, "matched": 30, "overlap": 0.75}]
    table = harmonisation_totals(rows, n_input=100, read_dropped=5, other_chromosome=7)
    total = table.iloc[-1]
    assert total["chrom"] == "all" and len(table) == 3
    assert (total["paired"], total["matched"], total["input"]) == (80, 78, 105)
    assert total["read_dropped"] == 5 and total["other_chromosome"] == 7
    assert total["overlap"] == pytest.approx(0.8)
    assert (table["read_dropped"].iloc[:2] == 0).all()


def test_mode_metrics__against_truth_and_without():
    long = pd.DataFrame({"SNP": ["s1", "s1", "s2", "s2"], "protein": ["p1", "p2", "p1", "p2"],
                         "PPI": [0.9, 0.1, 0.2, 0.7]})
    hotspots = pd.DataFrame({"SNP": ["s1", "s2"], "expected_proteins": [1.0, 0.9]})
    truth = pd.DataFrame({"SNP": ["s1"], "protein": ["p1"]})
    row = mode_metrics(long, hotspots, truth, threshold=0.5)
    assert row["n_pairs"] == 4 and row["n_true"] == 1
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (1, 1, 0, 2)
    assert row["auroc"] == pytest.approx(1.0) and row["hotspot_auroc"] == pytest.approx(1.0)
    assert (row["tp_ppi90"], row["fp_ppi90"], row["tp_fdr05"], row["fp_fdr05"]) == (1, 0, 0, 0)
    # Bayesian FDR by rank (PPI 0.9, 0.7, 0.2, 0.1): 0.1, 0.2, 0.4, 0.525
    loose = mode_metrics(long, hotspots, truth, strict=0.6, fdr_level=0.25)
    assert (loose["tp_ppi90"], loose["fp_ppi90"], loose["tp_fdr05"], loose["fp_fdr05"]) == (1, 1,
                                                                                            1, 1)
    bare = mode_metrics(long, hotspots, None)
    assert bare["n_pairs"] == 4 and np.isnan(bare["n_true"]) and "auroc" not in bare


def test_runtime_summary__per_mode():
    runtime = pd.DataFrame({"cavi": ["full", "full", "adaptive"], "chunk": [1, 2, 1],
                            "iterations": [10, 30, 5], "converged": [True, False, True]})
    out = runtime_summary(runtime)
    assert list(out.index) == ["full", "adaptive"]
    assert out.loc["full"].tolist() == [2, 40, 30, False]
    assert out.loc["adaptive"].tolist() == [1, 5, 5, True]


def test_validation_matrix__flip_impute_scale_and_binary():
    dosages = np.array([[0, 2, -9], [1, 1, 2], [2, 0, 0]], dtype=np.float32)
    p = np.array([0.5, 0.4, 0.3])
    x, y, binary = tuning.validation_matrix(dosages.copy(), flip=np.array([False, True, False]),
                                            allele_frequency=p, phenotype=[1, 2, 2])
    g = np.array([[0, 0, np.nan], [1, 1, 2], [2, 2, 0]], dtype=float)  # column 2 flipped
    mean = np.nanmean(g, axis=0)
    expected = (np.where(np.isnan(g), mean, g) - mean) / np.sqrt(2 * p * (1 - p))
    assert x.dtype == np.float32
    assert_allclose(x, expected, rtol=1e-6)
    assert binary
    assert_array_equal(y, [0, 1, 1])
    _, y, binary = tuning.validation_matrix(dosages.copy(), flip=np.zeros(3, bool),
                                            allele_frequency=p, phenotype=[0.5, 1.0, 2.0])
    assert not binary
    assert_array_equal(y, [0.5, 1.0, 2.0])


def test_effects_table__per_allele_effects():
    matched = pd.DataFrame({"CHR": ["1", "1"], "SNP": ["a", "b"], "POS": [10, 20],
                            "A1": ["A", "C"], "A2": ["G", "T"]})
    posterior = {"eta": np.array([0.1, -0.2]), "pip": np.array([0.9, 0.5]),
                 "var_beta": np.array([0.01, 0.02])}
    table = effects_table(matched, posterior, np.array([0.5, 0.1]))
    assert list(table.columns) == ["CHR", "SNP", "POS", "A1", "A2", "BETA", "BETA_PER_ALLELE",
                                   "PIP", "VAR_BETA"]
    assert_allclose(table["BETA_PER_ALLELE"], [0.1 / np.sqrt(0.5), -0.2 / np.sqrt(0.18)])


def test_read_phenotype_column__missing_values_and_errors(tmp_path):
    path = tmp_path / "pheno.tsv"
    path.write_text("FID\tIID\tt\n1\ta\t1.5\n2\tb\t-9\n3\tc\tNA\n4\td\t\n")
    y = read_phenotype_column(path, "t")
    assert y.index.tolist() == ["a", "b", "c", "d"]
    assert y["a"] == 1.5 and y[["b", "c", "d"]].isna().all()
    with pytest.raises(VibankError, match="no column u"):
        read_phenotype_column(path, "u")
    path.write_text("FID\tIID\tt\n1\ta\t1.5\n2\tb\tx\n")
    with pytest.raises(VibankError, match=r"row 3, column t: 'x' is not a number"):
        read_phenotype_column(path, "t")


class _Fit:
    def __init__(self, pi):
        self.pi = pi
        self.eta_ = np.array([pi, 1 - pi])
        self.pip_ = np.array([0.5, 0.5])
        self.var_beta_ = np.zeros(2)
        self.elbo_history_ = [-float(pi)]


def test_tune__strategies_and_unknown():
    fit_point = lambda params: _Fit(params["pi"])  # noqa: E731
    score = lambda model: -abs(np.log10(model.pi) + 1)  # best at pi = 0.1  # noqa: E731
    gs = tuning.tune("gs", fit_point, score, n_variants=100, grid_size=5)
    grid = tuning.pi_grid(100, 5)
    best = grid[np.argmax([-abs(np.log10(p) + 1) for p in grid])]
    assert gs.best_params == {"pi": pytest.approx(best)} and len(gs.table) == 5
    assert_allclose(gs.posterior["eta"], [best, 1 - best])
    with pytest.raises(VibankError, match="unknown strategy"):
        tuning.tune("vem", fit_point, score, n_variants=100)


def test_score_variance_shares__per_part_and_all_zero():
    from vibank.prs.effects import score_variance_shares

    eta = np.array([1.0, 1.0, 2.0, 0.0])
    shares = score_variance_shares(eta, [slice(0, 2), slice(2, 4)])
    assert shares == pytest.approx([2 / 6, 4 / 6])
    assert score_variance_shares(np.zeros(4), [slice(0, 2), slice(2, 4)]) == [0.0, 0.0]


def test_simulate_protein_panel__count_equals_fraction_and_truth_table():
    from vibank.simulate.proteins import simulate_protein_panel, true_associations

    rng = np.random.default_rng(3)
    x = rng.binomial(2, 0.3, size=(200, 40)).astype(float)
    by_fraction = simulate_protein_panel(x, 30, active_variant_fraction=5 / 40,
                                         active_protein_fraction=0.2, seed=1)
    by_count = simulate_protein_panel(x, 30, n_active_variants=5, active_protein_fraction=0.2,
                                      seed=1)
    assert_array_equal(by_fraction.associations, by_count.associations)
    assert_array_equal(by_fraction.Y, by_count.Y)
    variants = pd.DataFrame({"SNP": [f"v{i}" for i in range(40)], "CHR": "1",
                             "POS": np.arange(40) * 100})
    truth = true_associations(by_count, variants, [f"P{k}" for k in range(30)])
    s, t = np.nonzero(by_count.associations)
    assert len(truth) == len(s) > 0
    assert truth["SNP"].tolist() == [f"v{i}" for i in s]
    assert truth["protein"].tolist() == [f"P{k}" for k in t]
    assert_allclose(truth["BETA"], by_count.beta[s, t])
