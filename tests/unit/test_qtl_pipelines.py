"""vibank.qtl_pipelines: chunking, residualisation, combining a toy fit into calls, loci,
cis/trans labels and hotspots, and the evaluation metrics against hand computations."""

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from vibank.errors import VibankError
from vibank.qtl_pipelines import (
    bayesian_fdr,
    call_pairs,
    cis_trans,
    classification_metrics,
    clump_loci,
    combine_qtl,
    discovery_samples,
    evaluate_qtl,
    make_chunks,
    residualise,
)


@pytest.mark.parametrize("n, size, expected", [(10, 4, 2), (10, 3, 3), (3, 100, 1), (1000, 1000, 1),
                                               (2500, 1000, 2)])
def test_make_chunks__contiguous_and_balanced(n, size, expected):
    ids = make_chunks(n, size)
    assert len(ids) == n and ids[0] == 1 and ids.max() == expected
    assert np.all(np.diff(ids) >= 0) and set(np.diff(ids)) <= {0, 1}  # contiguous, in order
    counts = np.bincount(ids)[1:]
    assert counts.max() - counts.min() <= 1


def test_discovery_samples__cv_role_only(tmp_path):
    path = tmp_path / "splits.tsv"
    pd.DataFrame({"FID": ["a", "b", "c", "d"], "IID": ["a", "b", "c", "d"],
                  "ROLE": ["ld_panel", "cv", "target", "cv"]}).to_csv(path, sep="\t", index=False)
    assert discovery_samples(path)["IID"].tolist() == ["b", "d"]
    pd.DataFrame({"FID": ["a"], "IID": ["a"], "ROLE": ["ld_panel"]}).to_csv(path, sep="\t",
                                                                           index=False)
    with pytest.raises(VibankError, match="no discovery samples"):
        discovery_samples(path)


def test_residualise__matches_lstsq_per_column_with_missing():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 2))
    y = z @ [[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]] + rng.normal(size=(50, 3)) + 4.0
    y[[3, 7], 1] = np.nan
    out = residualise(y, z)
    assert np.isnan(out[[3, 7], 1]).all() and np.isfinite(np.delete(out[:, 1], [3, 7])).all()
    for t in range(3):
        rows = ~np.isnan(y[:, t])
        design = np.column_stack([np.ones(rows.sum()), z[rows]])
        coef = np.linalg.lstsq(design, y[rows, t], rcond=None)[0]
        assert_allclose(out[rows, t], y[rows, t] - design @ coef, atol=1e-10)
        assert abs(out[rows, t].mean()) < 1e-10


def test_bayesian_fdr__cumulative_mean_of_one_minus_ppi():
    ppi = np.array([0.2, 0.99, 0.5, 0.9])
    # sorted: 0.99, 0.9, 0.5, 0.2 -> 1 - ppi: 0.01, 0.1, 0.5, 0.8
    expected_sorted = np.array([0.01, 0.055, 0.61 / 3, 1.41 / 4])
    assert_allclose(bayesian_fdr(ppi), expected_sorted[[3, 0, 2, 1]])


def _toy_long():
    """Two chunks on chr1 and one on chr2; 3 proteins; PPIs chosen by hand."""
    variants = pd.DataFrame({"SNP": ["v1", "v2", "v3", "v4", "v5"],
                             "CHR": ["1", "1", "1", "2", "2"],
                             "POS": [100_000, 300_000, 2_000_000, 500_000, 5_000_000],
                             "A1": "A", "A2": "G"})
    ppi = np.array([[0.95, 0.7, 0.1],    # v1: hotspot of 2 proteins
                    [0.6, 0.2, 0.05],    # v2: 200 kb from v1 -> same locus
                    [0.0, 0.0, 0.8],     # v3: its own locus
                    [0.49, 0.5, 0.3],    # v4: P2 exactly at the threshold
                    [0.01, 0.02, 0.03]])
    long = variants.loc[np.repeat(range(5), 3)].reset_index(drop=True)
    long["protein"] = np.tile(["P1", "P2", "P3"], 5)
    long["PPI"] = ppi.ravel()
    long["BETA_STD"] = 0.1 * ppi.ravel()
    long["BETA"] = 0.2 * ppi.ravel()
    return long


GENES = pd.DataFrame({"protein": ["P1", "P2", "P3"], "CHR": ["1", "2", "1"],
                      "POS": [900_000, 1_000_000, 2_500_000]})


def test_call_pairs__threshold_and_fdr():
    calls = call_pairs(_toy_long(), threshold=0.5)
    assert list(zip(calls["SNP"], calls["protein"])) == [
        ("v1", "P1"), ("v3", "P3"), ("v1", "P2"), ("v2", "P1"), ("v4", "P2")]
    # Bayesian FDR < 0.1: sorted 1 - PPI = 0.05, 0.2, 0.3, ... -> FDR 0.05, 0.125: one pair
    fdr_calls = call_pairs(_toy_long(), fdr_level=0.1)
    assert list(zip(fdr_calls["SNP"], fdr_calls["protein"])) == [("v1", "P1")]
    assert fdr_calls["FDR"].iloc[0] == pytest.approx(0.05)


def test_cis_trans__window_chromosome_and_unplaced():
    labels = cis_trans(["1", "1", "1", "2"], [100_000, 2_000_001, 2_000_000, 500_000],
                       ["P1", "P1", "P3", "P4"], GENES, 1_000_000)
    assert labels.tolist() == ["cis", "trans", "cis", ""]
    assert cis_trans(["1"], [1], ["P1"], None, 1_000_000).tolist() == [""]


