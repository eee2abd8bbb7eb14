"""plink2 --glm output -> canonical sumstats; sumstats file round trip; GWAS summary table."""

import gzip

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibank import VibankError
from vibank import columns as col
from vibank.genotypes.gwas import glm_to_sumstats, summarise_gwas
from vibank.io.sumstats import read_sumstats, write_sumstats

LINEAR_HEADER = "#CHROM POS ID REF ALT A1 AX A1_FREQ TEST OBS_CT BETA SE T_STAT P ERRCODE"
LOGISTIC_HEADER = ("#CHROM POS ID REF ALT A1 AX A1_FREQ FIRTH? TEST OBS_CT BETA SE Z_STAT P "
                   "ERRCODE")

LINEAR_ROWS = [
    "1 100 rs1 A G G A 0.25 ADD 500 0.5 0.1 5.0 1e-6 .",
    "1 200 rs2 C T C T 0.9 ADD 498 -0.2 0.05 -4.0 6e-5 .",
    "1 300 rs3 G A A G 0.5 ADD 0 NA NA NA NA CONST_ALLELE",
    "2 150 rs4 T C C T 0.02 ADD 450 NA 0.3 NA NA .",
    "2 250 rs5 A C A C 0.6 ADD 497 0.01 0.02 0.5 0.617 .",
]
LOGISTIC_ROWS = [
    "1 100 rs1 A G G A 0.3 N ADD 500 0.7 0.2 3.5 4.6e-4 .",
    "1 200 rs2 C T T C 0.97 Y ADD 500 -1.1 0.5 -2.2 0.0278 .",
    "1 300 rs3 G A G A 0.1 N ADD 500 NA NA NA NA UNFINISHED",
    "1 400 rs4 G T G T 0.1 N ADD 500 NA NA NA NA UNFINISHED",
    "3 50 rs5 A T A T 0.4 Y ADD 499 inf 0.1 inf 0 .",
]


def _write_glm(path, header, rows):
    lines = [header, *rows]
    path.write_text("\n".join("\t".join(line.split(" ")) for line in lines) + "\n")
    return path


def test_glm_to_sumstats__linear_columns_and_values(tmp_path):
    glm = _write_glm(tmp_path / "g.q.glm.linear", LINEAR_HEADER, LINEAR_ROWS)
    sumstats, dropped = glm_to_sumstats(glm)
    assert list(sumstats.columns) == [*col.SUMSTATS_ORDER, col.A1_FREQ]
    assert sumstats[col.SNP].tolist() == ["rs1", "rs2", "rs5"]
    assert sumstats[col.CHR].tolist() == ["1", "1", "2"]
    assert sumstats[col.POS].tolist() == [100, 200, 250]
    assert sumstats[col.A1].tolist() == ["G", "C", "A"]
    assert sumstats[col.A2].tolist() == ["A", "T", "C"]  # A2 = AX, not REF or ALT
    assert sumstats[col.N].tolist() == [500, 498, 497]
    np.testing.assert_allclose(sumstats[col.MAF], [0.25, 0.1, 0.4])
    np.testing.assert_allclose(sumstats[col.BETA], [0.5, -0.2, 0.01])
    np.testing.assert_allclose(sumstats[col.SE], [0.1, 0.05, 0.02])
    np.testing.assert_allclose(sumstats[col.Z], [5.0, -4.0, 0.5])  # from T_STAT
    np.testing.assert_allclose(sumstats[col.P], [1e-6, 6e-5, 0.617])
    assert dropped == {"plink2_CONST_ALLELE": 1, "non_finite": 1}


def test_glm_to_sumstats__logistic_hybrid_uses_z_stat(tmp_path):
    glm = _write_glm(tmp_path / "g.b.glm.logistic.hybrid", LOGISTIC_HEADER, LOGISTIC_ROWS)
    sumstats, dropped = glm_to_sumstats(glm)
    assert list(sumstats.columns) == [*col.SUMSTATS_ORDER, col.A1_FREQ]
    assert sumstats[col.SNP].tolist() == ["rs1", "rs2"]
    np.testing.assert_allclose(sumstats[col.Z], [3.5, -2.2])
    np.testing.assert_allclose(sumstats[col.MAF], [0.3, 0.03])
    assert sumstats[col.A2].tolist() == ["A", "C"]
    assert dropped == {"plink2_UNFINISHED": 2, "non_finite": 1}


