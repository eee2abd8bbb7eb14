"""The workflow on a live one-node SLURM cluster through profiles/slurm (snakemake-executor-plugin-slurm).

tests/slurm/slurm_up.sh installs and starts the cluster (root and Debian's apt-get needed, else
the test is skipped with the reason); the short config in config-slurm/ runs through sbatch and
its results must equal a local run of the same config. summarise_gwas fails at attempt 1 on
purpose (testing.require_mem_mb) and must come back from SLURM with more memory.
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import _checksums  # same directory (pytest's rootdir imports)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "workflow" / "config-slurm" / "config.yaml"
SLURM_SCRIPTS = REPO / "tests" / "slurm"
SLURM_DIR = Path(os.environ.get("VIBANK_SLURM_DIR", "/var/lib/vibank-slurm"))
BIN = Path(sys.executable).parent
SNAKEMAKE = [str(BIN / "snakemake"), "--snakefile", str(REPO / "workflow" / "Snakefile")]
ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
TIMEOUT = 900  # s; a job that SLURM never starts would otherwise hang the test suite
TARGETS = ["results/gwas/gwas_summary.tsv", "results/prs/viprs-ss-vem/sparse/fold1/chr1.json"]
RULES = {"simulate_cohort", "qc_genotypes", "compute_pcs", "simulate_phenotypes",
         "make_covariates", "make_splits", "run_gwas", "compute_ld", "fit_prs_sparse",
         "summarise_gwas"}
ONE_THREAD = ("compute_pcs", "compute_ld", "fit_prs_sparse")
RETRIED = "summarise_gwas"  # config-slurm: testing.require_mem_mb


def _skip_reason():
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "live SLURM test needs root (it installs slurm-wlm and munge and starts daemons)"
    if shutil.which("apt-get") is None:
        return "live SLURM test needs Debian's apt-get to install slurm-wlm and munge"
    return None


pytestmark = [pytest.mark.workflow,
              pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")]


@pytest.fixture(scope="module")
def slurm_cluster():
    """The cluster of slurm_up.sh, stopped afterwards unless it was up before; a lock file keeps
    two test sessions on this machine from sharing (and stopping) it."""
    SLURM_DIR.mkdir(parents=True, exist_ok=True)
    with open(SLURM_DIR / "test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        was_up = (SLURM_DIR / "pids").exists() and (SLURM_DIR / "pids").stat().st_size > 0
        up = subprocess.run(["bash", str(SLURM_SCRIPTS / "slurm_up.sh")], capture_output=True,
                            text=True, timeout=600)
        if up.returncode != 0:
            pytest.fail(f"slurm_up.sh failed:\n{up.stdout}\n{up.stderr}")
        yield
        if not was_up:
            subprocess.run(["bash", str(SLURM_SCRIPTS / "slurm_down.sh")], check=True,
                           timeout=120)


def _slurm_resources():
    """The profile's default-resources plus the test cluster's account: on the command line a
    --default-resources replaces the profile's whole block."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    return [f"{k}={v}" for k, v in profile["default-resources"].items()] + ["slurm_account=root"]


def _sacct(job_ids):
    """{job ID: (state, requested memory in MB)} from SLURM's accounting."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State,ReqMem",
                          "-j", ",".join(job_ids)], capture_output=True, text=True, check=True)
    table = {}
    for line in out.stdout.split():
        job_id, state, mem = line.split("|")
        value, unit = re.fullmatch(r"([\d.]+)([KMGT]?)n?c?", mem).groups()
        table[job_id] = (state, float(value) * {"K": 1 / 1024, "G": 1024, "T": 1024**2}.get(unit, 1))
    return table


def test_slurm__short_config_matches_local_run(tmp_path, slurm_cluster):
    common = ["--configfile", str(CONFIG), "--replace-workflow-config", *TARGETS]
    local_dir, slurm_dir = tmp_path / "local", tmp_path / "slurm"
    local_dir.mkdir()
    # the local reference run (one core) goes on while SLURM jobs wait for their status checks
    local = subprocess.Popen(
        [*SNAKEMAKE, "--profile", str(REPO / "profiles" / "local"), "--cores", "1",
         "--retries", "1", "--directory", str(local_dir), *common],
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        proc = subprocess.run(
            [*SNAKEMAKE, "--profile", str(REPO / "profiles" / "slurm"),
             "--directory", str(slurm_dir), "--default-resources", *_slurm_resources(),
             # the node has 2 CPUs: one-thread jobs here let the DAG's parallel jobs run
             # together (simulate_cohort and qc_genotypes, alone in their level, keep 2)
             "--set-threads", *(f"{rule}=1" for rule in ONE_THREAD),
             # jobs here take ~15 s: a first status check after 5 s, then 15 s later, finds them
             "--slurm-init-seconds-before-status-checks", "5",
             "--slurm-keep-successful-logs", *common],
            cwd=REPO, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        local_out, _ = local.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert local.returncode == 0, local_out[-5000:]
    out = proc.stdout + proc.stderr

    # every job went through sbatch: one SLURM log per job, named by its SLURM job ID
    logs = sorted((slurm_dir / ".snakemake" / "slurm_logs").rglob("*.log"),
                  key=lambda p: int(p.stem))
    by_rule = {}
    for log in logs:
        rule = next(p for p in log.parts if p.startswith("rule_"))[len("rule_"):]
        by_rule.setdefault(rule, []).append(log)
    assert set(by_rule) == RULES, out[-3000:]
    assert len(by_rule["run_gwas"]) == 2 and len(by_rule[RETRIED]) == 2
    accounting = _sacct([log.stem for log in logs])
    assert set(accounting) == {log.stem for log in logs}

    # the rule that needs 1500 MB failed with mem_mb=1000 and was resubmitted with 2000
    first, second = by_rule[RETRIED]
    assert "simulated out of memory" in first.read_text()
    assert "Trying to restart job" in out
    (state1, mem1), (state2, mem2) = accounting[first.stem], accounting[second.stem]
    assert (state1, state2) == ("FAILED", "COMPLETED")
    assert mem1 < 1500 <= mem2
    others = {job: state for job, (state, _) in accounting.items() if job != first.stem}
    assert set(others.values()) == {"COMPLETED"}, accounting

    # the same results as on this machine
    slurm, local_sums = _checksums(slurm_dir), _checksums(local_dir)
    assert len(slurm) > 10 and slurm == local_sums
