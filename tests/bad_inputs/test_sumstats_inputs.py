"""Broken summary-statistics files given to ``vibank fit``: refused with one line, or filtered
into the --audit file with a reason, never a traceback or a partial result."""

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from corpus import (FAST, OUTPUTS, assert_no_partial_output, assert_one_line_error,
                      run_vibank, write_tsv)


def fit(study, tmp_path, sumstats, *extra, ld=None, real=False):
    """``vibank fit`` of ``sumstats`` against the study's chr1 store, out prefix tmp/out."""
    return run_vibank("fit", "--sumstats", sumstats, "--ld", ld or study.ld, "--out",
                      tmp_path / "out", "--audit", tmp_path / "audit.tsv", *FAST, *extra,
                      real=real)


def text_lines(study):
    path = study.dir / "ss.tsv"
    return path.read_text().splitlines()


# -- fatal: (file maker, extra CLI args, message fragments besides the path) ----------------
def _missing_a1(study, path):
    write_tsv(study.sumstats.drop(columns="A1"), path)
    return ["--format", "vibank"], ["column A1 is missing", "effect allele"]


def _missing_a1_autodetect(study, path):
    write_tsv(study.sumstats.drop(columns="A1"), path)
    return [], ["cannot tell the summary-statistics format", "closest: vibank", "missing A1"]


def _empty(study, path):
    path.write_text("")
    return [], ["file is empty"]


def _header_only(study, path):
    path.write_text(text_lines(study)[0] + "\n")
    return [], ["header only, no variant rows"]


def _comma_separated(study, path):
    study.sumstats.to_csv(path, index=False)
    return [], ["line 1", "comma-separated"]


def _non_numeric_beta(study, path):
    lines = text_lines(study)
    fields = lines[5].split("\t")
    fields[7] = "0.0x3"  # BETA of the fifth variant, line 6 of the file
    lines[5] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return [], ["line 6, column BETA", "'0.0x3' is not a number"]


def _extra_field(study, path):
    lines = text_lines(study)
    lines[10] += "\tsurplus"
    path.write_text("\n".join(lines) + "\n")
    return [], ["line 11 has 12 fields, the header 11"]


def _short_row(study, path):
    lines = text_lines(study)
    lines[12] = "\t".join(lines[12].split("\t")[:5])
    path.write_text("\n".join(lines) + "\n")
    return [], ["line 13 has 5 fields, the header 11"]


def _n_missing_without_n(study, path):
    write_tsv(study.sumstats.drop(columns="N"), path)
    return ["--format", "vibank"], ["no sample-size column (N", "give the GWAS sample size"]


def _n_not_positive(study, path):
    write_tsv(study.sumstats.drop(columns="N"), path)
    return ["--format", "vibank", "--n", "-5"], ["the given sample size n = -5.0 is not positive"]


def _semicolon_separated(study, path):
    study.sumstats.to_csv(path, index=False, sep=";")
    return [], ["line 1", "semicolon-separated"]


def _missing_file(study, path):
    return [], ["file not found"]


def _directory(study, path):
    path.mkdir()
    return [], ["is a directory"]


def _gzip_garbage(study, path):
    data = gzip.compress((study.dir / "ss.tsv").read_bytes())
    cut = len(data) // 2
    path.write_bytes(data[:cut] + bytes(range(256)) * 4)
    return [], ["not a valid gzip file"]


