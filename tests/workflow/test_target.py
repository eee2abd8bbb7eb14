"""A summary-statistics-only study scored in a target biobank (issue 18 items 2-4), on data
the test writes from the tiny simulated cohort's genomes:

- an external reference panel (PLINK files of 300 EUR and 20 AFR people of its own; the EUR
  ones chosen through a population table),
- a consortium GWAS file (GWAS-SSF, alleles swapped and strand-flipped) of N = 30,000 drawn from
  the LD of 1,600 other EUR people with known effects,
- a target cohort (400 EUR and 100 AFR people) as PLINK 1 bed in one run, with its ancestry
  groups given, and as PLINK 2 pgen in another, its groups assigned by projection onto the
  reference panel's PCs; a phenotype from the same effects and covariates,

run end to end: harmonisation, VEM and pseudo-validated grid search, scoring files, target
scores, metrics per group, the HTML report.
"""

import gzip

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import TINY, snakemake  # same directory (pytest rootdir)

from vibank import columns as col
from vibank.genotypes._plink2 import run_plink2
from vibank.io.plink import read_bim, read_dosages, read_fam
from vibank.ld.genotypes import standardise_genotypes
from vibank.simulate.external_gwas import external_gwas
from vibank.simulate.sumstats import draw_effects, simulate_sumstats, sumstats_table

MODELS = ("viprs-ss-vem", "viprs-ss-gs")


def _keep(path, fam):
    fam[[col.FID, col.IID]].to_csv(path, sep="\t", header=False, index=False)
    return path


def _write_inputs(root):
    """Reference panel, GWAS file, target genotypes/phenotypes; returns the target's truth."""
    snakemake("results/cohort/raw.bed", "results/cohort/samples.tsv", "--cores", "2",
              "--directory", str(root), "--configfile", str(TINY), "--replace-workflow-config")
    raw = str(root / "results/cohort/raw")
    samples = pd.read_csv(root / "results/cohort/samples.tsv", sep="\t", dtype=str)
    fam = read_fam(raw)
    pop = samples.set_index(col.IID).loc[fam[col.IID], col.POP].to_numpy()
    eur, afr = np.flatnonzero(pop == "EUR"), np.flatnonzero(pop == "AFR")
    parts = {"reference": np.concatenate([eur[:300], afr[:20]]), "gwas": eur[300:1900],
             "target": np.concatenate([eur[1900:2300], afr[20:120]])}
    for name in ("reference", "target"):
        run_plink2(["--bfile", raw, "--keep", _keep(root / f"{name}.keep", fam.iloc[parts[name]]),
                    "--make-bed"], root / name)
    samples[samples[col.IID].isin(fam[col.IID].iloc[parts["reference"]])][
        [col.IID, col.POP]].to_csv(root / "reference_pops.tsv", sep="\t", index=False)
    # the GWAS population's LD and known effects on its polymorphic variants
    bim = read_bim(raw)
    dosages = read_dosages(raw, sample_index=parts["gwas"])
    genotypes, mean, sd, _ = standardise_genotypes(dosages.T.astype(np.float64), n_threads=2)
    genotypes = np.nan_to_num(np.asarray(genotypes, np.float64))
    freq = np.asarray(mean, np.float64) / 2
    ok = (freq > 0.01) & (freq < 0.99)
    rng = np.random.default_rng(18)
    beta = np.zeros(len(bim))
    beta[ok] = draw_effects(genotypes[ok], 40, 0.3, rng)
    b = simulate_sumstats(genotypes, beta, 30_000, rng, h2=0.3)
    table, _ = external_gwas(sumstats_table(bim[ok], b[ok], 30_000, freq[ok]),
                             format="gwas-ssf", n_allele_mismatch=5, n_sign_mismatch=0, seed=4)
    table.to_csv(root / "consortium.tsv.gz", sep="\t", index=False)
    # the target's phenotype: the same standardised effects (GWAS-sample scale) plus noise
    target = read_dosages(raw, sample_index=parts["target"]).astype(np.float64)
    target[target < 0] = np.nan
    centred = np.nan_to_num((target - 2 * freq) / np.where(np.asarray(sd) > 0, sd, 1))
    genetic = centred[:, ok] @ beta[ok]
    y = genetic + rng.normal(0, np.sqrt(0.7), len(genetic))
    ids = fam.iloc[parts["target"]][[col.FID, col.IID]].reset_index(drop=True)
    ids.assign(height=y).to_csv(root / "target_pheno.tsv", sep="\t", index=False)
    table_s = samples.set_index(col.IID).loc[ids[col.IID]]
    ids.assign(SEX=table_s[col.SEX].to_numpy(), AGE=table_s[col.AGE].to_numpy()).to_csv(
        root / "target_cov.tsv", sep="\t", index=False)
    ids.assign(GROUP=pop[parts["target"]]).to_csv(root / "target_groups.tsv", sep=" ",
                                                  index=False)
    return genetic


