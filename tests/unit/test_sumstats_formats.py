"""Readers of the sumstats formats on small hand-written files with each tool's real header,
Z derivations against hand computations, autodetection, and one-line errors on bad input."""

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibank import VibankError
from vibank import columns as col
from vibank.io.sumstats import write_sumstats
from vibank.io.sumstats_formats import detect_format, read_sumstats_columns
from vibank.sumstats import OUTPUT_COLUMNS, p_from_z, read_sumstats_any, z_from_p
from vibank.sumstats.qc import P_FLOOR, Z_CEILING, normalise_chrom


def write(tmp_path, name, lines, sep="\t"):
    path = tmp_path / name
    path.write_text("\n".join(sep.join(line.split()) for line in lines) + "\n")
    return path


PLINK2_LINEAR = [
    "#CHROM POS ID REF ALT PROVISIONAL_REF? A1 OMITTED A1_FREQ TEST OBS_CT BETA SE T_STAT P "
    "ERRCODE",
    "1 1000 rs1 A G Y G A 0.25 ADD 500 0.5 0.1 5 5.7e-7 .",
    "1 2000 rs2 C T Y C T 0.9 ADD 498 -0.2 0.05 -4 6.3e-5 .",
    "1 3000 rs3 G A Y A G 0.5 ADD 0 NA NA NA NA CONST_ALLELE",
]


def test_read_sumstats_any__plink2_linear(tmp_path):
    path = write(tmp_path, "gwas.PHENO1.glm.linear", PLINK2_LINEAR)
    table, audit = read_sumstats_any(path)
    assert list(table.columns) == OUTPUT_COLUMNS
    assert table[col.SNP].tolist() == ["rs1", "rs2"]
    # A1 is the tested allele; the other allele is OMITTED (here equal to REF or ALT)
    assert table[col.A1].tolist() == ["G", "C"] and table[col.A2].tolist() == ["A", "T"]
    np.testing.assert_allclose(table[col.Z], [5.0, -4.0])
    np.testing.assert_allclose(table[col.MAF], [0.25, 0.1])
    assert table[col.N].tolist() == [500, 498]
    assert audit["reason"].tolist() == ["errcode"] and "CONST_ALLELE" in audit["detail"][0]


def test_read_sumstats_columns__roles_as_read_without_derivation(tmp_path):
    path = write(tmp_path, "gwas.PHENO1.glm.linear", PLINK2_LINEAR)
    raw = read_sumstats_columns(path)
    assert raw.format == "plink2"
    # the file's numbers and codes by role; no Z or MAF derived and no row dropped yet
    assert raw.columns["SNP"].tolist() == ["rs1", "rs2", "rs3"] and "MAF" not in raw.columns
    assert raw.columns["ERRCODE"].isna().tolist() == [True, True, False]
    np.testing.assert_allclose(raw.columns["Z"], [5.0, -4.0, np.nan])
    # the I/O layer does not import the sumstats domain (which imports it)
    code = "import sys, vibank.io.sumstats_formats; print('vibank.sumstats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_read_sumstats_any__plink2_logistic_hybrid_or(tmp_path):
    lines = ["#CHROM POS ID REF ALT A1 A1_FREQ FIRTH? TEST OBS_CT OR LOG(OR)_SE Z_STAT P ERRCODE",
             "chr2 500 rs5 A C C 0.3 N ADD 1000 1.5 0.1 4.05465 5.0e-5 .",
             "chr2 600 rs6 T G T 0.8 Y ADD 1000 0.8 0.2 NA 0.26 .",
             "chr2 700 rs7 T G,C G 0.1 N ADD 1000 1.1 0.2 0.4766 0.63 ."]
    path = write(tmp_path, "gwas.case.glm.logistic.hybrid", lines)
    table, _ = read_sumstats_any(path)
    assert detect_format(lines[0].split(), str(path)) == "plink2"
    # A2 from REF/ALT: ALT when A1 = REF, REF when A1 = ALT; a multi-allelic ALT list stays a list
    assert table[col.A2].tolist() == ["A", "G", "G,C"]
    assert table[col.CHR].tolist() == ["2", "2", "2"]
    np.testing.assert_allclose(table[col.BETA], np.log([1.5, 0.8, 1.1]))
    # Z_STAT where given, else log(OR) / SE
    np.testing.assert_allclose(table[col.Z][:2], [4.05465, np.log(0.8) / 0.2])


