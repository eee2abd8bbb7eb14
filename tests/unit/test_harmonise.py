"""harmonise(): each matching case (swap, strand flip, ambiguous, duplicates, chromosome names,
missing A2, rsID matching) with its audit reason; build and overlap refusals; summary order."""

import logging

import numpy as np
import pandas as pd
import pytest

from vibank import VibankError
from vibank import columns as col
from vibank.sumstats import AUDIT_COLUMNS, FILTER_ORDER, harmonise

PAIRS = [("A", "C"), ("A", "G"), ("C", "T"), ("G", "T")]  # none strand-ambiguous


def ld_table(m=40, chrom="1"):
    a1, a2 = zip(*[PAIRS[i % 4] for i in range(m)])
    return pd.DataFrame({col.CHR: chrom, col.SNP: [f"rs{i}" for i in range(m)],
                         col.POS: 1000 * np.arange(1, m + 1), col.CM: 0.0, col.A1: a1, col.A2: a2,
                         col.MAF: 0.2, col.A1_FREQ: 0.2})


def sumstats_from(ld, rows=None):
    ld = ld if rows is None else ld.iloc[rows]
    m = len(ld)
    z = np.linspace(-3, 3, m)
    # lists: to_numpy() of a string column can share memory with the LD table
    return pd.DataFrame({col.CHR: ld[col.CHR].tolist(), col.SNP: ld[col.SNP].tolist(),
                         col.POS: ld[col.POS].tolist(), col.A1: ld[col.A1].tolist(),
                         col.A2: ld[col.A2].tolist(), col.N: 1000, col.MAF: 0.2, col.BETA: z / 10,
                         col.SE: 0.1, col.Z: z, col.P: 0.5, col.A1_FREQ: 0.2})


def reasons(audit):
    return dict(zip(audit[col.SNP], audit["reason"]))


def test_harmonise__identical_input_matches_everything():
    ld = ld_table()
    s = sumstats_from(ld).iloc[::-1]  # order does not matter: output follows the LD
    before = s.copy(), ld.copy()
    matched, mask, audit, summary = harmonise(s, ld)
    pd.testing.assert_frame_equal(s, before[0])
    pd.testing.assert_frame_equal(ld, before[1])
    assert mask.all() and len(audit) == 0 and list(audit.columns) == list(AUDIT_COLUMNS)
    assert matched[col.SNP].tolist() == ld[col.SNP].tolist()
    np.testing.assert_allclose(matched[col.Z], np.linspace(-3, 3, 40))
    assert summary["matched"] == 40 and summary["overlap"] == 1.0


def test_harmonise__swap_flips_signs_and_frequency():
    ld = ld_table()
    s = sumstats_from(ld)
    s.loc[3, [col.A1, col.A2]] = s.loc[3, [col.A2, col.A1]].to_numpy()
    res = harmonise(s, ld)
    row = res.matched.iloc[3]
    assert (row[col.A1], row[col.A2]) == (ld[col.A1][3], ld[col.A2][3])
    assert row[col.Z] == -s[col.Z][3] and row[col.BETA] == -s[col.BETA][3]
    assert row[col.A1_FREQ] == pytest.approx(0.8)
    assert res.summary["swapped"] == 1 and res.summary["strand_flipped"] == 0


def test_harmonise__strand_complement_matches():
    ld = ld_table()
    s = sumstats_from(ld)
    s.loc[0, [col.A1, col.A2]] = ["T", "G"]  # LD A/C on the other strand
    s.loc[1, [col.A1, col.A2]] = ["C", "T"]  # LD A/G: complement and swapped
    res = harmonise(s, ld)
    assert res.mask.all() and res.summary["strand_flipped"] == 2 and res.summary["swapped"] == 1
    assert res.matched[col.Z][0] == s[col.Z][0] and res.matched[col.Z][1] == -s[col.Z][1]


def test_harmonise__ambiguous_dropped_by_default():
    ld = ld_table()
    ld.loc[5, [col.A1, col.A2]] = ["A", "T"]
    s = sumstats_from(ld)
    res = harmonise(s, ld)
    assert reasons(res.audit) == {"rs5": "ambiguous"} and not res.mask[5]


def test_harmonise__ambiguous_kept_when_frequencies_resolve():
    ld = ld_table()
    ld.loc[[5, 6, 7], [col.A1, col.A2]] = [["A", "T"], ["C", "G"], ["T", "A"]]
    s = sumstats_from(ld)
    # rs5: GWAS A1 frequency 0.8 against the panel's 0.2: the GWAS A1 is the panel's A2
    s.loc[5, col.A1_FREQ] = 0.8
    s.loc[6, col.A1_FREQ] = 0.22  # same orientation
    s.loc[7, col.A1_FREQ] = 0.45  # too common to tell
    res = harmonise(s, ld, keep_ambiguous=True, ambiguous_max_maf=0.4)
    assert res.matched.set_index(col.SNP)[col.Z]["rs5"] == -s[col.Z][5]
    assert res.matched.set_index(col.SNP)[col.Z]["rs6"] == s[col.Z][6]
    assert reasons(res.audit) == {"rs7": "ambiguous_maf"}
    assert res.summary["ambiguous_resolved"] == 2