def test_clump_loci__greedy_flank_and_best_variant_per_protein():
    calls = call_pairs(_toy_long(), threshold=0.5)
    loci = clump_loci(calls, flank=500_000, protein_table=GENES, cis_window=1_000_000)
    assert loci["locus"].tolist() == [1, 1, 2, 3]
    first = loci[loci["locus"] == 1].set_index("protein")
    # v1 (lead) and v2 fall in one locus; P1's best variant there is v1 (0.95 > 0.6)
    assert first.loc["P1", "SNP"] == "v1" and first.loc["P1", "n_variants"] == 2
    assert (first["start"] == 100_000).all() and (first["end"] == 300_000).all()
    # midpoint 200 kb: P1's gene at 900 kb on chr1 -> cis; P2's gene on chr2 -> trans
    assert first.loc["P1", "cis_trans"] == "cis" and first.loc["P2", "cis_trans"] == "trans"
    assert loci.set_index("locus").loc[3, "lead_SNP"] == "v4"
    assert clump_loci(calls.iloc[:0]).empty


def test_combine_qtl__tables_from_toy_chunks(tmp_path):
    long = _toy_long()
    paths, jsons = [], []
    for k, snps in enumerate((["v1", "v2", "v3"], ["v4", "v5"])):
        path = tmp_path / f"chunk{k}.tsv.gz"
        long[long["SNP"].isin(snps)].to_csv(path, sep="\t", index=False)
        paths.append(path)
        jsons.append(tmp_path / f"chunk{k}.json")
        jsons[-1].write_text(json.dumps({"theta": {s: float(i) for i, s in enumerate(snps)}}))
    genes = tmp_path / "genes.tsv"
    GENES.to_csv(genes, sep="\t", index=False)
    out = {name: tmp_path / f"{name}.tsv" for name in ("associations", "calls", "loci",
                                                      "hotspots")}
    combine_qtl(paths, jsons, protein_table=genes, out_associations=out["associations"],
                out_calls=out["calls"], out_loci=out["loci"], out_hotspots=out["hotspots"])
    assoc = pd.read_csv(out["associations"], sep="\t")
    assert len(assoc) == 15 and list(assoc.columns[:7]) == ["SNP", "CHR", "POS", "A1", "A2",
                                                            "protein", "PPI"]
    calls = pd.read_csv(out["calls"], sep="\t", keep_default_na=False)
    # v4 (chr2, 500 kb) is 500 kb from P2's gene: cis
    assert len(calls) == 5 and calls["cis_trans"].tolist() == ["cis", "cis", "trans", "cis",
                                                               "cis"]
    hot = pd.read_csv(out["hotspots"], sep="\t").set_index("SNP")
    assert_array_equal(hot["n_proteins"], [2, 1, 1, 1, 0])
    assert_allclose(hot["expected_proteins"], [1.75, 0.85, 0.8, 1.29, 0.06])
    assert_allclose(hot["THETA"], [0, 1, 2, 0, 1])
    assert pd.read_csv(out["loci"], sep="\t")["locus"].nunique() == 3


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


def test_evaluate_qtl__pairs_hotspots_and_runtime(tmp_path):
    long = _toy_long()
    assoc, hot = tmp_path / "assoc.tsv", tmp_path / "hot.tsv"
    long.to_csv(assoc, sep="\t", index=False)
    hotspots = long.groupby("SNP", sort=False).agg(expected_proteins=("PPI", "sum")).reset_index()
    hotspots.to_csv(hot, sep="\t", index=False)
    truth = tmp_path / "truth.tsv"
    pd.DataFrame({"SNP": ["v1", "v1", "v3"], "protein": ["P1", "P2", "P3"],
                  "BETA": 1.0}).to_csv(truth, sep="\t", index=False)
    fit = {"cavi": "adaptive", "chrom": "1", "chunk": 1, "start": 1, "end": 2, "n": 10,
           "p_fitted": 3, "q": 3, "iterations": 40, "converged": True, "elbo": -5.0,
           "seconds": {"total": 1.5}}
    jsons = []
    for k in (1, 2):
        jsons.append(tmp_path / f"fit{k}.json")
        jsons[-1].write_text(json.dumps({**fit, "chunk": k, "iterations": 40 + k}))
    metrics, runtime = evaluate_qtl(["adaptive"], [assoc], [hot], jsons, truth=truth,
                                    out_metrics=tmp_path / "m.tsv", out_runtime=tmp_path / "r.tsv")
    row = metrics.iloc[0]
    # calls at 0.5: (v1,P1) (v1,P2) (v3,P3) true; (v2,P1) (v4,P2) false
    assert (row["tp"], row["fp"], row["fn"], row["n_true"]) == (3, 2, 0, 3)
    assert row["fpr"] == pytest.approx(2 / 12) and row["auroc"] == pytest.approx(1.0)
    assert row["hotspot_auroc"] == pytest.approx(4 / 6)  # v1 > all; v3 (0.8) below v2, v4
    assert (row["n_chunks"], row["iterations"], row["max_iterations"]) == (2, 83, 42)
    assert list(runtime["chunk"]) == [1, 2] and (runtime["seconds"] == 1.5).all()
    no_truth, _ = evaluate_qtl(["adaptive"], [assoc], [hot], jsons, out_metrics=tmp_path / "m2.tsv",
                               out_runtime=tmp_path / "r2.tsv")
    assert np.isnan(no_truth["auroc"].iloc[0]) and no_truth["n_pairs"].iloc[0] == 15
