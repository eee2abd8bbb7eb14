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