def test_read_sumstats_any__plink1_linear_keeps_additive_rows(tmp_path):
    lines = ["CHR SNP BP A1 TEST NMISS BETA STAT P",
             "1 rs1 1000 G ADD 500 0.5 5.0 5.7e-7",
             "1 rs1 1000 G COV1 500 0.01 0.2 0.84",
             "1 rs2 2000 T ADD 498 -0.2 -4.0 6.3e-5"]
    path = write(tmp_path, "gwas.assoc.linear", lines, sep="  ")
    table, audit = read_sumstats_any(path)
    assert table[col.SNP].tolist() == ["rs1", "rs2"] and len(audit) == 0
    assert table[col.A2].isna().all()  # plink 1.9 --linear has no A2: harmonise takes the LD's
    np.testing.assert_allclose(table[col.Z], [5.0, -4.0])


def test_read_sumstats_any__plink1_assoc_z_from_p_and_or_sign(tmp_path):
    lines = ["CHR SNP BP A1 F_A F_U A2 CHISQ P OR",
             "1 rs1 1000 G 0.3 0.2 A 3.84 0.05 0.7",
             "1 rs2 2000 T 0.1 0.1 C 0 1 1.0"]
    path = write(tmp_path, "gwas.assoc", lines, sep=" ")
    with pytest.raises(VibankError, match=r"gwas.assoc: no sample-size column"):
        read_sumstats_any(path)
    table, _ = read_sumstats_any(path, n=2000)
    # no SE: |Z| = Phi^-1(1 - p/2) with the sign of log(OR): p = 0.05, OR < 1 -> -1.959964
    np.testing.assert_allclose(table[col.Z], [-1.959963985, 0.0], atol=1e-8)
    assert table[col.N].tolist() == [2000, 2000]


def test_read_sumstats_any__fastgwa(tmp_path):
    lines = ["CHR SNP POS A1 A2 N AF1 BETA SE P",
             "3 rs9 100 A G 4000 0.7 0.05 0.01 5.7e-7"]
    table, _ = read_sumstats_any(write(tmp_path, "t.fastGWA", lines))
    np.testing.assert_allclose(table[col.Z], [5.0])
    np.testing.assert_allclose(table[col.MAF], [0.3])
    assert table[col.A1_FREQ].tolist() == [0.7]


def test_read_sumstats_any__gwas_ssf(tmp_path):
    lines = ["chromosome base_pair_location effect_allele other_allele beta standard_error "
             "effect_allele_frequency p_value variant_id rsid n",
             "1 1000 G A 0.5 0.1 0.25 5.7e-7 1_1000_A_G rs1 5000",
             "X 2000 c t #NA #NA 0.9 0.01 X_2000_T_C #NA 5000"]
    path = write(tmp_path, "GCST000001.tsv", lines)
    table, audit = read_sumstats_any(path)
    assert table[col.SNP].tolist() == ["rs1"]
    assert audit["reason"].tolist() == ["missing_statistic"]  # no beta, so no sign for the p
    assert audit[col.CHR].tolist() == ["23"] and audit[col.A1].tolist() == ["C"]


def test_read_sumstats_any__gwas_ssf_odds_ratio_and_neg_log10_p(tmp_path):
    lines = ["chromosome base_pair_location effect_allele other_allele odds_ratio standard_error "
             "effect_allele_frequency neg_log_10_p_value rsid",
             "1 1000 G A 1.5 NA 0.25 400 rs1"]
    table, _ = read_sumstats_any(write(tmp_path, "s.tsv", lines), format="gwas-ssf", n=10_000)
    z = table[col.Z][0]
    # exact far below the double range: log(2) + log Phi(-z) = log(1e-400)
    assert z > 0 and np.isclose(np.log(2) + stats.norm.logsf(z), -400 * np.log(10), rtol=1e-10)


