"""vibank.io.sample_values: protein and covariate tables (layouts; the errors are in the
bad-input corpus, tests/bad_inputs/test_protein_inputs.py)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from vibank.errors import VibankError
from vibank.io.sample_values import check_varying, read_sample_values


def test_read_sample_values__whitespace_hash_header_and_missing(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("#FID  #IID P1 P2\nf1 a 1.5 NA\nf2  b -2e-3 nan\nf3 c 0 4\n")
    table = read_sample_values(path, what="protein")
    assert list(table.columns) == ["FID", "IID", "P1", "P2"]
    assert table["FID"].tolist() == ["f1", "f2", "f3"] and table["IID"].tolist() == ["a", "b", "c"]
    assert_array_equal(table["P1"], [1.5, -0.002, 0.0])
    assert np.isnan(table["P2"][:2]).all() and table["P2"][2] == 4.0


def test_read_sample_values__tabs_keep_empty_fields_and_fid_defaults_to_iid(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("IID\tAGE\tPC1\tPC2\na\t50\t\t0.1\nb\t61\t0.3\t0.2\n")
    table = read_sample_values(path, what="covariate", names=["PC1", "AGE"])
    assert list(table.columns) == ["FID", "IID", "PC1", "AGE"]
    assert table["FID"].tolist() == ["a", "b"]
    assert np.isnan(table["PC1"][0]) and table["PC1"][1] == 0.3


def test_check_varying__names_the_constant_column(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("IID\tP1\tP2\na\t1\t2\nb\t1\tNA\nc\t1\t3\n")
    table = read_sample_values(path, what="protein")
    check_varying(table, ["P2"], path, "here")
    with pytest.raises(VibankError, match=r"p.tsv: column P1 is constant \(every value 1\) here"):
        check_varying(table, ["P2", "P1"], path, "here")


@pytest.mark.parametrize("body", [
    # NA spellings, empty fields, exponents, a sign, a text column not asked for, spaced IDs
    "#FID\t#IID\tSEX\tP1\tP2\nf1\t a \tM\t1.5\tNA\nf2\tb\tF\t-2e-3\tnan\nf3\tc\tM\t\t4\n"
    "f4\td\tF\t0.1234567890123456789\tNaN\n",
    # values the C parser refuses but the text path takes: spaces around a number or a missing
    "IID\tSEX\tP1\tP2\na\tM\t 1.5 \tNA\nb\tF\t2\t NA \n",
])
def test_read_sample_values__the_fast_path_reads_what_the_text_path_reads(tmp_path, monkeypatch,
                                                                        body):
    import vibank.io.sample_values as sv

    path = tmp_path / "p.tsv"
    path.write_text(body)
    fast = read_sample_values(path, what="protein", names=["P1", "P2"])
    monkeypatch.setattr(sv, "_read_numbers", lambda *args: None)
    slow = read_sample_values(path, what="protein", names=["P1", "P2"])
    assert list(fast.columns) == list(slow.columns) == ["FID", "IID", "P1", "P2"]
    assert fast[["FID", "IID"]].equals(slow[["FID", "IID"]])
    assert_array_equal(fast[["P1", "P2"]].to_numpy(), slow[["P1", "P2"]].to_numpy())


def test_read_sample_values__a_random_table_bit_for_bit_on_both_paths(tmp_path, monkeypatch):
    import vibank.io.sample_values as sv

    rng = np.random.default_rng(3)
    values = rng.normal(size=(200, 30)) * 10.0 ** rng.integers(-20, 20, size=(200, 30))
    text = values.astype(object)
    text[rng.random(values.shape) < 0.1] = "NA"
    lines = ["IID\t" + "\t".join(f"P{j}" for j in range(30))]
    lines += [f"s{i}\t" + "\t".join(map(str, row)) for i, row in enumerate(text)]
    path = tmp_path / "p.tsv"
    path.write_text("\n".join(lines) + "\n")
    assert sv._read_numbers(path, "\t", lines[0].split("\t"), lines[0].split("\t"),
                            set(lines[0].split("\t")[1:])) is not None  # the fast path taken
    fast = read_sample_values(path, what="protein").iloc[:, 2:].to_numpy()
    monkeypatch.setattr(sv, "_read_numbers", lambda *args: None)
    slow = read_sample_values(path, what="protein").iloc[:, 2:].to_numpy()
    assert_array_equal(fast, slow)
    expected = np.where(text == "NA", np.nan, values).astype(float)
    assert_array_equal(fast, expected)
