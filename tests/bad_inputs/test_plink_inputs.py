"""Broken PLINK filesets, sample tables and phenotype files given to the commands that read them
(``vibank simulate phenotypes``, ``vibank ld``, ``vibank fit --strategy gs``)."""

import shutil

import pandas as pd
import pytest

from corpus import FAST, assert_no_partial_output, assert_one_line_error, run_vibank


def copy_bfile(study, tmp_path):
    prefix = tmp_path / "geno"
    for ext in (".bed", ".bim", ".fam"):
        shutil.copy(f"{study.bfile}{ext}", f"{prefix}{ext}")
    return prefix


def _lines(path):
    return path.read_text().splitlines()


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")


def _bed_truncated(prefix, samples):
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(bed.read_bytes()[:-100])
    return prefix.with_suffix(".bed"), ["bytes", "60 samples", "80 variants"]


def _bed_bad_magic(prefix, samples):
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(b"\x00\x00\x00" + bed.read_bytes()[3:])
    return bed, ["not a PLINK 1 .bed file"]


def _bim_extra_variant(prefix, samples):
    bim = prefix.with_suffix(".bim")
    lines = _lines(bim)
    _write_lines(bim, [*lines, lines[-1].replace("rs1079", "rs9999")])
    return prefix.with_suffix(".bed"), ["bytes", "81 variants"]


def _fam_extra_sample(prefix, samples):
    fam = prefix.with_suffix(".fam")
    lines = _lines(fam)
    _write_lines(fam, [*lines, lines[-1].replace("s59", "s60")])
    return prefix.with_suffix(".bed"), ["bytes", "61 samples"]


def _fam_duplicate_ids(prefix, samples):
    fam = prefix.with_suffix(".fam")
    lines = _lines(fam)
    lines[7] = lines[3]
    _write_lines(fam, lines)
    return fam, ["row 8", "duplicated sample ID s3"]


def _bim_missing(prefix, samples):
    prefix.with_suffix(".bim").unlink()
    return prefix.with_suffix(".bim"), ["file not found"]


def _bim_non_numeric_position(prefix, samples):
    bim = prefix.with_suffix(".bim")
    lines = _lines(bim)
    fields = lines[4].split("\t")
    fields[3] = "25k"
    lines[4] = "\t".join(fields)
    _write_lines(bim, lines)
    return bim, ["row 5", "column 4 (POS)", "'25k' is not an integer"]


def _bim_five_columns(prefix, samples):
    bim = prefix.with_suffix(".bim")
    _write_lines(bim, ["\t".join(line.split("\t")[:5]) for line in _lines(bim)])
    return bim, ["expected 6 columns, found 5"]


def _bim_empty(prefix, samples):
    prefix.with_suffix(".bim").write_text("")
    return prefix.with_suffix(".bim"), ["file is empty"]


def _sample_table_lacks_samples(prefix, samples):
    table = pd.read_csv(samples, sep="\t")
    table.iloc[5:].to_csv(samples, sep="\t", index=False)
    return samples, ["sample s0 of", "geno.fam is missing", "5 samples in all"]


def _sample_table_lacks_column(prefix, samples):
    pd.read_csv(samples, sep="\t").drop(columns="POP").to_csv(samples, sep="\t", index=False)
    return samples, ["required column POP is missing"]


#: case: (breaker, commands it is run through)
CASES = {
    "bed_truncated": (_bed_truncated, ("phenotypes", "ld")),
    "bed_wrong_magic": (_bed_bad_magic, ("phenotypes",)),
    "bim_extra_variant": (_bim_extra_variant, ("phenotypes",)),
    "fam_extra_sample": (_fam_extra_sample, ("ld",)),
    "fam_duplicate_ids": (_fam_duplicate_ids, ("phenotypes", "ld")),
    "bim_missing": (_bim_missing, ("phenotypes",)),
    "bim_non_numeric_position": (_bim_non_numeric_position, ("ld",)),
    "bim_five_columns": (_bim_five_columns, ("phenotypes",)),
    "bim_empty": (_bim_empty, ("ld",)),
    "sample_table_lacks_samples": (_sample_table_lacks_samples, ("phenotypes",)),
    "sample_table_lacks_column": (_sample_table_lacks_column, ("phenotypes",)),
}
PARAMS = [pytest.param(case, command, id=f"{case}-{command}")
          for case, (_, commands) in CASES.items() for command in commands]
REAL = {("bed_truncated", "ld"), ("fam_duplicate_ids", "phenotypes")}


@pytest.mark.parametrize("case, command", PARAMS)
def test_plink_reader__bad_fileset_is_refused(case, command, study, tmp_path):
    prefix = copy_bfile(study, tmp_path)
    samples = tmp_path / "samples.tsv"
    shutil.copy(study.samples, samples)
    named, fragments = CASES[case][0](prefix, samples)
    out_dir, store = tmp_path / "pheno", tmp_path / "chr1.zarr"
    if command == "phenotypes":
        args = ["simulate", "phenotypes", "--bfile", prefix, "--samples", samples, "--config",
                study.pheno_config, "--out-dir", out_dir]
    else:
        args = ["ld", "--bfile", prefix, "--chrom", "1", "--out", store,
                "--window-variants", "10"]
    run = run_vibank(*args, real=(case, command) in REAL)
    assert_one_line_error(run, named, *fragments)
    assert_no_partial_output(tmp_path, extra=[out_dir / "phenotypes.tsv", out_dir / "traits.tsv",
                                              out_dir / "true_effects_height.tsv.gz", store])


# -- the validation phenotypes of a tuned fit ------------------------------------------------
def tuned_fit(study, tmp_path, phenotypes):
    return run_vibank("fit", "--sumstats", study.dir / "ss.tsv", "--ld", study.ld, "--out",
                      tmp_path / "out", "--strategy", "gs", "--grid-size", "3",
                      "--grid-max-iter", "30", "--bfile", study.bfile, "--validation-keep",
                      study.keep, "--phenotypes", phenotypes, "--trait", "height", *FAST)


def test_fit_gs__phenotype_file_without_some_samples_uses_the_others(study, tmp_path):
    # samples absent from the phenotype file count as missing phenotypes: left out of the
    # validation metric, as plink does
    table = pd.read_csv(study.phenotypes, sep="\t")
    path = tmp_path / "pheno.tsv"
    table.iloc[20:].to_csv(path, sep="\t", index=False)
    run = tuned_fit(study, tmp_path, path)
    assert run.code == 0, run.err
    assert (tmp_path / "out.grid.tsv").exists() and (tmp_path / "out.chr1.effects.tsv.gz").exists()
    assert_no_partial_output(tmp_path)


@pytest.mark.parametrize("case", ["too_few_samples", "no_trait_column", "non_numeric_value"])
def test_fit_gs__bad_phenotype_file_is_refused(case, study, tmp_path):
    table = pd.read_csv(study.phenotypes, sep="\t")
    path = tmp_path / "pheno.tsv"
    if case == "too_few_samples":
        table = table.iloc[:5]
        named, fragments = study.keep, ["only 5 validation samples with a height phenotype"]
    elif case == "no_trait_column":
        table = table.rename(columns={"height": "weight"})
        named, fragments = path, ["no column height"]
    else:
        table["height"] = table["height"].astype(object)
        table.loc[6, "height"] = "tall"
        named, fragments = path, ["row 8", "column height", "'tall' is not a number"]
    table.to_csv(path, sep="\t", index=False)
    run = tuned_fit(study, tmp_path, path)
    assert_one_line_error(run, named, *fragments)
    assert_no_partial_output(tmp_path, tmp_path / "out")