def test_read_sumstats_any__saige_effect_allele_is_allele2(tmp_path):
    lines = ["CHR POS MarkerID Allele1 Allele2 AC_Allele2 AF_Allele2 MissingRate BETA SE Tstat var "
             "p.value N",
             "1 1000 rs1 A G 250 0.25 0 0.5 0.1 50 100 5.7e-7 500"]
    table, _ = read_sumstats_any(write(tmp_path, "saige.txt", lines))
    assert (table[col.A1][0], table[col.A2][0]) == ("G", "A")
    np.testing.assert_allclose(table[col.Z], [5.0])  # BETA / SE, not the score statistic Tstat


def test_read_sumstats_any__regenie(tmp_path):
    lines = ["CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P EXTRA",
             "1 1000 rs1 A G 0.25 1 500 ADD 0.5 0.1 25 6.24 NA",
             "1 1000 rs1 A G 0.25 1 500 DOM 0.1 0.1 1 0.5 NA"]
    table, _ = read_sumstats_any(write(tmp_path, "out_Y1.regenie", lines, sep=" "))
    assert len(table) == 1 and table[col.A1][0] == "G"
    np.testing.assert_allclose(table[col.Z], [5.0])
    np.testing.assert_allclose(table[col.P], [10 ** -6.24])


def test_read_sumstats_any__ldsc(tmp_path):
    lines = ["SNP A1 A2 Z N", "rs1 A G 2.5 10000.0", "rs2 C T -1.0 9000.0"]
    table, _ = read_sumstats_any(write(tmp_path, "trait.sumstats", lines))
    assert table[col.POS].isna().all() and table[col.CHR].isna().all()
    np.testing.assert_allclose(table[col.P], p_from_z([2.5, -1.0]))
    assert table[col.N].tolist() == [10000, 9000]


def test_read_sumstats_any__vibank_round_trip(tmp_path):
    lines = ["SNP A1 A2 Z N", "rs1 A G 2.5 10000", "rs2 C T -1.0 9000"]
    table, _ = read_sumstats_any(write(tmp_path, "a.sumstats", lines))
    write_sumstats(table, tmp_path / "x.sumstats.tsv.gz")
    again, _ = read_sumstats_any(tmp_path / "x.sumstats.tsv.gz")
    assert detect_format(list(col.SUMSTATS_ORDER)) == "vibank"
    np.testing.assert_allclose(again[col.Z], table[col.Z])


def test_read_sumstats_any__custom_column_map(tmp_path):
    lines = ["marker chrom bp effect other b s pval",
             "rs1 chr1 1000 g a -0.3 0.1 0.0027"]
    cmap = {"SNP": "marker", "CHR": "chrom", "POS": "bp", "A1": "effect", "A2": "other",
            "BETA": "b", "SE": "s", "P": "pval"}
    path = write(tmp_path, "c.txt", lines)
    table, _ = read_sumstats_any(path, format="custom", column_map=cmap, n=800)
    assert (table[col.CHR][0], table[col.POS][0], table[col.A1][0]) == ("1", 1000, "G")
    np.testing.assert_allclose(table[col.Z], [-3.0])
    with pytest.raises(VibankError, match=r"column 'beta' \(given for BETA in column_map\)"):
        read_sumstats_any(path, format="custom", column_map={**cmap, "BETA": "beta"}, n=1)


def test_read_sumstats_any__p_zero_clipped_and_recorded(tmp_path):
    lines = ["CHR SNP POS A1 A2 N AF1 BETA SE P", "1 rs1 100 A G 100 0.5 -2 NA 0"]
    table, audit = read_sumstats_any(write(tmp_path, "z.fastGWA", lines))
    np.testing.assert_allclose(table[col.Z], [-Z_CEILING])
    assert audit["reason"].tolist() == ["p_clipped"] and audit["action"].tolist() == ["clipped"]


