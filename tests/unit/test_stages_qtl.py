"""vibank.stages.qtl: discovery samples, combining toy chunk fits into calls, loci and hotspots,
and the evaluation tables against hand computations."""

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from qtl_toy import GENES, toy_long

from vibank.errors import VibankError
from vibank.stages.qtl import combine_qtl, discovery_samples, evaluate_qtl


def test_discovery_samples__cv_role_only(tmp_path):
    path = tmp_path / "splits.tsv"
    pd.DataFrame({"FID": ["a", "b", "c", "d"], "IID": ["a", "b", "c", "d"],
                  "ROLE": ["ld_panel", "cv", "target", "cv"]}).to_csv(path, sep="\t", index=False)
    assert discovery_samples(path)["IID"].tolist() == ["b", "d"]
    pd.DataFrame({"FID": ["a"], "IID": ["a"], "ROLE": ["ld_panel"]}).to_csv(path, sep="\t",
                                                                           index=False)
    with pytest.raises(VibankError, match="no discovery samples"):
        discovery_samples(path)


def test_combine_qtl__tables_from_toy_chunks(tmp_path):
    long = toy_long()
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


def test_evaluate_qtl__pairs_hotspots_and_runtime(tmp_path):
    long = toy_long()
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
    assert row["tp_ppi90"] + row["fp_ppi90"] <= 5 and not np.isnan(row["fp_fdr05"])
    assert row["fpr"] == pytest.approx(2 / 12) and row["auroc"] == pytest.approx(1.0)
    assert row["hotspot_auroc"] == pytest.approx(4 / 6)  # v1 > all; v3 (0.8) below v2, v4
    assert (row["n_chunks"], row["iterations"], row["max_iterations"]) == (2, 83, 42)
    assert list(runtime["chunk"]) == [1, 2] and (runtime["seconds"] == 1.5).all()
    no_truth, _ = evaluate_qtl(["adaptive"], [assoc], [hot], jsons, out_metrics=tmp_path / "m2.tsv",
                               out_runtime=tmp_path / "r2.tsv")
    assert np.isnan(no_truth["auroc"].iloc[0]) and no_truth["n_pairs"].iloc[0] == 15
