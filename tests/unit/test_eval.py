"""vibank.eval: plink2 scoring and its overlap gate, prediction metrics, evaluation tables."""

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from vibank.errors import VibankError
from vibank.eval import (binary_metrics, bootstrap_incremental_r2_se, centroid_distance,
                         classification_metrics, cv_summary_table, h2_table, incremental_r2,
                         metrics_table, observed_to_liability_h2, pc_distance_table, r2_ols,
                         relative_r2, runtime_table, score_samples, transfer_table)
from vibank.io.plink import read_bim, read_dosages, read_fam, read_sample_table, write_keep


def regression_data(n=800, seed=3, binary=False):
    rng = np.random.default_rng(seed)
    c = np.column_stack([rng.integers(0, 2, n), rng.normal(50, 10, n), rng.normal(size=(n, 3))])
    prs = rng.normal(size=n) + 0.3 * c[:, 2]  # correlated with a covariate
    liability = 0.6 * prs + 0.02 * c[:, 1] + 0.4 * c[:, 0] + rng.normal(size=n)
    y = (liability > np.quantile(liability, 0.8)).astype(float) if binary else liability
    return y, prs, c


def hand_r2(y, x):
    """R^2 from numpy.linalg.lstsq with an explicit intercept column."""
    design = np.column_stack([np.ones(len(y)), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - np.sum((y - design @ coef) ** 2) / np.sum((y - y.mean()) ** 2)


# -- metrics -----------------------------------------------------------------------------------
@pytest.mark.parametrize("binary", [False, True])
def test_incremental_r2__equals_hand_least_squares(binary):
    y, prs, c = regression_data(binary=binary)
    delta, se = incremental_r2(y, prs, c)
    expected = hand_r2(y, np.column_stack([c, prs])) - hand_r2(y, c)
    assert delta == pytest.approx(expected, rel=1e-10)
    assert 0 < delta < 1 and 0 < se < delta


def test_incremental_r2__without_covariates_is_squared_correlation():
    y, prs, _ = regression_data()
    assert incremental_r2(y, prs)[0] == pytest.approx(np.corrcoef(y, prs)[0, 1] ** 2, rel=1e-10)
    assert r2_ols(y, np.empty((len(y), 0))) == pytest.approx(0, abs=1e-12)


def test_incremental_r2__constant_score_adds_nothing():
    y, _, c = regression_data()
    delta, se = incremental_r2(y, np.zeros_like(y), c)
    assert delta == pytest.approx(0, abs=1e-12) and se == pytest.approx(0, abs=1e-6)


def test_incremental_r2__delta_se_agrees_with_bootstrap():
    y, prs, c = regression_data(n=1500, seed=8)
    _, se = incremental_r2(y, prs, c)
    boot = bootstrap_incremental_r2_se(y, prs, c, n_boot=400, seed=1)
    assert se == pytest.approx(boot, rel=0.2)


def test_binary_metrics__match_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, prs, _ = regression_data(binary=True)
    auprc, auroc = binary_metrics(y, prs)
    assert auprc == average_precision_score(y, prs) and auroc == roc_auc_score(y, prs)
    assert 0.2 < auprc < 1 and 0.5 < auroc < 1
    assert np.isnan(binary_metrics(np.ones(10), np.arange(10.0))).all()


def test_classification_metrics__hand_computed():
    truth = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
    score = np.array([0.9, 0.8, 0.4, 0.1, 0.6, 0.7])
    m = classification_metrics(truth, score, 0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 2, 1, 1)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(2 / 3)
    assert m["fpr"] == pytest.approx(2 / 3)
    # AUROC: of the 9 (positive, negative) pairs the positive ranks higher in 6
    assert m["auroc"] == pytest.approx(6 / 9)
    # average precision: positives at ranks 1, 3, 5 -> (1 + 2/3 + 3/5) / 3
    assert m["auprc"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    empty = classification_metrics(np.zeros(3, bool), np.array([0.1, 0.6, 0.2]))
    assert np.isnan(empty["auroc"]) and np.isnan(empty["recall"]) and empty["fp"] == 1


def test_relative_r2__ratio_and_undefined_reference():
    assert_allclose(relative_r2([0.1, 0.2, 0.3], [0.4, 0.4, 0.0]), [0.25, 0.5, np.nan])


def test_centroid_distance__hand_computed():
    a = np.array([[0.0, 0.0], [2.0, 0.0]])  # centroid (1, 0)
    b = np.array([[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]])  # centroid (4, 4)
    assert centroid_distance(a, b) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="dimension"):
        centroid_distance(a, np.ones((2, 3)))


# -- tables ------------------------------------------------------------------------------------
def toy_metrics():
    """Two models, one trait, two folds; test, validation and an AFR target."""
    rows = []
    r2 = {("a", 1, "test"): 0.40, ("b", 1, "test"): 0.50, ("a", 1, "AFR"): 0.10,
          ("b", 1, "AFR"): 0.20, ("a", 2, "test"): 0.30, ("b", 2, "test"): 0.20,
          ("a", 2, "AFR"): 0.06, ("b", 2, "AFR"): 0.03, ("a", 1, "validation"): 0.35,
          ("b", 1, "validation"): 0.45, ("a", 2, "validation"): 0.25,
          ("b", 2, "validation"): 0.15}
    for (model, fold, target), value in r2.items():
        rows.append({"model": model, "trait": "t", "fold": fold, "target": target, "n": 100,
                     "overlap": 1.0, "r2": value, "incremental_r2": value,
                     "incremental_r2_se": 0.01, "auprc": value + 0.1, "auroc": np.nan})
    return pd.DataFrame(rows)


def test_observed_to_liability_h2__hand_computed():
    # K = 0.1: t = Phi^-1(0.9) = 1.2815515655446004, z = exp(-t^2 / 2) / sqrt(2 pi)
    t = 1.2815515655446004
    z = np.exp(-t * t / 2) / np.sqrt(2 * np.pi)
    k, p = 0.1, 0.5
    expected = 0.2 * k**2 * (1 - k) ** 2 / (z**2 * p * (1 - p))
    assert observed_to_liability_h2(0.2, prevalence=k, sample_prevalence=p) == pytest.approx(
        expected, rel=1e-12)
    assert expected == pytest.approx(0.2 * 1.05196, rel=1e-5)  # z = 0.175498
    # P = K (the default): the factor is K (1 - K) / z^2
    assert observed_to_liability_h2(0.2, prevalence=k) == pytest.approx(
        0.2 * k * (1 - k) / z**2, rel=1e-12)


def test_observed_to_liability_h2__arrays_nan_and_bad_prevalence():
    got = observed_to_liability_h2(np.array([0.1, np.nan]), prevalence=np.array([0.5, 0.5]))
    assert got[0] == pytest.approx(0.1 * 0.25 / (1 / (2 * np.pi)))  # z(0) = 1 / sqrt(2 pi)
    assert np.isnan(got[1])
    for k, p in ((0.0, None), (1.2, None), (0.1, 1.0)):
        with pytest.raises(ValueError, match="must lie in"):
            observed_to_liability_h2(0.2, prevalence=k, sample_prevalence=p)


def test_transfer_table__relative_r2_over_best_test_model_and_distances():
    distances = pd.DataFrame({"fold": [1, 1, 2, 2], "population": ["EUR", "AFR", "EUR", "AFR"],
                              "pc_distance": [0.01, 0.5, 0.02, 0.6]})
    table = transfer_table(toy_metrics(), distances, reference_population="EUR")
    assert list(table.columns) == ["model", "trait", "fold", "population", "r2_target",
                                   "r2_eur_test_best", "relative_r2", "pc_distance"]
    assert len(table) == 8 and set(table["population"]) == {"EUR", "AFR"}  # no validation rows
    row = table.set_index(["model", "fold", "population"])
    # fold 1: best test R2 0.5 (model b); fold 2: 0.3 (model a)
    assert row.loc[("a", 1, "AFR"), "r2_eur_test_best"] == pytest.approx(0.5)
    assert row.loc[("a", 1, "AFR"), "relative_r2"] == pytest.approx(0.2)
    assert row.loc[("b", 2, "AFR"), "relative_r2"] == pytest.approx(0.1)
    assert row.loc[("b", 2, "EUR"), "relative_r2"] == pytest.approx(2 / 3)
    assert row.loc[("a", 2, "EUR"), "relative_r2"] == pytest.approx(1.0)
    assert row.loc[("a", 2, "AFR"), "pc_distance"] == pytest.approx(0.6)


def test_cv_summary_table__mean_and_standard_error_over_folds():
    table = cv_summary_table(toy_metrics())
    assert list(table.columns) == ["model", "trait", "target", "n_folds", "incremental_r2_mean",
                                   "incremental_r2_se", "auprc_mean", "auprc_se"]
    assert len(table) == 6  # 2 models x 3 targets
    table = table.set_index(["model", "target"])
    a_test = table.loc[("a", "test")]
    assert a_test["n_folds"] == 2
    assert a_test["incremental_r2_mean"] == pytest.approx(0.35)
    assert a_test["incremental_r2_se"] == pytest.approx(np.std([0.4, 0.3], ddof=1) / np.sqrt(2))
    assert a_test["auprc_mean"] == pytest.approx(0.45)


def test_pc_distance_table__centroids_of_keep_files(tmp_path):
    ids = [f"S{i}" for i in range(6)]
    pcs = pd.DataFrame({"#FID": ids, "IID": ids, "PC1": [0, 2, 10, 10, 0, 0.0],
                        "PC2": [0, 0, 0, 0, 3, 5.0]})
    pcs.to_csv(tmp_path / "pca.eigenvec", sep="\t", index=False)
    (tmp_path / "pca.eigenval").write_text("4\n9\n")  # scores: PC1 x 2, PC2 x 3

    def keep(name, rows):
        write_keep(tmp_path / name, pd.DataFrame({"FID": [ids[i] for i in rows],
                                                  "IID": [ids[i] for i in rows]}))
        return tmp_path / name

    train = keep("train.keep", [0, 1])  # centroid (2, 0) in scores
    sets = {(1, "EUR"): keep("test.keep", [0, 1]), (None, "AFR"): keep("afr.keep", [2, 3]),
            (None, "EAS"): keep("eas.keep", [4, 5])}
    table = pc_distance_table(tmp_path / "pca.eigenvec", {1: train}, sets)
    assert list(table.columns) == ["fold", "population", "pc_distance"]
    got = table.set_index("population")["pc_distance"]
    assert got["EUR"] == pytest.approx(0) and got["AFR"] == pytest.approx(18)
    assert got["EAS"] == pytest.approx(np.hypot(2, 12))
    # an eigenvalue file named explicitly; its length must match the PCs
    (tmp_path / "other.eigenval").write_text("1\n1\n")
    table = pc_distance_table(tmp_path / "pca.eigenvec", {1: train}, sets,
                              eigenval=tmp_path / "other.eigenval")
    assert table.set_index("population")["pc_distance"]["AFR"] == pytest.approx(9)
    (tmp_path / "other.eigenval").write_text("1\n1\n1\n")
    with pytest.raises(VibankError, match="3 eigenvalues for the 2 PCs"):
        pc_distance_table(tmp_path / "pca.eigenvec", {1: train}, sets,
                          eigenval=tmp_path / "other.eigenval")


def _drifted_genotypes(rng, freq, n, drift):
    """n diploid genotypes at allele frequencies drifted from ``freq`` by N(0, drift^2)."""
    f = np.clip(freq + rng.normal(0, drift, len(freq)), 0.02, 0.98)
    return rng.binomial(2, f, size=(n, len(freq))).astype(float)


def test_pc_distance_table__scaled_scores_order_populations_by_drift(tmp_path, report):
    """Three groups drifted from a common ancestor, AFR (160 samples) with 4x the allele
    frequency drift of EAS (40); the PCA is written as plink2 does (unit-norm eigenvectors of
    G = X X' / M and their eigenvalues). The distances equal those of the principal-component
    scores by SVD of X / sqrt(M) and put AFR far beyond EAS; on the unit-norm eigenvectors the
    two come out nearly equal (the larger group sits closer to the origin on its own PC)."""
    rng = np.random.default_rng(18)
    m, k = 3000, 4
    freq = rng.uniform(0.1, 0.9, m)
    groups = {"EUR": (240, 0.0), "EAS": (40, 0.03), "AFR": (160, 0.12)}
    x = np.vstack([_drifted_genotypes(rng, freq, n, d) for n, d in groups.values()])
    pops = np.repeat(list(groups), [n for n, _ in groups.values()])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    values, vectors = np.linalg.eigh(x @ x.T / m)
    values, vectors = values[::-1][:k], vectors[:, ::-1][:, :k]
    ids = [f"S{i}" for i in range(len(x))]
    eigenvec = pd.DataFrame(vectors, columns=[f"PC{j + 1}" for j in range(k)])
    eigenvec.insert(0, "IID", ids)
    eigenvec.insert(0, "#FID", ids)
    eigenvec.to_csv(tmp_path / "pca.eigenvec", sep="\t", index=False)
    np.savetxt(tmp_path / "pca.eigenval", values)
    train = np.flatnonzero(pops == "EUR")[::2]
    members = {"EUR": np.flatnonzero(pops == "EUR")[1::2], "EAS": np.flatnonzero(pops == "EAS"),
               "AFR": np.flatnonzero(pops == "AFR")}
    for name, rows in {"train": train, **members}.items():
        write_keep(tmp_path / f"{name}.keep", pd.DataFrame({"FID": [ids[i] for i in rows],
                                                            "IID": [ids[i] for i in rows]}))
    sets = {(1, "EUR"): tmp_path / "EUR.keep", (None, "EAS"): tmp_path / "EAS.keep",
            (None, "AFR"): tmp_path / "AFR.keep"}
    got = pc_distance_table(tmp_path / "pca.eigenvec", {1: tmp_path / "train.keep"},
                            sets).set_index("population")["pc_distance"]
    u, s, _ = np.linalg.svd(x / np.sqrt(m), full_matrices=False)
    scores = u[:, :k] * s[:k]  # by hand: the samples' coordinates on the top k principal axes
    for population, rows in members.items():
        expected = np.linalg.norm(scores[train].mean(axis=0) - scores[rows].mean(axis=0))
        assert got[population] == pytest.approx(expected, rel=1e-6)
    assert got["EUR"] < got["EAS"] < got["AFR"] and got["AFR"] > 2.5 * got["EAS"]
    np.savetxt(tmp_path / "ones.eigenval", np.ones(k))
    unit = pc_distance_table(tmp_path / "pca.eigenvec", {1: tmp_path / "train.keep"}, sets,
                             eigenval=tmp_path / "ones.eigenval").set_index("population")
    assert unit.loc["AFR", "pc_distance"] < 1.2 * unit.loc["EAS", "pc_distance"]
    report(f"synthetic PCA: pc_distance EUR {got['EUR']:.4f} EAS {got['EAS']:.4f} "
           f"AFR {got['AFR']:.4f} (unit-norm eigenvectors: EAS "
           f"{unit.loc['EAS', 'pc_distance']:.4f} AFR {unit.loc['AFR', 'pc_distance']:.4f})")


def test_pc_distance_table__afr_farther_than_eas_on_plink2_pca(clean_cohort, tmp_path, report):
    """plink2 --pca of the simulated cohort: AFR lies farther from the EUR training samples
    than EAS, and the EUR test samples lie closest."""
    from vibank.genotypes import compute_pcs

    compute_pcs(clean_cohort.prefix, tmp_path / "pca.eigenvec", tmp_path / "pca.eigenval",
                n_pcs=10)
    samples = read_sample_table(clean_cohort.sample_table)
    eur = samples[samples["POP"] == "EUR"]
    write_keep(tmp_path / "train.keep", eur.iloc[::2][["FID", "IID"]])
    write_keep(tmp_path / "test.keep", eur.iloc[1::2][["FID", "IID"]])
    sets = {(1, "EUR"): tmp_path / "test.keep"}
    for pop in ("AFR", "EAS"):
        write_keep(tmp_path / f"{pop}.keep", samples[samples["POP"] == pop][["FID", "IID"]])
        sets[(None, pop)] = tmp_path / f"{pop}.keep"
    got = pc_distance_table(tmp_path / "pca.eigenvec", {1: tmp_path / "train.keep"},
                            sets).set_index("population")["pc_distance"]
    assert got["AFR"] > 1.2 * got["EAS"] and got["EAS"] > 5 * got["EUR"]
    report(f"plink2 PCA of the test cohort: pc_distance EUR {got['EUR']:.4f} "
           f"EAS {got['EAS']:.4f} AFR {got['AFR']:.4f}")


def test_metrics_table__binary_coding_missing_phenotypes_and_covariates(tmp_path):
    y, prs, c = regression_data(n=300, binary=True)
    ids = [f"S{i}" for i in range(300)]
    pheno = pd.DataFrame({"FID": ids, "IID": ids, "disease": y + 1})
    pheno.loc[:9, "disease"] = -9  # missing: left out
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    cov = pd.DataFrame({"FID": ids, "IID": ids, "SEX": c[:, 0], "AGE": c[:, 1], "PC1": c[:, 2]})
    cov.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    pd.DataFrame({"FID": ids, "IID": ids, "SCORE1_SUM": prs}).to_csv(
        tmp_path / "s.sscore", sep="\t", index=False)
    (tmp_path / "s.json").write_text(json.dumps({"overlap": 0.9}))
    run = {"model": "m", "trait": "disease", "fold": "1", "target": "test",
           "sscore": tmp_path / "s.sscore", "json": tmp_path / "s.json"}
    table = metrics_table([run], phenotypes=tmp_path / "pheno.tsv", covariates=tmp_path / "cov.tsv",
                          covariate_names=["SEX", "AGE", "PC1"], binary_traits=["disease"])
    row = table.iloc[0]
    assert list(table.columns) == ["model", "trait", "fold", "target", "n", "overlap", "r2",
                                   "incremental_r2", "incremental_r2_se", "auprc", "auroc"]
    assert row["n"] == 290 and row["overlap"] == 0.9
    keep = slice(10, None)
    assert row["incremental_r2"] == pytest.approx(
        hand_r2(y[keep], np.column_stack([c[keep, :3], prs[keep]])) - hand_r2(y[keep], c[keep, :3]))
    assert row["auprc"] == pytest.approx(binary_metrics(y[keep], prs[keep])[0])
    run["trait"] = "height"
    with pytest.raises(VibankError, match="no column height"):
        metrics_table([run], phenotypes=tmp_path / "pheno.tsv", covariates=tmp_path / "cov.tsv",
                      covariate_names=["SEX"], binary_traits=[])


def test_h2_table_and_runtime_table__summed_over_chromosomes(tmp_path):
    fits = []
    for model, h2s, pis in (("vem", [0.2, 0.1], [0.01, 0.03]), ("bma", [None, None], [0.02, 0.02])):
        paths = []
        for k, (h2, pi) in enumerate(zip(h2s, pis)):
            paths.append(tmp_path / f"{model}{k}.json")
            paths[-1].write_text(json.dumps({"h2": h2, "pi": pi, "n_variants": 100 * (k + 1)}))
        fits.append({"model": model, "trait": "sparse", "fold": "1", "json": paths,
                     "rule": "fit_prs_sparse", "timing": tmp_path / "timing.tsv"})
    # one fit job's timing table, a row per model
    (tmp_path / "timing.tsv").write_text("model\tseconds\tmax_rss_mb\nvem\t4.0\t300.0\n"
                                         "bma\t2.5\t310.0\n")
    pd.DataFrame({"trait": ["sparse"], "h2": [0.3], "pi": [0.02]}).to_csv(
        tmp_path / "traits.tsv", sep="\t", index=False)
    h2 = h2_table(fits, tmp_path / "traits.tsv").set_index("model")
    assert h2.loc["vem", "h2_estimated"] == pytest.approx(0.3)
    assert h2.loc["vem", "pi_estimated"] == pytest.approx((0.01 * 100 + 0.03 * 200) / 300)
    assert np.isnan(h2.loc["bma", "h2_estimated"]) and h2.loc["bma", "h2_true"] == 0.3
    assert np.isnan(h2_table(fits).loc[0, "h2_true"])  # phenotypes from a file: no truth
    runtime = runtime_table(fits)
    assert list(runtime.columns) == ["model", "trait", "fold", "rule", "seconds", "max_rss_mb"]
    assert runtime.loc[0, "seconds"] == pytest.approx(4.0)
    assert runtime.loc[0, "max_rss_mb"] == pytest.approx(300.0)
    assert runtime.loc[1, "seconds"] == pytest.approx(2.5)
    fits[1]["model"] = "gs"
    with pytest.raises(VibankError, match="timing.tsv: no row for model gs"):
        runtime_table(fits)


# -- scoring -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weighted(clean_cohort, tmp_path_factory):
    """Weights on 60% of each chromosome's variants, a third given for the .bim's A2, written
    as one plink2 score file per chromosome, and a keep file of every other sample."""
    tmp = tmp_path_factory.mktemp("scoring")
    rng = np.random.default_rng(4)
    bim, fam = read_bim(clean_cohort.prefix), read_fam(clean_cohort.prefix)
    chosen = np.sort(rng.choice(len(bim), int(0.6 * len(bim)), replace=False))
    weights = bim.iloc[chosen][["CHR", "SNP", "A1", "A2"]].copy()
    weights["BETA_PER_ALLELE"] = rng.normal(0, 0.1, len(weights))
    other = rng.random(len(weights)) < 1 / 3  # weight for the other allele
    weights.loc[other, "A1"] = weights.loc[other, "A2"]
    files = []
    for chrom, part in weights.groupby("CHR"):
        files.append(tmp / f"chr{chrom}.score.tsv")
        part[["SNP", "A1", "BETA_PER_ALLELE"]].to_csv(files[-1], sep="\t", index=False)
    samples = np.arange(0, len(fam), 2)
    write_keep(tmp / "samples.keep", fam.iloc[samples])
    return {"dir": tmp, "files": files, "weights": weights, "other": other, "chosen": chosen,
            "samples": samples, "keep": tmp / "samples.keep", "fam": fam,
            "prefix": clean_cohort.prefix}


def run_score(weighted, files, name, **kwargs):
    out = {k: weighted["dir"] / f"{name}.{k}" for k in ("sscore", "vars", "json")}
    summary = score_samples(files, weighted["prefix"], weighted["keep"], out_sscore=out["sscore"],
                            out_vars=out["vars"], out_json=out["json"], **kwargs)
    return summary, out


def test_score_samples__equals_numpy_dosage_times_weights(weighted, clean_cohort):
    summary, out = run_score(weighted, weighted["files"], "all")
    # bed-reader counts the .bim's A1; weights given for A2 count 2 - dosage
    g = read_dosages(clean_cohort.prefix, sample_index=weighted["samples"],
                     variant_index=weighted["chosen"]).astype(float)
    assert (g >= 0).all()
    g[:, weighted["other"]] = 2 - g[:, weighted["other"]]
    expected = g @ weighted["weights"]["BETA_PER_ALLELE"].to_numpy()
    sscore = pd.read_csv(out["sscore"], sep="\t", dtype={"IID": str})
    assert list(sscore.columns) == ["FID", "IID", "ALLELE_CT", "NAMED_ALLELE_DOSAGE_SUM",
                                    "SCORE1_AVG", "SCORE1_SUM"]
    assert list(sscore["IID"]) == list(weighted["fam"]["IID"].iloc[weighted["samples"]])
    # plink2 prints six significant digits
    assert_allclose(sscore["SCORE1_SUM"], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert summary["overlap"] == 1.0 and summary["n_weighted"] == len(weighted["weights"])
    assert json.loads(out["json"].read_text()) == summary
    assert sorted(out["vars"].read_text().split()) == sorted(weighted["weights"]["SNP"])


def test_score_samples__overlap_is_reported_and_gated(weighted):
    table = pd.concat([pd.read_csv(f, sep="\t") for f in weighted["files"]])
    n = len(table)
    unknown = table.copy()
    unknown.iloc[: n // 5, 0] = [f"absent{i}" for i in range(n // 5)]  # 20% absent IDs
    unknown.iloc[n // 5: n // 5 + 2, 1] = "Z"  # and two with an allele of neither kind
    path = weighted["dir"] / "partial.score.tsv"
    unknown.to_csv(path, sep="\t", index=False)
    summary, _ = run_score(weighted, [path], "partial", min_overlap=0.75)
    assert summary["n_scored"] == n - n // 5 - 2
    assert summary["overlap"] == pytest.approx((n - n // 5 - 2) / n)
    with pytest.raises(VibankError, match="min_overlap 90%") as err:
        run_score(weighted, [path], "refused", min_overlap=0.9)
    assert "\n" not in str(err.value) and f"of {n} weighted variants" in str(err.value)
    assert not (weighted["dir"] / "refused.sscore").exists()
    # a variant in two chromosomes' files is an error, not a double count
    with pytest.raises(VibankError, match="more than one score file"):
        run_score(weighted, [weighted["files"][0], weighted["files"][0]], "dup")


def test_score_samples__no_weights_scores_zero(weighted, tmp_path):
    empty = tmp_path / "empty.score.tsv"
    empty.write_text("SNP\tA1\tBETA_PER_ALLELE\n")
    summary, out = run_score(weighted, [empty], "empty")
    sscore = pd.read_csv(out["sscore"], sep="\t")
    assert len(sscore) == len(weighted["samples"]) and (sscore["SCORE1_SUM"] == 0).all()
    assert summary["n_weighted"] == 0 and summary["overlap"] == 1.0


def test_score_samples_many__each_set_equals_its_own_plink2_run(weighted, tmp_path):
    from vibank.eval import read_scores, score_samples_many

    # set b weights half of set a's variants for the other allele (and some variants of its
    # own, one absent from the genotypes); set c has no weight at all
    table = pd.concat([pd.read_csv(f, sep="\t") for f in weighted["files"]])
    rng = np.random.default_rng(9)
    b = table.sample(frac=0.5, random_state=1).copy()
    alleles = weighted["weights"].set_index("SNP")
    swap = rng.random(len(b)) < 0.5
    bim_a1 = alleles.loc[b["SNP"], "A1"].to_numpy()
    other = np.where(bim_a1 == b["A1"].to_numpy(), alleles.loc[b["SNP"], "A2"], bim_a1)
    b.loc[swap, "A1"] = other[swap]
    b["BETA_PER_ALLELE"] = rng.normal(0, 0.1, len(b))
    b.iloc[0, 0] = "absent0"
    b_path, c_path = tmp_path / "b.score.tsv", tmp_path / "c.score.tsv"
    b.to_csv(b_path, sep="\t", index=False)
    c_path.write_text("SNP\tA1\tBETA_PER_ALLELE\n")
    sets = {"m/a": weighted["files"], "m/b": [b_path], "m/c": [c_path]}
    out = {k: tmp_path / f"many.{k}" for k in ("sscore", "vars", "json")}
    summary = score_samples_many(sets, weighted["prefix"], weighted["keep"],
                                 out_sscore=out["sscore"], out_vars=out["vars"],
                                 out_json=out["json"])
    assert json.loads(out["json"].read_text()) == summary
    assert list(pd.read_csv(out["sscore"], sep="\t").columns) == ["FID", "IID", *sets]
    for name, files in sets.items():
        alone, alone_out = run_score(weighted, files, f"alone_{name[-1]}")
        assert summary[name] == alone
        expected = read_scores(alone_out["sscore"])
        got = read_scores(out["sscore"], name)
        assert list(got.index) == list(expected.index)
        scale = max(np.abs(expected).max(), 1e-12)
        assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale)
    assert summary["m/b"]["n_scored"] == len(b) - 1 and summary["m/c"]["overlap"] == 1.0
    one = {k: tmp_path / f"one.{k}" for k in ("sscore", "vars", "json")}  # a single set
    score_samples_many({"m/a": weighted["files"]}, weighted["prefix"], weighted["keep"],
                       out_sscore=one["sscore"], out_vars=one["vars"], out_json=one["json"])
    assert_allclose(read_scores(one["sscore"], "m/a"), read_scores(out["sscore"], "m/a"))
    assert set(out["vars"].read_text().split()) == set(table["SNP"]) | set(b["SNP"][1:])
    with pytest.raises(VibankError, match=r"\(m/b\).*min_overlap 100%"):
        score_samples_many(sets, weighted["prefix"], weighted["keep"], min_overlap=1.0,
                           **{f"out_{k}": tmp_path / f"refused.{k}" for k in ("sscore", "vars",
                                                                               "json")})


def test_h2_table__binary_estimate_converted_to_the_liability_scale(tmp_path):
    (tmp_path / "fit.json").write_text(json.dumps({"h2": 0.1, "pi": 0.01, "n_variants": 10}))
    pd.DataFrame({"trait": ["disease", "height"], "h2": [0.4, 0.5], "pi": [1.0, 0.1],
                  "prevalence": [0.15, np.nan]}).to_csv(tmp_path / "traits.tsv", sep="\t",
                                                       index=False)
    fits = [{"model": "vem", "trait": t, "fold": "1", "json": [tmp_path / "fit.json"]}
            for t in ("disease", "height")]
    fits.append({"model": "gs", "trait": "disease", "fold": "1", "json": [tmp_path / "fit.json"],
                 "sample_prevalence": 0.5})
    table = h2_table(fits, tmp_path / "traits.tsv")
    assert list(table.columns[-2:]) == ["prevalence", "h2_liability"]
    assert table.loc[0, "h2_liability"] == pytest.approx(
        observed_to_liability_h2(0.1, prevalence=0.15))
    assert table.loc[0, "h2_liability"] > 0.1 and table.loc[0, "h2_estimated"] == 0.1
    assert np.isnan(table.loc[1, "prevalence"]) and np.isnan(table.loc[1, "h2_liability"])
    assert table.loc[2, "h2_liability"] == pytest.approx(
        observed_to_liability_h2(0.1, prevalence=0.15, sample_prevalence=0.5))


def test_h2_table__lists_the_guards_of_each_chromosome(tmp_path):
    paths = []
    for chrom, flags in (("1", []), ("2", ["ridge", "h2_vs_ldsc"])):
        paths.append(tmp_path / f"chr{chrom}.json")
        paths[-1].write_text(json.dumps({"h2": 0.1, "pi": 0.01, "n_variants": 10, "chrom": chrom,
                                         "flags": flags}))
    table = h2_table([{"model": "vem", "trait": "t", "fold": "1", "json": paths}])
    assert table.loc[0, "flags"] == "chr2:ridge;chr2:h2_vs_ldsc"


def test_score_samples__pgen_all_samples_and_audit(weighted, tmp_path):
    """A PLINK 2 target (pgen/pvar/psam), every sample (no keep file), and the audit of the
    weighted variants that cannot be scored: the same scores as the bed for the same people."""
    from vibank.genotypes._plink2 import run_plink2

    pgen = run_plink2(["--bfile", weighted["prefix"], "--make-pgen"], tmp_path / "target")
    table = pd.concat([pd.read_csv(f, sep="\t") for f in weighted["files"]])
    table.iloc[:3, 0] = ["absent0", "absent1", "absent2"]
    table.iloc[3, 1] = "Z"
    path = tmp_path / "w.score.tsv"
    table.to_csv(path, sep="\t", index=False)
    out = {k: tmp_path / f"pg.{k}" for k in ("sscore", "vars", "json", "audit")}
    summary = score_samples([path], str(pgen), None, out_sscore=out["sscore"],
                            out_vars=out["vars"], out_json=out["json"], audit_out=out["audit"])
    audit = pd.read_csv(out["audit"], sep="\t")
    assert dict(zip(audit["SNP"], audit["reason"])) == {
        "absent0": "not_in_target", "absent1": "not_in_target", "absent2": "not_in_target",
        table.iloc[3, 0]: "allele_mismatch"}
    assert summary["n_scored"] == len(table) - 4 and summary["n_samples"] == len(weighted["fam"])
    bed = {k: tmp_path / f"bed.{k}" for k in ("sscore", "vars", "json")}
    score_samples([path], weighted["prefix"], None, out_sscore=bed["sscore"],
                  out_vars=bed["vars"], out_json=bed["json"])
    a, b = (pd.read_csv(o["sscore"], sep="\t") for o in (out, bed))
    assert len(a) == len(weighted["fam"])
    assert_allclose(a["SCORE1_SUM"], b["SCORE1_SUM"], rtol=1e-6)


def test_target_metrics__groups_binary_coding_and_covariates(tmp_path):
    from vibank.eval.tables import target_metrics

    rng = np.random.default_rng(2)
    n = 600
    iid = [f"s{i}" for i in range(n)]
    prs = rng.standard_normal(n)
    group = np.where(np.arange(n) < 400, "EUR", "AFR")
    age = rng.normal(50, 10, n)
    y = 0.5 * prs * (group == "EUR") + 0.05 * age + rng.standard_normal(n)
    case = (prs + rng.standard_normal(n) > 1).astype(int) + 1  # plink 1/2 coding
    pd.DataFrame({"FID": iid, "IID": iid, "ALLELE_CT": 1, "NAMED_ALLELE_DOSAGE_SUM": 1,
                  "SCORE1_AVG": prs, "SCORE1_SUM": prs}).to_csv(tmp_path / "s.sscore",
                                                                 sep="\t", index=False)
    (tmp_path / "s.json").write_text(json.dumps({"overlap": 0.9}))
    pd.DataFrame({"FID": iid, "IID": iid, "height": y, "disease": case}).to_csv(
        tmp_path / "pheno.tsv", sep=" ", index=False)
    pd.DataFrame({"FID": iid, "IID": iid, "AGE": age}).to_csv(tmp_path / "cov.tsv", sep="\t",
                                                             index=False)
    pd.DataFrame({"FID": iid, "IID": iid, "GROUP": group}).to_csv(tmp_path / "g.tsv",
                                                                 sep="\t", index=False)
    runs = [{"model": "m", "trait": t, "fold": "all", "phenotype": t, "sscore": tmp_path / "s.sscore",
             "json": tmp_path / "s.json"} for t in ("height", "disease")]
    table = target_metrics(runs, phenotypes=tmp_path / "pheno.tsv",
                           covariates=tmp_path / "cov.tsv", groups=tmp_path / "g.tsv")
    by = table.set_index(["phenotype", "group"])
    assert by.loc[("height", "all"), "n"] == 600 and by.loc[("height", "AFR"), "n"] == 200
    eur = by.loc[("height", "EUR")]
    expected, _ = incremental_r2(y[:400], prs[:400], age[:400, None])
    assert eur["incremental_r2"] == pytest.approx(expected)
    assert by.loc[("height", "AFR"), "incremental_r2"] < 0.05 < eur["incremental_r2"]
    assert np.isnan(eur["auprc"]) and by.loc[("disease", "all"), "auroc"] > 0.7
    assert (table["overlap"] == 0.9).all()