def test_z_from_p__hand_values():
    z, clipped = z_from_p([0.05, 1.0, 0.0, 1e-300], [1, -1, -1, 2])
    np.testing.assert_allclose(z[:2], [1.959963985, 0.0], atol=1e-8)
    assert clipped.tolist() == [False, False, True, False]
    assert np.isclose(z[2], -stats.norm.isf(P_FLOOR / 2)) and np.isclose(z[2], -37.5378, atol=1e-4)
    assert np.isclose(np.log(2) + stats.norm.logsf(z[3]), np.log(1e-300))


def test_normalise_chrom__spellings():
    names = ["chr1", "01", "1", "chrX", "X", "23", "MT", "chr6_cox_hap2"]
    assert normalise_chrom(names).tolist() == ["1", "1", "1", "23", "23", "23", "26", "6_COX_HAP2"]


def test_read_sumstats_any__gzip(tmp_path):
    path = tmp_path / "t.regenie.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST BETA SE CHISQ LOG10P\n"
                     "1 1 rs1 A G 0.1 10 ADD 1 0.5 4 1.3\n")
    table, _ = read_sumstats_any(path)
    np.testing.assert_allclose(table[col.Z], [2.0])


@pytest.mark.parametrize("content, fmt, message", [
    ("", "auto", r"e.txt: file is empty"),
    ("SNP\tA1\tA2\tZ\tN\n", "auto", r"e.txt: header only, no variant rows"),
    ("SNP,A1,A2,Z,N\nrs1,A,G,1,10\n", "auto", r"e.txt: line 1: .*comma-separated"),
    ("CHR SNP POS A1 A2 N AF1 BETA\n1 rs1 1 A G 10 0.1 1\n", "fastgwa",
     r"e.txt: column SE is missing"),
    ("CHR SNP POS A2 N AF1 BETA SE P\n1 rs1 1 G 10 0.1 1 1 0.1\n", "fastgwa",
     r"e.txt: column A1 is missing \(fastgwa format: the effect allele\)"),
    ("SNP\tA2\tZ\tN\nrs1\tG\t1\t10\n", "auto", r"e.txt: cannot tell the summary-statistics format"),
    ("SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t1\t10\nrs2\tA\tG\tabc\t10\n", "auto",
     r"e.txt: line 3, column Z: 'abc' is not a number"),
    ("SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t1\t10\nrs1\tA\tG\t1\t10\textra\n", "auto",
     r"e.txt: line 3 has 6 fields, the header 5"),
])
def test_read_sumstats_any__bad_input_one_line(tmp_path, content, fmt, message):
    path = tmp_path / "e.txt"
    path.write_text(content)
    with pytest.raises(VibankError, match=message) as err:
        read_sumstats_any(path, format=fmt)
    assert "\n" not in str(err.value)


def test_read_sumstats_any__missing_file_and_unknown_format(tmp_path):
    with pytest.raises(VibankError, match=r"nope.tsv: file not found"):
        read_sumstats_any(tmp_path / "nope.tsv")
    path = write(tmp_path, "l.sumstats", ["SNP A1 A2 Z N", "rs1 A G 1 10"])
    with pytest.raises(VibankError, match=r"unknown summary-statistics format 'bolt'"):
        read_sumstats_any(path, format="bolt")


def test_parse_numbers__fast_and_careful_paths_read_the_same_values():
    """A column of numbers only is parsed in one call; a column with an NA token takes the
    careful path (strip, NA tokens, the bad-value check): the same values either way."""
    from vibank.io.sumstats_formats import _parse_numbers

    numbers = [" 1.5", "2 ", "-3e-300", "inf", "42", "0.000123456789012345", "-0"]
    raw = pd.DataFrame({"clean": numbers, "with_na": numbers[:-1] + ["NA"]}, dtype=str)
    fast = _parse_numbers(raw, {"BETA": "clean"}, "x.tsv", first_line=2)["BETA"]
    careful = _parse_numbers(raw, {"BETA": "with_na"}, "x.tsv", first_line=2)["BETA"]
    expected = [float(x) for x in numbers]
    assert fast.dtype == np.float64 and list(fast) == expected
    assert list(careful[:-1]) == expected[:-1] and np.isnan(careful[-1])
