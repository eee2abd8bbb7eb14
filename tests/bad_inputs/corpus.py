"""Helpers of the bad-input corpus: the small valid study, runners of the CLI and Snakemake,
and the assertions every case makes.

Every case breaks one input of the valid study (written to its own ``tmp_path``), runs a real
entry point and checks what the user sees: exit code, a single stderr line without a traceback
naming the file and the row or column, and no partial output. The study is made in < 1 s:
an LD store of 80 variants from 200 panel genotypes, canonical sumstats of a sparse trait from
1,000 other genotypes, a PLINK fileset of 60 samples over the same variants, a sample table,
a phenotype table and a config for ``vibank simulate phenotypes``.
"""

import contextlib
import io
import logging
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
M = 80
#: fit options that keep each fit well under a second
FAST = ["--max-iter", "50"]
OUTPUTS = (".effects.tsv.gz", ".json", ".pgs.txt.gz", ".score.tsv")
#: non-ambiguous allele pairs (A1, A2) cycled over the variants
PAIRS = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("G", "A"), ("T", "C")]


@dataclass(frozen=True)
class Study:
    dir: Path
    ld: Path          # chr1 LD store
    ld_x: Path        # the same matrix stored as chromosome X
    sumstats: pd.DataFrame  # canonical table (rsIDs, positions on chr1)
    bfile: Path       # PLINK prefix, same variants, 60 samples
    samples: Path     # sample table IID POP SEX AGE
    phenotypes: Path  # FID IID height
    keep: Path        # validation keep file (all samples)
    pheno_config: Path  # config with phenotypes.traits for `vibank simulate phenotypes`


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def _genotypes(rng, n):
    g = rng.binomial(2, 0.3, size=(n, M)).astype(np.int8)
    for j in range(1, M):  # neighbours copy each other: a band of LD
        copy = rng.random(n) < 0.5
        g[copy, j] = g[copy, j - 1]
    return g


def make_study(tmp):
    """Write the valid study into ``tmp`` (see the module docstring)."""
    from vibank.io.ld_store import write_ld_store
    from vibank.io.plink import write_bfile
    from vibank.io.sumstats import write_sumstats
    from vibank.ld import LDEstimator, compute_ld
    from vibank.ld.estimators import ld_scores, standardise_panel
    from vibank.ld.windows import window_ends

    rng = np.random.default_rng(7)
    panel, gwas, target = _genotypes(rng, 200), _genotypes(rng, 1000).astype(float), \
        _genotypes(rng, 60)
    x, freq, n_obs = standardise_panel(panel, dtype=np.float64)
    pos = np.arange(1, M + 1) * 5000
    ld = compute_ld(x, estimator=LDEstimator("windowed", window_variants=20),
                    ends=window_ends(pos, window_variants=20))
    snps = [f"rs{1000 + j}" for j in range(M)]
    a1 = [PAIRS[j % len(PAIRS)][0] for j in range(M)]
    a2 = [PAIRS[j % len(PAIRS)][1] for j in range(M)]
    for chrom, name in (("1", "chr1.zarr"), ("X", "chrX.zarr")):
        write_ld_store(tmp / name, ld, {
            "snp": snps, "chr": [chrom] * M, "a1": a1, "a2": a2, "pos": pos, "cm": pos * 1e-6,
            "maf": np.minimum(freq, 1 - freq), "ld_score": ld_scores(ld), "n_ref": n_obs},
            {"estimator": "windowed", "n_ref": 200, "chrom": chrom}, dtype="int16")
    xs = (gwas - gwas.mean(0)) / gwas.std(0)
    beta = np.where(rng.random(M) < 0.1, rng.normal(0, 0.2, M), 0.0)
    y = xs @ beta + rng.standard_normal(1000)
    b = xs.T @ ((y - y.mean()) / y.std()) / 1000
    z = b * np.sqrt(998) / np.sqrt(1 - b**2)
    f = gwas.mean(0) / 2
    ss = pd.DataFrame({"CHR": "1", "SNP": snps, "POS": pos, "A1": a1, "A2": a2, "N": 1000,
                       "MAF": np.minimum(f, 1 - f), "BETA": b, "SE": b / z, "Z": z,
                       "P": 0.5})
    write_sumstats(ss, tmp / "ss.tsv")

    iids = [f"s{i}" for i in range(60)]
    bim = pd.DataFrame({"CHR": "1", "SNP": snps, "CM": pos * 1e-6, "POS": pos, "A1": a1,
                        "A2": a2})
    fam = pd.DataFrame({"FID": iids, "IID": iids, "SEX": rng.integers(1, 3, 60)})
    write_bfile(tmp / "geno", target, bim, fam)
    pd.DataFrame({"IID": iids, "POP": "EUR", "SEX": fam["SEX"], "AGE": rng.integers(40, 70, 60)}
                 ).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    pd.DataFrame({"FID": iids, "IID": iids, "height": rng.standard_normal(60)}
                 ).to_csv(tmp / "phenotypes.tsv", sep="\t", index=False)
    pd.DataFrame({"#FID": iids, "IID": iids}).to_csv(tmp / "keep.tsv", sep="\t", index=False)
    (tmp / "pheno.yaml").write_text(yaml.safe_dump({"seed": 3, "phenotypes": {"traits": {
        "height": {"type": "quantitative", "architecture": "spike_slab", "pi": 0.1,
                   "h2": 0.3}}}}))
    return Study(tmp, tmp / "chr1.zarr", tmp / "chrX.zarr", ss, tmp / "geno",
                 tmp / "samples.tsv", tmp / "phenotypes.tsv", tmp / "keep.tsv",
                 tmp / "pheno.yaml")


