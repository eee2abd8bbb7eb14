"""LD from an external PLINK reference panel and from precomputed stores (issue 18 item 1).

The tiny study's simulated cohort is split in two: 300 EUR and 60 AFR people become a
"public" reference panel (their own samples, with a population table), the rest the study
(cohort.source: plink). The workflow QCs the panel, keeps its EUR samples and the variants the
study shares, computes LD on it, and fits and evaluates with it; a second configuration reads
those stores as precomputed ones (source: stores) and must give the same fits.
"""

import shutil

import pandas as pd
import pytest
import yaml
from test_workflow import TINY, snakemake  # same directory (pytest rootdir)

from vibank import columns as col
from vibank.genotypes._plink2 import run_plink2
from vibank.io.plink import read_bim, read_fam
from vibank.ld import LDMatrix

FIT = "results/prs/viprs-ss-vem/sparse/fold1/chr{chrom}.effects.tsv.gz"


def _config(root, panels, ld_panel):
    config = yaml.safe_load(TINY.read_text())
    config["cohort"] = {"source": "plink", "bfile": str(root / "study"),
                        "sample_table": str(root / "study_samples.tsv")}
    config["phenotypes"]["traits"] = {"sparse": config["phenotypes"]["traits"]["sparse"]}
    config["prs"] = {"ld_panel": ld_panel,
                     "models": {"viprs-ss-vem": {"method": "viprs", "prior": "spike_slab",
                                                 "strategy": "vem"}}}
    config["ld"] = {"panels": panels}
    config["qtl"] = {"enabled": False}
    path = root / f"config_{ld_panel}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _run(root, config, *targets):
    return snakemake(*targets, "--cores", "2", "--directory", str(root), "--configfile",
                     str(config), "--replace-workflow-config")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The split cohort and a run with the external panel up to the evaluation."""
    root = tmp_path_factory.mktemp("reference")
    _run(root, TINY, "results/cohort/raw.bed", "results/cohort/samples.tsv")
    raw = str(root / "results/cohort/raw")
    samples = pd.read_csv(root / "results/cohort/samples.tsv", sep="\t", dtype=str)
    fam = read_fam(raw)
    pops = samples.set_index(col.IID).loc[fam[col.IID], col.POP].to_numpy()
    eur, afr = fam[pops == "EUR"], fam[pops == "AFR"]
    panel = pd.concat([eur.tail(300), afr.tail(60)])
    panel[[col.FID, col.IID]].to_csv(root / "panel.keep", sep="\t", header=False, index=False)
    run_plink2(["--bfile", raw, "--keep", root / "panel.keep", "--make-bed"], root / "kg")
    run_plink2(["--bfile", raw, "--remove", root / "panel.keep", "--make-bed"], root / "study")
    samples[samples[col.IID].isin(panel[col.IID])][[col.IID, col.POP]].to_csv(
        root / "kg_populations.tsv", sep=" ", index=False)
    samples[~samples[col.IID].isin(panel[col.IID])].to_csv(
        root / "study_samples.tsv", sep="\t", index=False)
    panels = {"kg": {"source": "plink", "bfile": str(root / "kg"),
                     "sample_table": str(root / "kg_populations.tsv"), "population": "EUR",
                     "estimator": "windowed", "window_cm": 3.0}}
    config = _config(root, panels, "kg")
    _run(root, config, "results/eval/metrics.tsv")
    return root


@pytest.mark.workflow
def test_reference_panel__qc_population_and_shared_variants(study):
    fam = read_fam(str(study / "results/ld/kg/reference"))
    assert len(fam) == 300  # the EUR samples only, not the 60 AFR
    summary = pd.read_csv(study / "results/ld/kg/reference_qc.tsv", sep="\t").set_index("filter")
    assert summary.loc["samples_chosen", "samples_remaining"] == 300
    study_bim = read_bim(str(study / "results/qc/qc"))
    panel_bim = read_bim(str(study / "results/ld/kg/reference"))
    assert set(panel_bim[col.SNP]) <= set(study_bim[col.SNP])
    assert summary.loc["shared_with_target", "variants_remaining"] == len(study_bim)
    audit = pd.read_csv(study / "results/ld/kg/reference_removed.tsv.gz", sep="\t")
    kg_bim = read_bim(str(study / "kg"))
    assert len(audit[audit["kind"] == "variant"]) + len(panel_bim) == len(kg_bim)
    for chrom in ("1", "2"):
        ld = LDMatrix(study / f"results/ld/kg/chr{chrom}.zarr")
        assert ld.attrs["n_ref"] == 300
    metrics = pd.read_csv(study / "results/eval/metrics.tsv", sep="\t")
    test = metrics[(metrics["model"] == "viprs-ss-vem") & (metrics["target"] == "test")]
    assert len(test) == 2 and (test["incremental_r2"] > 0.1).all()


@pytest.mark.workflow
def test_reference_panel__precomputed_stores_give_the_same_fit(study):
    published = study / "published"
    for chrom in ("1", "2"):
        shutil.copytree(study / f"results/ld/kg/chr{chrom}.zarr", published / f"kg_{chrom}.zarr")
    panels = {"ukb": {"source": "stores", "path": str(published / "kg_{chrom}.zarr")}}
    config = _config(study, panels, "ukb")
    other = study / "other"
    other.mkdir()
    _run(other, config, *[FIT.format(chrom=c) for c in ("1", "2")])
    for chrom in ("1", "2"):
        a = pd.read_csv(study / FIT.format(chrom=chrom), sep="\t")
        b = pd.read_csv(other / FIT.format(chrom=chrom), sep="\t")
        pd.testing.assert_frame_equal(a, b)
    assert not (other / "results/ld").exists()  # read where they are, not copied or computed


@pytest.mark.workflow
def test_reference_panel__missing_store_is_a_one_line_config_error(study, tmp_path):
    panels = {"ukb": {"source": "stores", "path": str(tmp_path / "nowhere_{chrom}.zarr")}}
    config = _config(study, panels, "ukb")
    proc = snakemake("--dry-run", "--directory", str(study), "--configfile", str(config),
                     "--replace-workflow-config", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert (f"config error at ld.panels.ukb.path: {tmp_path}/nowhere_1.zarr not found "
            "(chromosome 1 of the study)") in out