def test_glm_to_sumstats__dtypes(tmp_path):
    glm = _write_glm(tmp_path / "g.glm.linear", LINEAR_HEADER, LINEAR_ROWS)
    sumstats, _ = glm_to_sumstats(glm)
    for name, (dtype, _) in col.SUMSTATS_COLUMNS.items():
        if dtype == "string":
            assert all(isinstance(v, str) for v in sumstats[name]), name
        else:
            assert sumstats[name].dtype == np.dtype(dtype), name


def test_glm_to_sumstats__numeric_chromosome_and_ids_stay_strings(tmp_path):
    rows = ["10 5 123 A G G A 0.5 ADD 10 0.1 0.1 1.0 0.3 ."]
    sumstats, dropped = glm_to_sumstats(_write_glm(tmp_path / "g.glm.linear", LINEAR_HEADER, rows))
    assert sumstats[col.CHR].tolist() == ["10"] and sumstats[col.SNP].tolist() == ["123"]
    assert dropped == {}


@pytest.mark.parametrize("missing", ["A1_FREQ", "AX", "OBS_CT", "T_STAT"])
def test_glm_to_sumstats__missing_column_raises(tmp_path, missing):
    names = LINEAR_HEADER.split(" ")
    drop = names.index(missing)
    header = " ".join(n for i, n in enumerate(names) if i != drop)
    rows = [" ".join(v for i, v in enumerate(r.split(" ")) if i != drop) for r in LINEAR_ROWS]
    glm = _write_glm(tmp_path / "g.glm.linear", header, rows)
    # without T_STAT the reader looks for Z_STAT
    expected = "Z_STAT" if missing == "T_STAT" else missing
    with pytest.raises(VibankError, match=f"column {expected} is missing"):
        glm_to_sumstats(glm)


@pytest.mark.parametrize("missing", ["POS", "ID"])
def test_glm_to_sumstats__missing_position_or_id_raises_vibank_error(tmp_path, missing):
    names = LINEAR_HEADER.split(" ")
    drop = names.index(missing)
    header = " ".join(n for i, n in enumerate(names) if i != drop)
    rows = [" ".join(v for i, v in enumerate(r.split(" ")) if i != drop) for r in LINEAR_ROWS]
    with pytest.raises(VibankError, match=f"column {missing} is missing"):
        glm_to_sumstats(_write_glm(tmp_path / "g.glm.linear", header, rows))


def test_glm_to_sumstats__without_errcode_column(tmp_path):
    header = LINEAR_HEADER.removesuffix(" ERRCODE")
    rows = [r.rsplit(" ", 1)[0] for r in LINEAR_ROWS]
    sumstats, dropped = glm_to_sumstats(_write_glm(tmp_path / "g.glm.linear", header, rows))
    assert sumstats[col.SNP].tolist() == ["rs1", "rs2", "rs5"]
    assert dropped == {"non_finite": 2}



def test_glm_to_sumstats__na_frequency_or_count_dropped(tmp_path):
    header = LINEAR_HEADER.removesuffix(" ERRCODE")  # no ERRCODE to catch these rows
    rows = ["1 100 rs1 A G G A NA ADD 500 0.5 0.1 5.0 1e-6",
            "1 200 rs2 C T C T 0.9 ADD NA -0.2 0.05 -4.0 6e-5",
            "1 300 rs3 G A A G 0.5 ADD 499 0.1 0.05 2.0 0.05"]
    with np.errstate(all="ignore"):
        sumstats, dropped = glm_to_sumstats(_write_glm(tmp_path / "g.glm.linear", header, rows))
    assert sumstats[col.SNP].tolist() == ["rs3"]
    assert sum(dropped.values()) == 2