def _config(root, target):
    config = {
        "cohort": {"source": "none"},
        "ld": {"panels": {"kg": {"source": "plink", "bfile": str(root / "reference"),
                                 "sample_table": str(root / "reference_pops.tsv"),
                                 "population": "EUR", "estimator": "windowed",
                                 "window_cm": 3.0}}},
        "prs": {"ld_panel": "kg", "models": {
            "viprs-ss-vem": {"method": "viprs", "prior": "spike_slab", "strategy": "vem"},
            "viprs-ss-gs": {"method": "viprs", "prior": "spike_slab", "strategy": "gs",
                            "metric": "pseudo", "grid_size": 6}}},
        "external_gwas": {"height": {"file": str(root / "consortium.tsv.gz"),
                                     "format": "gwas-ssf"}},
        "target": {"genotypes": str(target), "phenotypes": str(root / "target_pheno.tsv"),
                   "covariates": str(root / "target_cov.tsv"),
                   "groups": str(root / "target_groups.tsv")},
    }
    if target.name == "target_pgen":  # groups assigned by projection onto the panel's PCs
        config["target"]["groups"] = None
        config["target"]["ancestry"] = {"reference": str(root / "reference"),
                                        "labels": str(root / "reference_pops.tsv"),
                                        "n_pcs": 4}
    path = root / f"config_{target.name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("target_data")
    genetic = _write_inputs(data)
    run_plink2(["--bfile", data / "target", "--make-pgen"], data / "target_pgen")
    out = {}
    for name, prefix in (("bed", data / "target"), ("pgen", data / "target_pgen")):
        root = tmp_path_factory.mktemp(f"target_{name}")
        config = _config(data, prefix)
        snakemake("--cores", "2", "--directory", str(root), "--configfile", str(config),
                  "--replace-workflow-config")
        snakemake("--cores", "1", "--directory", str(root), "--configfile", str(config),
                  "--replace-workflow-config", "--report", str(root / "report.html"))
        out[name] = root
    return out, genetic, data


@pytest.mark.workflow
def test_target__scores_and_metrics_per_group(runs):
    roots, genetic, _ = runs
    root = roots["bed"]
    for model in MODELS:
        prefix = root / f"results/scoring/{model}/height/foldall"
        with gzip.open(f"{prefix}.pgs.txt.gz", "rt") as fh:
            assert "#format_version=2.0" in fh.read()
        sscore = pd.read_csv(root / f"results/target/scores/{model}/height/foldall.sscore",
                             sep="\t")
        assert len(sscore) == 500
        # the scores track the true genetic values of the target people
        assert np.corrcoef(sscore["SCORE1_SUM"], genetic)[0, 1] > 0.5
    metrics = pd.read_csv(root / "results/target/metrics.tsv", sep="\t")
    assert sorted(zip(metrics["model"], metrics["group"])) == sorted(
        (m, g) for m in MODELS for g in ("AFR", "EUR", "all"))
    by = metrics.set_index(["model", "group"])
    assert (by.xs("all", level="group")["n"] == 500).all()
    assert (by.xs("EUR", level="group")["n"] == 400).all()
    assert (by["overlap"] > 0.95).all()
    assert (by.xs("EUR", level="group")["incremental_r2"] > 0.1).all()
    assert metrics["auprc"].isna().all()  # a quantitative phenotype
    report = (root / "report.html").read_text(errors="replace")
    assert "summary-statistics-only run" in report


@pytest.mark.workflow
def test_target__pgen_gives_the_bed_scores(runs):
    roots, _, _ = runs
    for model in MODELS:
        a, b = (pd.read_csv(roots[k] / f"results/target/scores/{model}/height/foldall.sscore",
                            sep="\t") for k in ("bed", "pgen"))
        np.testing.assert_allclose(a["SCORE1_SUM"], b["SCORE1_SUM"], rtol=1e-6)
        assert list(a[col.IID]) == list(b[col.IID])


@pytest.mark.workflow
def test_target__ancestry_assigned_by_projection(runs):
    roots, _, data = runs
    root = roots["pgen"]
    groups = pd.read_csv(root / "results/target/ancestry.tsv", sep="\t")
    given = pd.read_csv(data / "target_groups.tsv", sep=" ")
    merged = groups.merge(given, on="IID", suffixes=("", "_given"))
    assert len(merged) == 500
    for pop, share in (("EUR", 0.95), ("AFR", 0.8)):
        rows = merged[merged["GROUP_given"] == pop]
        print(f"ancestry {pop}: {(rows['GROUP'] == pop).mean():.3f} assigned {pop}")
        assert (rows["GROUP"] == pop).mean() >= share
    metrics = pd.read_csv(root / "results/target/metrics.tsv", sep="\t")
    assert {"EUR", "AFR", "all"} <= set(metrics["group"])
