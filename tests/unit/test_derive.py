"""derive_values on hand-made columns by role: Z, P, MAF and N derivations against hand
computations, and the rows it drops with their reason codes."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibank import VibankError
from vibank import columns as col
from vibank.sumstats import AUDIT_COLUMNS, OUTPUT_COLUMNS, derive_values
from vibank.sumstats.qc import Z_CEILING


def roles(**columns):
    """Columns as the readers hand them over: text roles as "string", numbers as float."""
    text = {"SNP", "CHR", "A1", "A2", "ERRCODE"}
    return pd.DataFrame({k: pd.array(v, dtype="string") if k in text else np.asarray(v, float)
                         for k, v in columns.items()})


def test_derive_values__z_from_p_and_sign_of_beta():
    raw = roles(SNP=["rs1", "rs2", "rs3"], A1=["a", "C", "G"], A2=["G", "T", "A"],
                BETA=[0.3, -0.1, np.nan], P=[0.05, 1e-10, 0.2], N=[100, 100, 100])
    table, audit = derive_values(raw)
    assert list(table.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(table[col.Z], [stats.norm.isf(0.025), -stats.norm.isf(5e-11)])
    assert table[col.A1].tolist() == ["A", "C"]
    # no BETA and no SE: the p-value has no sign, so no Z
    assert audit[[col.SNP, "reason"]].values.tolist() == [["rs3", "missing_statistic"]]


def test_derive_values__beta_from_odds_ratio_and_p_from_z():
    raw = roles(SNP=["rs1", "rs2"], A1=["A", "C"], OR=[np.e, 0.5], SE=[0.5, 0.1], N=[10, 10])
    table, _ = derive_values(raw)
    np.testing.assert_allclose(table[col.BETA], [1.0, np.log(0.5)])
    np.testing.assert_allclose(table[col.Z], [2.0, np.log(0.5) / 0.1])
    np.testing.assert_allclose(table[col.P], 2 * stats.norm.sf(np.abs(table[col.Z])))


def test_derive_values__z_from_log10p_beyond_double_range():
    raw = roles(SNP=["rs1"], A1=["A"], BETA=[-1.0], LOG10P=[400.0], N=[10])
    table, _ = derive_values(raw)
    # log(p / 2) = -400 ln 10 - ln 2 must be the normal's log tail at Z
    assert table[col.Z][0] < -Z_CEILING
    np.testing.assert_allclose(stats.norm.logcdf(table[col.Z][0]), -400 * np.log(10) - np.log(2))


def test_derive_values__maf_folded_from_a1_freq():
    raw = roles(SNP=["rs1", "rs2", "rs3"], A1=["A", "C", "G"], Z=[1, 2, 3], N=[5, 5, 5],
                A1_FREQ=[0.9, 0.2, np.nan], MAF=[0.4, 0.4, 0.3])
    table, _ = derive_values(raw)
    # the effect-allele frequency wins over a MAF column; MAF is used where there is none
    np.testing.assert_allclose(table[col.MAF], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(table[col.A1_FREQ], [0.9, 0.2, np.nan])


def test_derive_values__sample_size_from_cases_controls_and_given_n():
    raw = roles(SNP=["rs1", "rs2"], A1=["A", "C"], Z=[1, 2], N_CASE=[100, np.nan],
                N_CONTROL=[250.4, 300])
    table, audit = derive_values(raw, n=1000)
    assert table[col.N].tolist() == [350, 1000] and table[col.N].dtype == np.int64
    assert audit.empty
    with pytest.raises(VibankError, match=r"^f.tsv: no sample-size column .* give the GWAS"):
        derive_values(roles(SNP=["rs1"], A1=["A"], Z=[1.0]), label="f.tsv")
    with pytest.raises(VibankError, match=r"^f.tsv: the given sample size n = 0 is not positive"):
        derive_values(raw, n=0, label="f.tsv")


def test_derive_values__rows_dropped_with_reason_codes():
    raw = roles(
        SNP=["rs1", None, "rs3", "rs4", "rs5", "rs6", None, "rs8"],
        CHR=["chr1", None, "1", "1", "1", "1", "X", "01"],
        POS=[10, 20, 30, 40, 50, 60, 70, 80],
        A1=["A", "A", None, "A", "A", "A", "A", "A"],
        BETA=[1, 1, 1, 1, 1, np.nan, 1, 1],
        SE=[0.5, 0.5, 0.5, 0.5, 0, np.nan, 0.5, 0.5],
        N=[10, 10, 10, np.nan, 10, 10, 10, 10],
        ERRCODE=[None, None, None, None, None, None, None, "CONST_ALLELE"])
    table, audit = derive_values(raw)
    assert table[col.SNP].tolist() == ["rs1", "23:70"] and table[col.CHR].tolist() == ["1", "23"]
    assert table.index.tolist() == [0, 1]
    assert audit.dtypes.astype(str).to_dict() == AUDIT_COLUMNS
    # with no chromosome the CHR:POS stand-in is missing too
    assert audit[col.SNP].fillna("?").tolist() == ["?", "rs3", "rs4", "rs5", "rs6", "rs8"]
    assert audit[["reason", "detail"]].values.tolist() == [
        ["missing_value", "no variant ID and no CHR:POS"],
        ["missing_value", "no effect allele"],
        ["missing_value", "no sample size"],
        ["se_nonpositive", "SE <= 0"],
        ["missing_statistic", "no Z, BETA/SE or P with a signed effect"],
        ["errcode", "plink2 ERRCODE CONST_ALLELE"],
    ]
    assert (audit["action"] == "dropped").all()


def test_derive_values__p_zero_clipped_and_kept():
    raw = roles(SNP=["rs1", "rs2"], A1=["A", "C"], BETA=[-2, 1], P=[0, 0], N=[9, np.nan])
    table, audit = derive_values(raw)
    np.testing.assert_allclose(table[col.Z], [-Z_CEILING])
    # rs2 is clipped too but dropped for its missing N: one audit row each
    assert audit[["reason", "action"]].values.tolist() == [["p_clipped", "clipped"],
                                                            ["missing_value", "dropped"]]


def test_derive_values__no_effect_allele_column():
    with pytest.raises(VibankError, match=r"^x: column A1 \(the effect allele\) is missing"):
        derive_values(roles(SNP=["rs1"], Z=[1.0], N=[5]), label="x")
