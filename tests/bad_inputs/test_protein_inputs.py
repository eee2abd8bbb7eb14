"""Broken protein tables, covariate tables and chunk selections given to ``vibank qtl``: each
is one line naming the file and the row or column, and writes nothing."""

import numpy as np
import pandas as pd
import pytest

from corpus import assert_no_partial_output, assert_one_line_error, run_vibank

#: a fit that would stop quickly, should a case reach it
FAST = ["--max-iter", "30", "--cavi", "full"]


def _proteins(study, tmp_path, edit=None, name="proteins.tsv"):
    """The study's 60 genotyped samples with 4 proteins, as text lines (header first) that
    ``edit`` may change; returns the path."""
    rng = np.random.default_rng(11)
    table = pd.DataFrame(rng.standard_normal((60, 4)).round(4), columns=["P1", "P2", "P3", "P4"])
    table.insert(0, "IID", [f"s{i}" for i in range(60)])
    table.insert(0, "FID", table["IID"])
    lines = table.to_csv(sep="\t", index=False).splitlines()
    if edit is not None:
        edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _set(lines, row, column, value):
    """Replace field ``column`` (0-based) of file row ``row`` (1-based, header = 1)."""
    fields = lines[row - 1].split("\t")
    fields[column] = value
    lines[row - 1] = "\t".join(fields)


def _qtl(study, tmp_path, proteins, *extra):
    out = tmp_path / "fit"
    return run_vibank("qtl", "--bfile", study.bfile, "--proteins", proteins, "--out", out,
                      *FAST, *extra), out


def _missing_id(lines):
    _set(lines, 6, 1, "")


def _na_id(lines):
    _set(lines, 9, 1, "NA")


def _duplicated_id(lines):
    _set(lines, 12, 1, "s3")


def _non_numeric(lines):
    _set(lines, 5, 3, "high")


def _comma_decimal(lines):
    _set(lines, 30, 5, "0,25")


def _constant(lines):
    for row in range(2, len(lines) + 1):
        _set(lines, row, 4, "1.5")


def _constant_but_missing(lines):
    for row in range(2, len(lines) + 1):
        _set(lines, row, 2, "NA" if row % 2 else "7")


def _no_iid_column(lines):
    lines[0] = lines[0].replace("IID", "sample")


def _no_protein_column(lines):
    for i, line in enumerate(lines):
        lines[i] = "\t".join(line.split("\t")[:2])


def _extra_field(lines):
    lines[20] += "\t3.2"


def _short_row(lines):
    lines[14] = lines[14].rsplit("\t", 1)[0]


def _no_shared_sample(lines):
    for i in range(1, len(lines)):
        lines[i] = lines[i].replace("\ts", "\tx").replace("s", "x", 1)


def _two_shared_samples(lines):
    for i in range(3, len(lines)):
        lines[i] = lines[i].replace("\ts", "\tx").replace("s", "x", 1)


def _duplicated_column(lines):
    lines[0] = lines[0].replace("P4", "P2")


def _empty(lines):
    lines.clear()
    lines.append("")


PROTEIN_CASES = {
    "missing_id": (_missing_id, ["row 6", "missing sample ID", "IID"]),
    "na_id": (_na_id, ["row 9", "missing sample ID"]),
    "duplicated_id": (_duplicated_id, ["row 12", "duplicated sample ID s3", "also row 5"]),
    "non_numeric": (_non_numeric, ["row 5", "column P2", "sample s3", "'high' is not a number"]),
    "comma_decimal": (_comma_decimal, ["row 30", "column P4", "'0,25' is not a number"]),
    "constant": (_constant, ["column P3 is constant", "every value 1.5",
                             "60 samples shared with the genotypes"]),
    "constant_but_missing": (_constant_but_missing, ["column P1 is constant", "every value 7"]),
    "no_iid_column": (_no_iid_column, ["no IID column"]),
    "no_protein_column": (_no_protein_column, ["no protein column"]),
    "extra_field": (_extra_field, ["malformed", "line 21"]),
    "short_row": (_short_row, ["line 15 has", "fields, the header"]),
    "no_shared_sample": (_no_shared_sample, ["0 of its 60 samples", "geno.fam",
                                             "matched by IID"]),
    "two_shared_samples": (_two_shared_samples, ["2 of its 60 samples", "at least 3"]),
    "duplicated_column": (_duplicated_column, ["column P2 appears twice", "columns 4 and 6"]),
    "empty": (_empty, ["file is empty"]),
}


