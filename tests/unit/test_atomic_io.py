"""Tables written atomically: the fast float formatting writes what pandas writes."""

import gzip

import numpy as np
import pandas as pd
import pytest

from vibank.io.atomic import format_floats, tsv_text, write_table


def _awkward_table():
    rng = np.random.default_rng(3)
    values = rng.normal(size=200) * 10.0 ** rng.integers(-12, 8, size=200)
    values[[0, 5, 9, 13]] = [np.nan, np.inf, -0.0, -np.inf]
    return pd.DataFrame({
        "SNP": [f"rs{i}" for i in range(200)], "POS": np.arange(200), "BETA": values,
        "PIP": rng.random(200).astype(np.float32), "FLAG": rng.random(200) > 0.5,
        "A1": pd.array(["A"] * 199 + [None], dtype="string"),
    })


@pytest.mark.parametrize("float_format, na_rep", [("%.8g", ""), ("%.6g", "NaN"), ("%.10g", "NA")])
def test_write_table__same_text_as_pandas_float_format(tmp_path, float_format, na_rep):
    table = _awkward_table()
    write_table(table, tmp_path / "t.tsv.gz", float_format=float_format, na_rep=na_rep)
    expected = table.to_csv(sep="\t", index=False, float_format=float_format, na_rep=na_rep)
    assert gzip.open(tmp_path / "t.tsv.gz", "rt").read() == expected
    write_table(table, tmp_path / "t.tsv", float_format=float_format, na_rep=na_rep)
    assert (tmp_path / "t.tsv").read_text() == expected


def test_format_floats__leaves_the_table_and_other_columns_alone():
    table = _awkward_table()
    before = table.copy()
    text = format_floats(table, "%.8g")
    pd.testing.assert_frame_equal(table, before)
    assert text["BETA"].iloc[0] == "" and text["BETA"].iloc[9] == "-0"
    assert text["POS"].dtype == table["POS"].dtype and text["FLAG"].dtype == bool


def test_write_table__same_bytes_twice(tmp_path):
    table = _awkward_table()
    first, second = tmp_path / "a" / "t.tsv.gz", tmp_path / "b" / "t.tsv.gz"
    write_table(table, first, float_format="%.8g")
    write_table(table, second, float_format="%.8g")
    assert first.read_bytes() == second.read_bytes()


def test_tsv_text__the_text_pandas_writes_for_numbers_and_plain_strings(tmp_path):
    table = _awkward_table().assign(A1="A", CHR=pd.array(["1", "X"] * 100, dtype=object))
    formatted = format_floats(table, "%.8g")
    text = tsv_text(formatted)
    assert text is not None and text == formatted.to_csv(sep="\t", index=False)
    assert tsv_text(formatted.iloc[:0]) == formatted.iloc[:0].to_csv(sep="\t", index=False)
    write_table(table, tmp_path / "t.tsv.gz", float_format="%.8g")
    assert gzip.open(tmp_path / "t.tsv.gz", "rt").read() == text


@pytest.mark.parametrize("value", ["a\tb", 'say "x"', "two\nlines", None])
def test_tsv_text__leaves_quoting_and_missing_values_to_pandas(tmp_path, value):
    table = format_floats(_awkward_table().assign(A1="A"), "%.8g")
    table.loc[3, "SNP"] = value
    assert tsv_text(table) is None
    write_table(table, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text() == table.to_csv(sep="\t", index=False)
