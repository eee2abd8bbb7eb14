"""vibank.qtl.scan: chunking, Bayesian FDR, calling a toy fit into pairs, cis/trans labels and
loci, against hand computations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qtl_toy import GENES, toy_long

from vibank.qtl import bayesian_fdr, call_pairs, cis_trans, clump_loci, make_chunks


@pytest.mark.parametrize("n, size, expected", [(10, 4, 2), (10, 3, 3), (3, 100, 1), (1000, 1000, 1),
                                               (2500, 1000, 2)])
def test_make_chunks__contiguous_and_balanced(n, size, expected):
    ids = make_chunks(n, size)
    assert len(ids) == n and ids[0] == 1 and ids.max() == expected
    assert np.all(np.diff(ids) >= 0) and set(np.diff(ids)) <= {0, 1}  # contiguous, in order
    counts = np.bincount(ids)[1:]
    assert counts.max() - counts.min() <= 1


def test_bayesian_fdr__cumulative_mean_of_one_minus_ppi():
    ppi = np.array([0.2, 0.99, 0.5, 0.9])
    # sorted: 0.99, 0.9, 0.5, 0.2 -> 1 - ppi: 0.01, 0.1, 0.5, 0.8
    expected_sorted = np.array([0.01, 0.055, 0.61 / 3, 1.41 / 4])
    assert_allclose(bayesian_fdr(ppi), expected_sorted[[3, 0, 2, 1]])


def test_call_pairs__threshold_and_fdr():
    calls = call_pairs(toy_long(), threshold=0.5)
    assert list(zip(calls["SNP"], calls["protein"])) == [
        ("v1", "P1"), ("v3", "P3"), ("v1", "P2"), ("v2", "P1"), ("v4", "P2")]
    # Bayesian FDR < 0.1: sorted 1 - PPI = 0.05, 0.2, 0.3, ... -> FDR 0.05, 0.125: one pair
    fdr_calls = call_pairs(toy_long(), fdr_level=0.1)
    assert list(zip(fdr_calls["SNP"], fdr_calls["protein"])) == [("v1", "P1")]
    assert fdr_calls["FDR"].iloc[0] == pytest.approx(0.05)


def test_cis_trans__window_chromosome_and_unplaced():
    labels = cis_trans(["1", "1", "1", "2"], [100_000, 2_000_001, 2_000_000, 500_000],
                       ["P1", "P1", "P3", "P4"], GENES, 1_000_000)
    assert labels.tolist() == ["cis", "trans", "cis", ""]
    assert cis_trans(["1"], [1], ["P1"], None, 1_000_000).tolist() == [""]


def test_clump_loci__greedy_flank_and_best_variant_per_protein():
    calls = call_pairs(toy_long(), threshold=0.5)
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