@pytest.mark.parametrize("case", list(PROTEIN_CASES))
def test_qtl_proteins__one_line_error(study, tmp_path, case):
    edit, fragments = PROTEIN_CASES[case]
    proteins = _proteins(study, tmp_path, edit)
    run, out = _qtl(study, tmp_path, proteins)
    assert_one_line_error(run, str(proteins), *fragments)
    assert_no_partial_output(tmp_path, out)


def test_qtl_proteins__missing_file(study, tmp_path):
    run, out = _qtl(study, tmp_path, tmp_path / "nope.tsv")
    assert_one_line_error(run, "nope.tsv", "file not found")


def test_qtl_proteins__real_process(study, tmp_path):
    """As a user sees it: the installed script, no traceback, nothing written."""
    proteins = _proteins(study, tmp_path, _non_numeric)
    out = tmp_path / "out" / "chunk"
    run = run_vibank("qtl", "--bfile", study.bfile, "--proteins", proteins, "--out", out, *FAST,
                     real=True)
    assert_one_line_error(run, str(proteins), "row 5", "column P2")
    assert not out.parent.exists() or not list(out.parent.iterdir())


def _covariates(tmp_path, edit=None):
    rng = np.random.default_rng(12)
    table = pd.DataFrame({"IID": [f"s{i}" for i in range(60)],
                          "AGE": rng.integers(40, 70, 60), "PC1": rng.standard_normal(60)})
    lines = table.to_csv(sep="\t", index=False).splitlines()
    if edit is not None:
        edit(lines)
    path = tmp_path / "covar.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("edit, extra, fragments", [
    (lambda lines: _set(lines, 8, 2, "0.3x"), [], ["row 8", "column PC1", "'0.3x' is not a number"]),
    (lambda lines: _set(lines, 4, 0, "s1"), [], ["row 4", "duplicated sample ID s1"]),
    (None, ["--covariate-names", "AGE,SEX"], ["no covariate column SEX"]),
])
def test_qtl_covariates__one_line_error(study, tmp_path, edit, extra, fragments):
    covar = _covariates(tmp_path, edit)
    run, out = _qtl(study, tmp_path, _proteins(study, tmp_path), "--covariates", covar, *extra)
    assert_one_line_error(run, str(covar), *fragments)
    assert_no_partial_output(tmp_path, out)


def test_qtl_covariates__missing_values_leave_samples_out(study, tmp_path):
    """A sample without covariates is left out: too few left is an error saying so."""
    def few(lines):
        for row in range(4, len(lines) + 1):
            _set(lines, row, 1, "NA")
    covar = _covariates(tmp_path, few)
    run, _ = _qtl(study, tmp_path, _proteins(study, tmp_path), "--covariates", covar)
    assert_one_line_error(run, "2 of its 60 samples", "and the covariates")


@pytest.mark.parametrize("extra, fragments", [
    (["--chrom", "2"], ["no variant selected", "chromosome 2"]),
    (["--chunks", "{dir}/chunks.tsv"], ["--chunks and --chunk go together"]),
    (["--chunks", "{dir}/chunks.tsv", "--chunk", "7"], ["chunks.tsv", "no variant in chunk 7"]),
    (["--chunks", "{dir}/chunks.tsv", "--chunk", "2"], ["chunks.tsv", "variant rs_other is not in",
                                                         "geno.bim", "1 of 2 absent"]),
    (["--chunks", "{dir}/nope.tsv", "--chunk", "2"], ["nope.tsv", "file not found"]),
    (["--chunks", "{dir}/chunks.tsv", "--chunk", "1", "--chrom", "1"], ["leave out --extract"]),
    (["--extract", "{dir}/extract.txt"], ["extract.txt", "variant rs_nope is not in",
                                          "1 of 3 absent"]),
    (["--min-ppi", "1.5"], ["minimum PPI must be in [0, 1]"]),
    (["--covariate-names", "AGE"], ["--covariate-names needs --covariates"]),
])
def test_qtl_selection__one_line_error(study, tmp_path, extra, fragments):
    chunks = pd.DataFrame({"SNP": [*study.sumstats["SNP"], "rs1001", "rs_other"],
                           "CHUNK": [1] * len(study.sumstats) + [2, 2]})
    chunks.to_csv(tmp_path / "chunks.tsv", sep="\t", index=False)
    (tmp_path / "extract.txt").write_text("rs1000\nrs_nope\nrs1002\n")
    args = [a.format(dir=tmp_path) for a in extra]
    run, out = _qtl(study, tmp_path, _proteins(study, tmp_path), *args)
    assert_one_line_error(run, *fragments)
    assert_no_partial_output(tmp_path, out)