def _sumstats():
    return pd.DataFrame({
        col.CHR: ["1", "1", "22"], col.SNP: ["rs1", "1:200:C:T", "rs3"], col.POS: [100, 200, 3000],
        col.A1: ["G", "C", "A"], col.A2: ["A", "T", "G"], col.N: [500, 498, 7],
        col.MAF: [0.25, 0.1, 0.4], col.BETA: [0.5, -0.2, 1.25e-3], col.SE: [0.1, 0.05, 0.02],
        col.Z: [5.0, -4.0, 0.0625], col.P: [5.7330314e-07, 6.3342483e-05, 0.95016],
    })


def test_write_sumstats__gzip_round_trip(tmp_path):
    table = _sumstats()
    shuffled = table[list(reversed(col.SUMSTATS_ORDER))].assign(EXTRA=1)
    path = tmp_path / "ss.tsv.gz"
    write_sumstats(shuffled, path)
    with gzip.open(path, "rt") as fh:
        assert fh.readline().rstrip("\n").split("\t") == col.SUMSTATS_ORDER
    back = read_sumstats(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back[col.POS].dtype == np.int64 and back[col.N].dtype == np.int64
    assert back[col.CHR].tolist() == ["1", "1", "22"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_sumstats__missing_column_raises(tmp_path):
    with pytest.raises(ValueError, match="SE"):
        write_sumstats(_sumstats().drop(columns=col.SE), tmp_path / "ss.tsv.gz")
    assert not (tmp_path / "ss.tsv.gz").exists()


def test_read_sumstats__non_numeric_beta_names_row_and_column(tmp_path):
    path = tmp_path / "ss.tsv"
    table = _sumstats().astype({col.BETA: object})
    table.loc[1, col.BETA] = "x0.2"
    table.to_csv(path, sep="\t", index=False)
    with pytest.raises(VibankError) as err:
        read_sumstats(path)
    message = str(err.value)
    assert "row 3, column BETA" in message  # header is row 1, second record is row 3
    assert str(path) in message and "'x0.2'" in message
    assert "\n" not in message


def test_read_sumstats__missing_column_raises(tmp_path):
    path = tmp_path / "ss.tsv.gz"
    _sumstats().drop(columns=col.MAF).to_csv(path, sep="\t", index=False)
    with pytest.raises(VibankError, match="column MAF is missing"):
        read_sumstats(path)


def test_read_sumstats__missing_file_raises(tmp_path):
    with pytest.raises(VibankError, match="file not found"):
        read_sumstats(tmp_path / "absent.tsv.gz")


def test_summarise_gwas__mean_chi2_and_lambda_gc(tmp_path):
    first, second = _sumstats(), _sumstats().iloc[:2].copy()
    second[col.Z] = [1.0, 3.0]
    second[col.P] = [1e-9, 0.5]
    write_sumstats(first, tmp_path / "a.tsv.gz")
    write_sumstats(second, tmp_path / "b.tsv.gz")
    summary = summarise_gwas([tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"],
                             [("height", 1, "1"), ("disease", 2, "22")])
    assert summary[["trait", "fold", "chrom"]].values.tolist() == [["height", 1, "1"],
                                                                   ["disease", 2, "22"]]
    assert summary["n_variants"].tolist() == [3, 2]
    assert summary["median_n"].tolist() == [498, 499]
    median_chi2_1df = 0.454936423119572  # qchisq(0.5, 1)
    # first: chi2 = 25, 16, 0.00390625 -> mean 13.66796875, median 16
    np.testing.assert_allclose(summary["mean_chi2"], [41.00390625 / 3, 5.0])
    np.testing.assert_allclose(summary["lambda_gc"], [16 / median_chi2_1df, 5 / median_chi2_1df])
    assert summary["n_p_below_5e-8"].tolist() == [0, 1]
    assert median_chi2_1df == pytest.approx(stats.chi2.ppf(0.5, 1), rel=1e-12)
