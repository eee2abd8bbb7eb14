"""The Snakemake workflow: lint, dry-runs of the full DAG, config validation, a tiny real run."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "workflow" / "config-tiny" / "config.yaml"
BIN = Path(sys.executable).parent


def _snakemake_cmd(*args):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return [str(BIN / "snakemake"), "--snakefile", str(REPO / "workflow" / "Snakefile"), *args], env


def snakemake(*args, cwd=REPO, check=True):
    cmd, env = _snakemake_cmd(*args)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def dry_run_error(config, directory):
    """The output of a dry run with ``config`` (a dict, replacing the workflow's) that must stop
    with a one-line error: non-zero exit, no traceback."""
    path = Path(directory) / "config_under_test.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake("--dry-run", "--directory", str(directory), "--configfile", str(path),
                     "--replace-workflow-config", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out, out[-3000:]
    return out


def test_lint__default_config_is_clean():
    proc = snakemake("--lint", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Congratulations" in out


def test_dry_run__default_config_builds_full_dag(tmp_path):
    proc = snakemake("--dry-run", "--cores", "2", "--directory", str(tmp_path),
                     "--configfile", str(REPO / "config" / "config.yaml"))
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    n_folds = config["splits"]["n_folds"]
    jobs = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    # one GWAS per fold (every trait and chromosome); one fit job per trait and fold (every
    # model of the trait, every chromosome: prs.jobs per_trait)
    assert jobs["run_gwas"] == n_folds
    assert config["prs"]["jobs"] == "per_trait"
    for trait in config["phenotypes"]["traits"]:
        assert jobs[f"fit_prs_{trait}"] == n_folds, trait
    for name, entry in config["external_gwas"].items():
        assert jobs[f"fit_prs_{name}"] == len(entry["folds"]), name
    fit_jobs = {name for name in jobs if name.startswith("fit_prs")}
    assert fit_jobs == {f"fit_prs_{t}" for t in [*config["phenotypes"]["traits"],
                                                 *config["external_gwas"]]}
    assert not {"tune_prs", "fit_baseline"} & set(jobs)
    for rule in ("simulate_cohort", "qc_genotypes", "compute_pcs", "simulate_phenotypes",
                 "make_covariates", "make_splits", "summarise_gwas"):
        assert jobs[rule] == 1, rule


def test_dry_run__unknown_config_key_is_rejected(tmp_path):
    bad = yaml.safe_load(TINY.read_text())
    bad["qc"] = {"mafff": 0.1}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    proc = snakemake("--dry-run", "--directory", str(tmp_path), "--configfile", str(path),
                     "--replace-workflow-config", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "config error at qc: Additional properties are not allowed ('mafff' was unexpected)" in out
    assert "bad.yaml" in out and "Traceback" not in out


TIMING_KEYS = {"seconds", "threads"}


def _content(path):
    """A file's bytes, or for a fit's JSON, grid table or fit job's timing table its content
    without the timings and thread count."""
    if path.name in ("grid.tsv", "runtime.tsv") or path.parent.parent.parent.name == "timing":
        return pd.read_csv(path, sep="\t").drop(columns=["seconds", "max_rss_mb"],
                                                errors="ignore").to_csv()
    if path.suffix != ".json":
        return hashlib.md5(path.read_bytes()).hexdigest()
    import json

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in TIMING_KEYS}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(json.loads(path.read_text())), sort_keys=True)


#: figures drawn from measured times differ between runs; everything else must not
TIMED_FIGURES = {"runtime.png", "runtime.pdf"}


def _checksums(root):
    return {p.relative_to(root): _content(p)
            for p in sorted((root / "results").rglob("*"))
            if p.is_file() and p.name not in TIMED_FIGURES}


@pytest.mark.workflow
def test_end_to_end__tiny_config(tmp_path, tmp_path_factory):
    # the same config and seed in another directory on one core, started now and compared below
    # (byte-identical results); it runs while the two-core run and its checks go on
    again = tmp_path_factory.mktemp("tiny_again")
    cmd, env = _snakemake_cmd("--cores", "1", "--directory", str(again), "--configfile", str(TINY),
                              "--replace-workflow-config")
    again_log = open(tmp_path_factory.mktemp("tiny_again_log") / "snakemake.log", "w+")
    again_run = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=again_log, stderr=subprocess.STDOUT)
    try:
        _tiny_config_checks(tmp_path, again, again_run, again_log)
    finally:
        if again_run.poll() is None:
            again_run.kill()
            again_run.wait()
        again_log.close()


def _tiny_config_checks(tmp_path, again, again_run, again_log):
    snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(TINY),
              "--replace-workflow-config")
    config = yaml.safe_load(TINY.read_text())
    traits = list(config["phenotypes"]["traits"])
    n_folds = config["splits"]["n_folds"]
    chroms = range(1, config["cohort"]["simulate"]["n_chromosomes"] + 1)
    for trait in traits:
        for fold in range(1, n_folds + 1):
            for chrom in chroms:
                path = tmp_path / f"results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz"
                ss = pd.read_csv(path, sep="\t")
                assert list(ss.columns) == ["CHR", "SNP", "POS", "A1", "A2", "N", "MAF", "BETA",
                                            "SE", "Z", "P", "A1_FREQ"]
                assert len(ss) > 100 and ss["P"].between(0, 1).all()
    qc = pd.read_csv(tmp_path / "results/qc/qc_summary.tsv", sep="\t")
    assert list(qc["filter"])[:2] == ["input", "duplicate_id"]
    summary = pd.read_csv(tmp_path / "results/gwas/gwas_summary.tsv", sep="\t")
    assert len(summary) == len(traits) * n_folds * len(chroms)
    sparse = summary[summary.trait == "sparse"]
    assert sparse["mean_chi2"].mean() > 1.1  # h2 = 0.5 over a few hundred variants
    from vibank.ld import LDMatrix

    for chrom in chroms:
        ld = LDMatrix(tmp_path / f"results/ld/windowed3cm/chr{chrom}.zarr")
        assert ld.attrs["n_ref"] == config["splits"]["ld_panel_size"]
        assert ld.attrs["estimator"] == "windowed" and ld.attrs["dtype"] == "int16"
        assert ld.n_variants > 100 and set(ld.variants()["CHR"]) == {str(chrom)}
        assert ld.attrs["eigenvalues"][0]["max"] > 1
    import json

    priors = {"viprs-ss-vem": "spike_slab", "viprs-mix-vem": "mixture", "viprs-alpha-vem": "alpha"}
    for model, prior in priors.items():
        for trait in traits:
            for chrom in chroms:
                fit = json.loads((tmp_path / f"results/prs/{model}/{trait}/fold1/chr{chrom}.json").read_text())
                assert fit["stop_reason"] in ("converged", "max_iter") and 0 <= fit["h2"] <= 1
                assert fit["prior"] == prior and fit["genome_wide"] is False
                effects = pd.read_csv(tmp_path / f"results/prs/{model}/{trait}/fold1/chr{chrom}.effects.tsv.gz", sep="\t")
                assert effects["PIP"].between(0, 1).all() and len(effects) == fit["n_variants"]
        if prior == "mixture":
            assert len(fit["sigma2_components"]) == 3
        if prior == "alpha":
            assert -1.5 <= fit["alpha"] <= 0.5
    # tuned strategies: one genome-wide job per trait and fold, with the table of every fit
    for model, strategy, n_fits in (("viprs-ss-gs", "gs", 6), ("viprs-ss-bma", "bma", 6),
                                    ("viprs-ss-bo", "bo", 6)):
        grid = pd.read_csv(tmp_path / f"results/prs/{model}/sparse/fold1/grid.tsv", sep="\t")
        assert len(grid) == n_fits
        fit = json.loads((tmp_path / f"results/prs/{model}/sparse/fold1/chr1.json").read_text())
        assert fit["strategy"] == strategy and fit["genome_wide"]
        if strategy == "bma":
            assert grid["weight"].sum() == pytest.approx(1.0)
        else:
            assert fit["metric"] == "validation_r2"
            assert fit["chosen"]["pi"] == pytest.approx(grid.loc[grid["metric"].idxmax(), "pi"])
            assert fit["pi"] == pytest.approx(fit["chosen"]["pi"])
    # baselines: the same files, the candidate table and the choice on validation
    for model, n_rows in (("ldpred-inf", 1), ("ct", 3), ("gibbs-ss-grid", 4)):
        grid = pd.read_csv(tmp_path / f"results/prs/{model}/sparse/fold1/grid.tsv", sep="\t")
        fit = json.loads((tmp_path / f"results/prs/{model}/sparse/fold1/chr1.json").read_text())
        assert len(grid) == n_rows and fit["method"] == model.split("-ss")[0]
        assert 0 < fit["h2_ldsc"] < 1
        best = grid.loc[grid["metric"].idxmax()]
        for key, value in fit["chosen"].items():  # the candidate with the best validation R2
            assert value == pytest.approx(best[key])
        effects = pd.read_csv(tmp_path / f"results/prs/{model}/sparse/fold1/chr1.effects.tsv.gz", sep="\t")
        assert len(effects) == fit["n_variants"] and effects["BETA"].notna().all()
    # no temporary or partial files left behind
    assert not list(tmp_path.rglob("*.tmp"))
    # rerunning has nothing to do: outputs are complete and up to date
    proc = snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(TINY),
                     "--replace-workflow-config", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    # same config and seed, another directory (and one core): byte-identical results (fit JSON:
    # identical apart from the timings and the thread count)
    again_run.wait()
    again_log.seek(0)
    assert again_run.returncode == 0, again_log.read()[-5000:]
    first, second = _checksums(tmp_path), _checksums(again)
    assert len(first) > 30
    assert first == second
    # genome-wide fits (shared hyperparameters) reuse the GWAS and LD and write the same files
    genome = yaml.safe_load(TINY.read_text())
    genome["prs"] = {"genome_wide": True, "models": {"viprs-ss-gw": {"prior": "spike_slab"}}}
    genome_config = tmp_path / "genome.yaml"
    genome_config.write_text(yaml.safe_dump(genome, sort_keys=False))  # same params: no reruns
    proc = snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(genome_config),
                     "--replace-workflow-config")
    assert "run_gwas" not in proc.stdout + proc.stderr
    fits = [json.loads((tmp_path / f"results/prs/viprs-ss-gw/sparse/fold1/chr{c}.json").read_text())
            for c in chroms]
    assert all(f["genome_wide"] for f in fits)
    assert len({(f["pi"], f["sigma2_beta"], f["sigma2_eps"]) for f in fits}) == 1  # shared
    assert sum(f["h2"] for f in fits) == pytest.approx(fits[0]["h2_genome"], rel=1e-9)
    # evaluation tables: the tiny config's in `again` (here they now hold the genome-wide run's)
    models, targets = list(config["prs"]["models"]), ["test", "validation", "AFR", "EAS"]
    folds = range(1, n_folds + 1)
    metrics = pd.read_csv(again / "results/eval/metrics.tsv", sep="\t")
    assert list(metrics.columns) == ["model", "trait", "fold", "target", "n", "overlap", "r2",
                                     "incremental_r2", "incremental_r2_se", "auprc", "auroc"]
    keys = list(zip(metrics["model"], metrics["trait"], metrics["fold"], metrics["target"]))
    assert sorted(keys) == sorted((m, t, f, s) for m in models for t in traits for f in folds
                                  for s in targets)
    assert metrics["overlap"].between(0.75, 1).all() and (metrics["n"] > 50).all()
    assert (metrics["incremental_r2_se"] > 0).all()
    binary = metrics["trait"] == "disease"
    assert metrics.loc[binary, ["auprc", "auroc"]].notna().all().all()
    assert metrics.loc[~binary, ["auprc", "auroc"]].isna().all().all()
    cv = pd.read_csv(again / "results/eval/cv_summary.tsv", sep="\t")
    assert list(cv.columns) == ["model", "trait", "target", "n_folds", "incremental_r2_mean",
                                "incremental_r2_se", "auprc_mean", "auprc_se"]
    assert len(cv) == len(models) * len(traits) * len(targets) and (cv["n_folds"] == n_folds).all()
    sparse_test = cv[(cv["trait"] == "sparse") & (cv["target"] == "test")].set_index("model")
    assert (sparse_test["incremental_r2_mean"] > 0.1).all()
    h2_sparse = config["phenotypes"]["traits"]["sparse"]["h2"]
    assert sparse_test.loc["viprs-ss-vem", "incremental_r2_mean"] >= 0.5 * h2_sparse
    transfer = pd.read_csv(again / "results/eval/transfer.tsv", sep="\t")
    assert list(transfer.columns) == ["model", "trait", "fold", "population", "r2_target",
                                      "r2_eur_test_best", "relative_r2", "pc_distance"]
    assert len(transfer) == len(models) * len(traits) * n_folds * 3
    assert set(transfer["population"]) == {"EUR", "AFR", "EAS"}
    eur = transfer[transfer["population"] == "EUR"]
    assert (eur["relative_r2"] <= 1 + 1e-9).all()
    best = eur.groupby(["trait", "fold"])["relative_r2"].max()  # the best model's own row
    assert ((best - 1).abs() < 1e-9).all()
    distance = transfer.groupby("population")["pc_distance"].mean()
    assert distance["EUR"] < 0.2 * min(distance["AFR"], distance["EAS"])
    h2 = pd.read_csv(again / "results/eval/h2.tsv", sep="\t")
    assert len(h2) == len(models) * len(traits) * n_folds and (h2["h2_true"] == 0.5).all()
    # per-chromosome fits each keep h2 in [0, 1] (checked in their JSON above); their sum, the
    # genome's estimate, has no such bound (each chromosome has its own residual variance)
    assert (h2[h2["model"] == "viprs-ss-vem"]["h2_estimated"] > 0).all()
    runtime = pd.read_csv(again / "results/eval/runtime.tsv", sep="\t")
    assert len(runtime) == len(h2) and (runtime["seconds"] > 0).all()
    assert set(runtime["rule"]) == {f"fit_prs_{t}" for t in traits}  # a job per trait x fold
    # pQTL: chunk fits of every CAVI mode, combined tables, evaluation against the simulation
    qtl_modes = config["qtl"]["model"]["cavi_modes"]
    chunks = pd.read_csv(again / "results/qtl/chunks/chr1.tsv", sep="\t")
    assert chunks["CHUNK"].max() == 2 and chunks["POS"].is_monotonic_increasing
    qtl_metrics = pd.read_csv(again / "results/qtl/eval/metrics.tsv", sep="\t")
    assert list(qtl_metrics["cavi"]) == qtl_modes and (qtl_metrics["n_chunks"] == 2).all()
    assert (qtl_metrics["n_pairs"] == len(chunks) * 20).all() and qtl_metrics["converged"].all()
    assert (qtl_metrics["auroc"] > 0.9).all() and qtl_metrics["hotspot_auroc"].notna().all()
    qtl_runtime = pd.read_csv(again / "results/qtl/eval/runtime.tsv", sep="\t")
    assert len(qtl_runtime) == 2 * len(qtl_modes) and (qtl_runtime["seconds"] > 0).all()
    for mode in qtl_modes:
        hot = pd.read_csv(again / f"results/qtl/{mode}/hotspots.tsv", sep="\t")
        calls = pd.read_csv(again / f"results/qtl/{mode}/calls.tsv", sep="\t")
        assert len(hot) == len(chunks) and hot["n_proteins"].sum() == len(calls) > 0
        assert (calls["PPI"] >= 0.5).all() and set(calls["cis_trans"]) <= {"cis", "trans"}
        assert (again / f"results/qtl/{mode}/loci.tsv").stat().st_size > 0
    for name in ("hotspots", "heatmap", "runtime", "modes"):
        assert (again / f"results/figures/qtl/{name}.png").stat().st_size > 1000
    # figures and the HTML report: each figure embedded with its caption, under its category
    figures = ("accuracy", "runtime", "transfer", "h2_calibration", "grid_elbo")
    for name in figures:
        for ext in ("png", "pdf"):
            assert (again / f"results/figures/{name}.{ext}").stat().st_size > 1000
    snakemake("--directory", str(again), "--report", str(again / "results/report.html"),
              "--configfile", str(TINY), "--replace-workflow-config")
    html = (again / "results/report.html").read_text()
    entries = json.loads(re.search(r"var results = (\{.*?\});\s*</script>", html, re.S).group(1))
    categories = json.loads(re.search(r"var categories = (\{.*?\});\s*</script>", html,
                                      re.S).group(1))
    assert set(categories) == {"QC", "GWAS", "PRS fit", "CV", "transfer", "pQTL"}
    for name in figures:
        entry = entries[f"results/figures/{name}.png"]
        assert entry["mime_type"] == "image/png" and len(entry["caption"].strip()) > 50
    genome_metrics = pd.read_csv(tmp_path / "results/eval/metrics.tsv", sep="\t")
    assert set(genome_metrics["model"]) == {"viprs-ss-gw"}
    assert len(genome_metrics) == len(traits) * n_folds * len(targets)
    genome_runtime = pd.read_csv(tmp_path / "results/eval/runtime.tsv", sep="\t")
    assert set(genome_runtime["rule"]) == {f"fit_prs_{t}" for t in traits}


def test_snakefmt__workflow_is_formatted():
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", str(REPO / "workflow")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run__more_gwas_pcs_than_computed_is_a_one_line_error(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["gwas"]["n_pcs"] = config["pca"]["n_pcs"] + 2
    out = dry_run_error(config, tmp_path)
    assert "config error at gwas.n_pcs: 12 is more than pca.n_pcs (10 principal" in out
