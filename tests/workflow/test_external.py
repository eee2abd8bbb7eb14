"""External GWAS in the workflow (issue 7): the demo's re-formatted trait against its source,
the LD-mismatch filter as a config switch, and an interrupted run (kill -9 of Snakemake during
a fit) completed by --rerun-incomplete with the same result tables as an uninterrupted run."""

import base64
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import BIN, REPO, _checksums, snakemake  # same directory (pytest rootdir)

CONFIG = REPO / "tests" / "workflow" / "config-external" / "config.yaml"
TARGETS = ["results/eval/metrics.tsv", "results/external/sparse-ssf/agreement.tsv"]


def run(directory, *extra, config=CONFIG, cores="2"):
    return snakemake(*TARGETS, "--cores", cores, "--directory", str(directory), *extra,
                     "--configfile", str(config), "--replace-workflow-config")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The config-external study run once to its evaluation and the agreement table."""
    root = tmp_path_factory.mktemp("external")
    run(root)
    return root


@pytest.mark.workflow
def test_external_gwas__harmonised_fitted_and_evaluated(study):
    summary = pd.read_csv(study / "results/external/sparse-ssf/harmonisation.tsv", sep="\t")
    total = summary.set_index("chrom").loc["all"]
    changes = pd.read_csv(study / "results/external/sparse-ssf/source_changes.tsv", sep="\t")
    counts = changes["change"].value_counts()
    # every change the simulator made is undone or audited by the harmonisation
    audit = pd.read_csv(study / "results/external/sparse-ssf/audit.tsv.gz", sep="\t")
    dropped = set(audit["SNP"])
    kept = changes[~changes["SNP"].isin(dropped)]["change"].value_counts()
    assert total["allele_mismatch"] == counts["allele_mismatch"] == 10
    # swaps and strand flips of kept variants are found; ambiguous swaps only through frequencies
    assert total["swapped"] == kept["swapped"] > 100
    assert total["strand_flipped"] == kept["strand_flipped"] == counts["strand_flipped"] > 100
    assert total["ambiguous_resolved"] > 100  # A/T, C/G oriented by allele frequency
    assert set(audit["reason"]) == {"allele_mismatch", "ambiguous_maf"}
    assert total["matched"] + len(audit) == total["input"] and total["other_chromosome"] == 0
    assert set(audit["SNP"][audit["reason"] == "allele_mismatch"]) == \
        set(changes["SNP"][changes["change"] == "allele_mismatch"])
    # the external file's fit equals the canonical file's (issue 7 acceptance: r >= 0.95)
    agreement = pd.read_csv(study / "results/external/sparse-ssf/agreement.tsv", sep="\t")
    assert list(agreement["model"]) == ["viprs-ss-vem"]
    print(agreement.to_string())
    assert (agreement["effect_correlation"] >= 0.95).all()
    assert (agreement["score_weight_correlation"] >= 0.95).all()
    # evaluated like a study trait, on its fold only, against the phenotype it names
    metrics = pd.read_csv(study / "results/eval/metrics.tsv", sep="\t")
    external = metrics[metrics["trait"] == "sparse-ssf"]
    assert sorted(external["target"]) == ["AFR", "EAS", "test", "validation"]
    assert (external["fold"] == 1).all()
    own = metrics[(metrics["trait"] == "sparse") & (metrics["fold"] == 1)].set_index("target")
    for _, row in external.iterrows():
        assert row["r2"] == pytest.approx(own.loc[row["target"], "r2"], abs=0.02)


@pytest.mark.workflow
def test_mismatch_filter__config_switch_reruns_the_fits(study, tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["prs"]["mismatch_filter"] = {"enabled": True, "max_rounds": 2}
    path = tmp_path / "filter.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    work = tmp_path / "study"
    shutil.copytree(study, work, symlinks=True)
    proc = run(work, "--dry-run", config=path)
    out = proc.stdout + proc.stderr
    assert "fit_prs" in out and "run_gwas" not in out and "compute_ld" not in out
    run(work, config=path)
    audit = pd.read_csv(work / "results/prs/viprs-ss-vem/sparse/fold1/chr1.audit.tsv.gz", sep="\t")
    removed = audit[audit["reason"] == "ld_mismatch"]
    assert len(removed) >= 1 and removed["detail"].str.contains("round [12]$").all()


def _incomplete_fit(directory):
    """True while Snakemake has marked a PRS fit output as incomplete (the job is running)."""
    marks = directory / ".snakemake" / "incomplete"
    if not marks.exists():
        return False
    for mark in marks.iterdir():
        try:
            name = base64.b64decode(mark.name.encode()).decode()
        except ValueError:
            continue
        if name.startswith("results/prs/"):
            return True
    return False


@pytest.mark.workflow
def test_kill9_during_a_fit__rerun_incomplete_gives_identical_tables(study, tmp_path):
    work = tmp_path / "study"
    shutil.copytree(study, work, symlinks=True)
    for stage in ("prs", "eval", "external/sparse-ssf/agreement.tsv"):
        target = work / "results" / stage
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "workflow" / "Snakefile"),
           *TARGETS, "--cores", "1", "--directory", str(work), "--configfile", str(CONFIG),
           "--replace-workflow-config"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not _incomplete_fit(work):
        assert proc.poll() is None, "the workflow ended before a fit started"
        assert time.monotonic() < deadline, "no fit started within 5 minutes"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the job it runs, as a node failure
    proc.wait()
    assert _incomplete_fit(work)
    # a plain rerun refuses (locked directory or incomplete files); unlock and rerun-incomplete
    refused = snakemake(*TARGETS, "--cores", "1", "--directory", str(work), "--configfile",
                        str(CONFIG), "--replace-workflow-config", check=False)
    assert refused.returncode != 0
    snakemake("--unlock", "--directory", str(work), "--configfile", str(CONFIG),
              "--replace-workflow-config")
    run(work, "--rerun-incomplete")
    assert not list((work / "results").rglob("*.tmp"))
    first = _checksums(study)
    second = _checksums(work)
    assert first.keys() == second.keys() and len(first) > 30
    assert [k for k in first if first[k] != second[k]] == []
