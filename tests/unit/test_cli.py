"""The ``vibank`` command: --version, simulate cohort/phenotypes, one-line user errors."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import vibank
from vibank import columns as col
from vibank.cli import main
from vibank.io.plink import read_bim, read_fam

REPO = Path(__file__).parents[2]
SMALL = ["--populations", "EUR=40,AFR=10,EAS=10", "--n-chromosomes", "1",
         "--chromosome-length", "300000"]


def _assert_one_line_error(err, *fragments):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vibank: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_main__version_subprocess():
    exe = REPO / ".venv" / "bin" / "vibank"
    if not exe.exists():  # another environment: the script next to the running interpreter
        exe = Path(sys.executable).parent / "vibank"
    if not exe.exists():
        pytest.skip(f"{exe} not installed")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"vibank {vibank.__version__}"


def test_main__simulate_cohort_writes_files(tmp_path, capsys):
    out, samples = tmp_path / "c", tmp_path / "samples.tsv"
    code = main(["simulate", "cohort", "--out", str(out), "--samples", str(samples), *SMALL,
                 "--seed", "2"])
    assert code == 0
    for ext in (".bed", ".bim", ".fam"):
        assert out.with_suffix(ext).stat().st_size > 0
    table = pd.read_csv(samples, sep="\t")
    assert table[col.POP].value_counts().to_dict() == {"EUR": 40, "AFR": 10, "EAS": 10}
    assert len(read_fam(out)) == 60
    n_variants = len(read_bim(out))
    assert n_variants > 0
    stdout = capsys.readouterr().out
    assert stdout.startswith(f"60 samples, {n_variants} variants in ")
    assert stdout.rstrip().endswith(f"-> {out}.bed")


def test_main__simulate_cohort_reads_config(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"seed": 7, "cohort": {"simulate": {
        "populations": {"EUR": 20, "EAS": 4}, "n_chromosomes": 1, "chromosome_length": 200_000,
        "bad_sample_fraction": 0.0}}}))
    out = tmp_path / "c"
    code = main(["simulate", "cohort", "--out", str(out), "--samples", str(tmp_path / "s.tsv"),
                 "--config", str(config)])
    assert code == 0
    assert len(read_fam(out)) == 24
    assert set(read_bim(out)[col.CHR]) == {"1"}
    # the config's seed is used: the same run with --seed 7 is byte-identical
    again = tmp_path / "again"
    assert main(["simulate", "cohort", "--out", str(again), "--samples", str(tmp_path / "a.tsv"),
                 "--config", str(config), "--seed", "7"]) == 0
    assert again.with_suffix(".bed").read_bytes() == out.with_suffix(".bed").read_bytes()
    capsys.readouterr()


def test_main__missing_config_is_one_line_error(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--config", str(missing)])
    assert code == 1
    captured = capsys.readouterr()
    _assert_one_line_error(captured.err, str(missing), "config file not found")
    assert captured.out == ""
    assert not list(tmp_path.iterdir())


def test_main__invalid_yaml_is_one_line_error(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("cohort: [unclosed\n  simulate: 1\n")
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--config", str(config)])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, str(config), "not valid YAML")


def test_main__unknown_population_is_one_line_error(tmp_path, capsys):
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--populations", "EUR=10,SAS=5"])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, "unknown label", "SAS")


def test_main__unknown_config_key_is_one_line_error(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"cohort": {"simulate": {"n_chromosome": 2}}}))
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--config", str(config)])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, str(config),
                           "cohort.simulate: unknown key(s) n_chromosome")


@pytest.mark.parametrize("populations", ["EUR=10,AFR", "EUR=abc"])
def test_main__malformed_populations_is_one_line_error(tmp_path, capsys, populations):
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--populations", populations])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, "--populations")


@pytest.mark.parametrize("text, message", [
    ("- cohort\n- qc\n", "must be a mapping"),
    ("cohort: [1, 2]\n", "cohort must be a mapping"),
])
def test_main__config_not_a_mapping_is_one_line_error(tmp_path, capsys, text, message):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    code = main(["simulate", "cohort", "--out", str(tmp_path / "c"), "--samples",
                 str(tmp_path / "s.tsv"), "--config", str(config)])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, message)


def test_main__simulate_phenotypes(cohort, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"seed": 3, "phenotypes": {"traits": {
        "t1": {"type": "binary", "pi": 0.05, "h2": 0.3, "prevalence": 0.1}}}}))
    out = tmp_path / "out"
    code = main(["simulate", "phenotypes", "--bfile", str(cohort.prefix), "--samples",
                 str(cohort.sample_table), "--config", str(config), "--out-dir", str(out)])
    assert code == 0
    pheno = pd.read_csv(out / "phenotypes.tsv", sep="\t")
    assert list(pheno.columns) == [col.FID, col.IID, "t1"]
    assert set(pheno["t1"]) == {1, 2}
    assert (out / "true_effects_t1.tsv.gz").is_file() and (out / "traits.tsv").is_file()
    assert capsys.readouterr().out.strip() == f"1 traits -> {out}/phenotypes.tsv"


def test_main__phenotypes_without_traits_is_one_line_error(cohort, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"phenotypes": {"traits": {}}}))
    code = main(["simulate", "phenotypes", "--bfile", str(cohort.prefix), "--samples",
                 str(cohort.sample_table), "--config", str(config), "--out-dir",
                 str(tmp_path / "out")])
    assert code == 1
    _assert_one_line_error(capsys.readouterr().err, "phenotypes.traits is empty")


def test_main__no_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "usage: vibank" in capsys.readouterr().err