def run_vibank(*args, real=False):
    """Run ``vibank args`` and return (code, stdout, stderr).

    ``real``: in a subprocess of the installed script, exactly as a user sees it. Otherwise in
    process (fast); Python warnings and WARNING log records count as stderr lines, since in a
    subprocess they would reach the user's terminal.
    """
    args = [str(a) for a in args]
    if real:
        exe = BIN / "vibank"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "vibank.cli"]
        proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONWARNINGS="default"))
        return Run(proc.returncode, proc.stdout, proc.stderr)
    from vibank.cli import main

    out, err = io.StringIO(), io.StringIO()
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(f"{record.levelname} {record.getMessage()}")

    handler = Collect(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            code = main(args)
    finally:
        root.removeHandler(handler)
    extra = [f"{w.category.__name__}: {w.message}" for w in caught] + records
    err_text = err.getvalue() + "".join(line + "\n" for line in extra)
    return Run(code, out.getvalue(), err_text)


def run_snakemake(config, workdir):
    """``snakemake --dry-run`` of the workflow with ``config`` replacing the workflow's own."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "workflow" / "Snakefile"),
           "--dry-run", "--directory", str(workdir), "--configfile", str(config),
           "--replace-workflow-config"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(run, *fragments):
    """Exit 1, one stderr line ``vibank: error: ...`` holding every fragment, no traceback."""
    assert run.code == 1, (run.code, run.err)
    assert "Traceback" not in run.err, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("vibank: error: "), run.err
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])


def assert_no_partial_output(directory, prefix=None, extra=()):
    """No output of ``prefix`` (the fit's --out), no other named output, no ``*.tmp`` left."""
    directory = Path(directory)
    left = [p for p in directory.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.name]
    assert not left, left
    if prefix is not None:
        written = [p for p in Path(prefix).parent.iterdir() if p.name.startswith(Path(prefix).name)]
        assert not written, written
    for path in extra:
        assert not Path(path).exists(), path


def write_tsv(table, path):
    """A table as the canonical TSV writes it (plain text, so rows can be edited by hand)."""
    table.to_csv(path, sep="\t", index=False, float_format="%.8g", na_rep="NA")
    return path