def _gzip_truncated(study, path):
    data = gzip.compress((study.dir / "ss.tsv").read_bytes())
    path.write_bytes(data[: len(data) // 2])
    return [], ["gzip file is truncated"]


def _gzip_header_only_bytes(study, path):
    path.write_bytes(b"\x1f\x8b\x08\x00")  # the magic number and nothing after it
    return [], ["gzip file is truncated"]


def _binary(study, path):
    path.write_bytes(bytes(range(256)) * 8)
    return [], ["not a text table"]


def _wrong_build(study, path):
    write_tsv(study.sumstats.assign(POS=study.sumstats["POS"] + 3_000_000), path)
    return [], ["80 of 80 variants found by ID in", "genome build", "{ld}"]


def _no_overlap(study, path):
    moved = study.sumstats.assign(POS=study.sumstats["POS"] + 7,
                                  SNP="other" + study.sumstats["SNP"])
    write_tsv(moved, path)
    return [], ["only 0 variants pair up with {ld}", "min_overlap"]


def _other_chromosome(study, path):
    write_tsv(study.sumstats.assign(CHR="2"), path)
    return [], ["only 0 variants pair up with {ld}", "0 summary-statistics variants on its "
                "chromosomes", "chromosome names"]


def _all_filtered(study, path):
    write_tsv(study.sumstats.assign(SE=0.0), path)
    return [], ["only 0 variants pair up"]


FATAL = {
    "missing_required_column": (_missing_a1, "ss.tsv"),
    "missing_column_autodetect": (_missing_a1_autodetect, "ss.tsv"),
    "empty_file": (_empty, "ss.tsv"),
    "header_only": (_header_only, "ss.tsv"),
    "comma_delimiter": (_comma_separated, "ss.csv"),
    "non_numeric_beta": (_non_numeric_beta, "ss.tsv"),
    "row_with_extra_field": (_extra_field, "ss.tsv"),
    "row_with_missing_fields": (_short_row, "ss.tsv"),
    "n_missing_without_n": (_n_missing_without_n, "ss.tsv"),
    "n_given_not_positive": (_n_not_positive, "ss.tsv"),
    "semicolon_delimiter": (_semicolon_separated, "ss.txt"),
    "file_does_not_exist": (_missing_file, "absent.tsv"),
    "directory_as_file": (_directory, "ss_dir"),
    "gzip_corrupt": (_gzip_garbage, "ss.tsv.gz"),
    "gzip_truncated": (_gzip_truncated, "ss.tsv.gz"),
    "gzip_magic_only": (_gzip_header_only_bytes, "ss.tsv.gz"),
    "binary_file": (_binary, "ss.tsv"),
    "wrong_genome_build": (_wrong_build, "ss.tsv"),
    "no_overlap_with_ld": (_no_overlap, "ss.tsv"),
    "other_chromosome_only": (_other_chromosome, "ss.tsv"),
    "every_variant_filtered": (_all_filtered, "ss.tsv"),
}
#: cases also run through the installed script, as a user would
REAL = {"non_numeric_beta", "gzip_corrupt", "wrong_genome_build", "directory_as_file"}


@pytest.mark.parametrize("case", list(FATAL))
def test_fit__bad_sumstats_is_refused(case, study, tmp_path):
    make, name = FATAL[case]
    path = tmp_path / name
    extra, fragments = make(study, path)
    run = fit(study, tmp_path, path, *extra, real=case in REAL)
    fragments = [f.format(ld=study.ld) for f in fragments]
    assert_one_line_error(run, f"{path}", *fragments)
    assert_no_partial_output(tmp_path, tmp_path / "out", extra=[tmp_path / "audit.tsv"])


# -- filtered: the fit runs; the variant is in the audit with its reason ---------------------
def _edit(sumstats, row, **values):
    table = sumstats.copy()
    for name, value in values.items():
        table[name] = table[name].astype(object)
        table.loc[row, name] = value
    return table


FILTERED = {
    # case: (table maker, SNP expected in the audit, reason, detail fragment)
    "nan_z": (lambda s: _edit(s, 4, Z=np.nan, BETA=np.nan), "rs1004", "missing_statistic",
              "no Z"),
    "inf_z": (lambda s: _edit(s, 5, Z=np.inf), "rs1005", "non_finite", "Z = inf"),
    "se_zero": (lambda s: _edit(s, 6, SE=0.0), "rs1006", "se_nonpositive", "SE <= 0"),
    "se_negative": (lambda s: _edit(s, 6, SE=-0.1), "rs1006", "se_nonpositive", "SE <= 0"),
    "duplicated_rows": (lambda s: pd.concat([s, s.iloc[[7]]]), "rs1007", "duplicate",
                        "2 rows for this variant"),
    "allele_not_acgt": (lambda s: _edit(s, 8, A1="N"), "rs1008", "invalid_allele",
                        "alleles N/"),
    "indel_allele": (lambda s: _edit(s, 9, A1="AT"), "rs1009", "invalid_allele", "alleles AT/"),
    "same_allele_twice": (lambda s: _edit(s, 10, A1="G", A2="G"), "rs1010", "invalid_allele",
                          "alleles G/G"),
    "multiallelic_code": (lambda s: _edit(s, 11, A2="G,T"), "rs1011", "multiallelic", "G,T"),
    "multiallelic_slash": (lambda s: _edit(s, 12, A2="G/T"), "rs1012", "multiallelic", "G/T"),
    "n_missing_in_a_row": (lambda s: _edit(s, 13, N=np.nan), "rs1013", "missing_value",
                           "no sample size"),
    "allele_mismatch": (lambda s: _edit(s, 14, A1="T", A2="C"), "rs1014", "allele_mismatch",
                        "LD"),
    "not_in_ld": (lambda s: pd.concat([s, s.iloc[[3]].assign(POS=3, SNP="rsNEW")]), "rsNEW",
                  "not_in_ld", ""),
}


def _audit(tmp_path):
    return pd.read_csv(tmp_path / "audit.tsv", sep="\t", dtype=str, keep_default_na=False)


def _assert_fitted(run, tmp_path):
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    for ext in OUTPUTS:
        assert (tmp_path / f"out{ext}").stat().st_size > 0
    assert_no_partial_output(tmp_path)


@pytest.mark.parametrize("case", list(FILTERED))
def test_fit__bad_rows_are_filtered_and_audited(case, study, tmp_path):
    make, snp, reason, detail = FILTERED[case]
    path = write_tsv(make(study.sumstats), tmp_path / "ss.tsv")
    run = fit(study, tmp_path, path, real=case == "inf_z")
    _assert_fitted(run, tmp_path)
    audit = _audit(tmp_path)
    rows = audit[audit["SNP"] == snp]
    assert len(rows) >= 1, audit
    assert set(rows["reason"]) == {reason}, rows
    assert all(detail in d for d in rows["detail"]), rows
    effects = pd.read_csv(tmp_path / "out.effects.tsv.gz", sep="\t")
    assert snp not in set(effects["SNP"])


def test_fit__p_zero_is_clipped_and_recorded(study, tmp_path):
    # GWAS-SSF without standard errors: Z comes from the p-value and the sign of beta
    s = study.sumstats
    table = pd.DataFrame({"chromosome": s["CHR"], "base_pair_location": s["POS"],
                          "effect_allele": s["A1"], "other_allele": s["A2"], "beta": s["BETA"],
                          "p_value": s["P"].astype(object), "rsid": s["SNP"], "n": s["N"]})
    table.loc[3, "p_value"] = "0"
    path = write_tsv(table, tmp_path / "ss.tsv")
    run = fit(study, tmp_path, path)
    _assert_fitted(run, tmp_path)
    audit = _audit(tmp_path)
    row = audit[audit["SNP"] == "rs1003"]
    assert list(row["reason"]) == ["p_clipped"] and list(row["action"]) == ["clipped"], audit
    effects = pd.read_csv(tmp_path / "out.effects.tsv.gz", sep="\t")
    assert "rs1003" in set(effects["SNP"])  # clipped, still fitted


# -- accepted variants of a valid file: the same fit as the canonical file --------------------
@pytest.fixture(scope="module")
def reference_effects(study, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    run = fit(study, tmp, study.dir / "ss.tsv")
    assert run.code == 0, run.err
    return pd.read_csv(tmp / "out.effects.tsv.gz", sep="\t")


ACCEPTED = {
    "chr_prefix": (lambda s: s.assign(CHR="chr1"), "ld"),
    "chrom_as_number_text": (lambda s: s.assign(CHR="01"), "ld"),
    "chrom_x_named_x": (lambda s: s.assign(CHR="X"), "ld_x"),
    "chrom_x_named_chrx": (lambda s: s.assign(CHR="chrX"), "ld_x"),
    "chrom_x_named_23": (lambda s: s.assign(CHR="23"), "ld_x"),
    "positions_out_of_order": (lambda s: s.sample(frac=1.0, random_state=3), "ld"),
    "gzip_compressed": (None, "ld"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_fit__accepted_variants_fit_like_the_canonical_file(case, study, tmp_path,
                                                             reference_effects):
    make, store = ACCEPTED[case]
    if make is None:
        path = tmp_path / "ss.tsv.gz"
        with open(study.dir / "ss.tsv", "rb") as src, gzip.open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        path = write_tsv(make(study.sumstats), tmp_path / "ss.tsv")
    run = fit(study, tmp_path, path, ld=getattr(study, store))
    _assert_fitted(run, tmp_path)
    effects = pd.read_csv(tmp_path / "out.effects.tsv.gz", sep="\t")
    assert list(effects["SNP"]) == list(reference_effects["SNP"])
    np.testing.assert_allclose(effects["BETA"], reference_effects["BETA"], rtol=1e-6, atol=1e-9)
    assert len(_audit(tmp_path)) == 0