def test_harmonise__ambiguous_without_panel_frequency_is_unresolved():
    ld = ld_table().drop(columns=col.A1_FREQ)  # vibank LD stores keep the MAF only
    ld.loc[5, [col.A1, col.A2]] = ["A", "T"]
    res = harmonise(sumstats_from(ld), ld, keep_ambiguous=True)
    assert reasons(res.audit) == {"rs5": "ambiguous_unresolved"}
    assert "LD panel" in res.audit["detail"][0]


def test_harmonise__duplicates_drop_all_copies():
    ld = ld_table()
    s = sumstats_from(ld)
    s = pd.concat([s, s.iloc[[2]].assign(**{col.SNP: "rs2_copy", col.Z: 9.0})], ignore_index=True)
    res = harmonise(s, ld)
    assert reasons(res.audit) == {"rs2": "duplicate", "rs2_copy": "duplicate"}
    assert not res.mask[2] and res.summary["duplicate"] == 2


def test_harmonise__per_variant_filters_have_reasons():
    ld = ld_table()
    s = sumstats_from(ld)
    s.loc[0, col.A1] = "AT"                       # indel
    s.loc[1, col.A2] = "G,T"                      # multi-allelic code
    s.loc[2, col.SE] = 0.0
    s.loc[3, col.Z] = np.inf
    s.loc[4, col.N] = 100                         # < 2/3 x q90 of N
    s.loc[5, col.POS] = 999_999                   # nothing there in the panel
    s.loc[6, [col.A1, col.A2]] = ["A", "T"]       # panel has C/T at this position (rs6)
    s.loc[7, col.CHR] = "chr1"                    # same chromosome, other spelling: kept
    s.loc[8, col.CHR] = "2"                       # another chromosome: counted, not audited
    s.loc[9, col.MAF] = 0.001
    res = harmonise(s, ld, min_maf=0.01)
    assert reasons(res.audit) == {"rs0": "invalid_allele", "rs1": "multiallelic",
                                  "rs2": "se_nonpositive",
                                  "rs3": "non_finite", "rs4": "n_outlier", "rs5": "not_in_ld",
                                  "rs6": "allele_mismatch", "rs9": "maf_filter"}
    assert res.mask[7] and res.summary["other_chromosome"] == 1
    # audit rows in the fixed filter order, every filter counted in the summary in that order
    assert res.audit["reason"].tolist() == sorted(res.audit["reason"], key=FILTER_ORDER.index)
    assert list(res.summary)[1:len(FILTER_ORDER) + 1] == list(FILTER_ORDER)
    assert "LD C/T" in res.audit.set_index(col.SNP)["detail"]["rs6"]


def test_harmonise__missing_a2_taken_from_ld():
    ld = ld_table()
    s = sumstats_from(ld)
    s[col.A2] = pd.NA
    s.loc[1, col.A1] = ld[col.A2][1]
    res = harmonise(s, ld)
    assert res.mask.all() and res.summary["a2_from_ld"] == 40
    assert res.matched[col.Z][1] == -s[col.Z][1]


def test_harmonise__rsid_when_positions_absent():
    ld = ld_table()
    s = sumstats_from(ld).drop(columns=[col.CHR, col.POS])  # an LDSC .sumstats file
    res = harmonise(s, ld)
    assert res.mask.all() and res.matched[col.POS].tolist() == ld[col.POS].tolist()


def test_harmonise__other_build_refused():
    ld = ld_table(60)
    s = sumstats_from(ld)
    s[col.POS] = s[col.POS] + 12_345  # a liftover shift
    with pytest.raises(VibankError, match=r"60 of 60 variants found by ID .*\(100%\) sit at other "
                                          r"positions: the genome build seems different"):
        harmonise(s, ld, label="gwas.tsv")


def test_harmonise__low_overlap_refused_unless_allowed(caplog):
    ld = ld_table()
    s = sumstats_from(ld)
    s.loc[:19, col.POS] = s.loc[:19, col.POS] + 1  # half the rows find nothing there
    s.loc[:19, col.SNP] = [f"new{i}" for i in range(20)]
    with pytest.raises(VibankError, match=r"gwas.tsv: only 20 variants pair up with chr1.zarr "
                                          r"\(50.0% .*min_overlap 75%\)"):
        harmonise(s, ld, label="gwas.tsv", ld_label="chr1.zarr")
    with caplog.at_level(logging.INFO, logger="vibank.sumstats.harmonise"):
        res = harmonise(s, ld, allow_low_overlap=True)
    assert res.mask.sum() == 20 and res.summary["not_in_ld"] == 20
    assert "not_in_ld 20" in caplog.text and "(allowed)" in caplog.text


def test_harmonise__same_strand_keeps_ambiguous_and_takes_alleles_literally():
    ld = ld_table().drop(columns=col.A1_FREQ)
    ld.loc[5, [col.A1, col.A2]] = ["A", "T"]
    s = sumstats_from(ld)
    s.loc[6, [col.A1, col.A2]] = s.loc[6, [col.A2, col.A1]].to_numpy()  # a swap still pairs up
    s.loc[0, [col.A1, col.A2]] = ["T", "G"]  # LD A/C complemented: not the same strand
    res = harmonise(s, ld, strand="same")
    assert reasons(res.audit) == {"rs0": "allele_mismatch"}
    z = res.matched.set_index(col.SNP)[col.Z]
    assert z["rs5"] == s[col.Z][5] and z["rs6"] == -s[col.Z][6]
    assert res.summary["ambiguous_resolved"] == 0 and res.summary["strand_flipped"] == 0
    with pytest.raises(ValueError, match="strand"):
        harmonise(s, ld, strand="both")
