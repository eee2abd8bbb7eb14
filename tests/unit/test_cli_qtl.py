"""``vibank qtl``: one chunk fitted from PLINK genotypes (bed and pgen) and a protein table, the
long table cut at --min-ppi while calls and hotspots come from every pair, covariates."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pandas.testing import assert_frame_equal

from vibank import columns as col
from vibank.cli import main
from vibank.io.plink import write_bfile

N, P, Q = 300, 30, 20
HOTSPOT, CIS = 5, 20  # rs5 -> P00..P05, rs20 -> P10
TRUE_PAIRS = {(f"rs{HOTSPOT}", f"P{k:02d}") for k in range(6)} | {(f"rs{CIS}", "P10")}


@pytest.fixture(scope="module")
def chunk(tmp_path_factory):
    """300 genotyped samples x 30 independent variants; 20 proteins, six of them driven by one
    hotspot variant and one by another. The protein table lists its samples in another order,
    has 5 samples without genotypes and one missing value."""
    tmp = tmp_path_factory.mktemp("qtl_cli")
    rng = np.random.default_rng(1)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, P), size=(N, P)).astype(np.int8)
    iids = [f"id{i}" for i in range(N)]
    bim = pd.DataFrame({col.CHR: "1", col.SNP: [f"rs{j}" for j in range(P)], col.CM: 0.0,
                        col.POS: 10_000 * np.arange(1, P + 1), col.A1: "A", col.A2: "G"})
    write_bfile(tmp / "geno", g, bim, pd.DataFrame({col.FID: iids, col.IID: iids, col.SEX: 1}))
    x = (g - g.mean(0)) / g.std(0)
    beta = np.zeros((P, Q))
    beta[HOTSPOT, :6], beta[CIS, 10] = 0.6, 0.8
    y = x @ beta + rng.standard_normal((N, Q))
    proteins = pd.DataFrame(y, columns=[f"P{k:02d}" for k in range(Q)])
    proteins.insert(0, col.IID, iids)
    extra = pd.DataFrame(rng.standard_normal((5, Q)), columns=proteins.columns[1:])
    extra.insert(0, col.IID, [f"other{i}" for i in range(5)])
    proteins = pd.concat([proteins, extra]).sample(frac=1.0, random_state=2)
    proteins.iloc[3, 4] = np.nan
    proteins.to_csv(tmp / "proteins.tsv", sep="\t", index=False, na_rep="NA")
    return tmp


def _run(chunk, out, *extra):
    code = main(["qtl", "--bfile", str(chunk / "geno"), "--proteins", str(chunk / "proteins.tsv"),
                 "--out", str(out), "--cavi", "full", *map(str, extra)])
    assert code == 0
    return {name: out.parent / f"{out.name}.{name}" for name in
            ("associations.tsv.gz", "calls.tsv", "hotspots.tsv", "json")}


def _read(path):
    return pd.read_csv(path, sep="\t", dtype={col.CHR: str})


@pytest.fixture(scope="module")
def full_run(chunk):
    return _run(chunk, chunk / "out" / "all")


def test_qtl__help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["qtl", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--bfile", "--pfile", "--proteins", "--covariates", "--min-ppi",
                   "--ppi-threshold", "--fdr-level", "--cavi", "--chunks", "--threads"):
        assert option in text


def test_qtl__help_subprocess():
    exe = Path(sys.executable).parent / "vibank"
    if not exe.exists():
        pytest.skip(f"{exe} not installed")
    proc = subprocess.run([str(exe), "qtl", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "usage: vibank qtl" in proc.stdout


def test_qtl__every_pair_and_the_truth(chunk, full_run, capsys):
    long = _read(full_run["associations.tsv.gz"])
    assert list(long.columns) == col.QTL_LONG_COLUMNS
    assert len(long) == P * Q and not long.duplicated([col.SNP, col.PROTEIN]).any()
    calls = _read(full_run["calls.tsv"])
    called = set(zip(calls[col.SNP], calls[col.PROTEIN]))
    assert TRUE_PAIRS <= called and len(called - TRUE_PAIRS) <= 2
    assert (calls[col.PPI] >= 0.5).all() and len(calls) == (long[col.PPI] >= 0.5).sum()
    truth = long.set_index([col.SNP, col.PROTEIN])[col.PPI]
    assert truth.loc[list(TRUE_PAIRS)].min() > 0.99
    hot = _read(full_run["hotspots.tsv"]).set_index(col.SNP)
    assert len(hot) == P and hot["n_proteins"].idxmax() == f"rs{HOTSPOT}"
    assert hot.loc[f"rs{HOTSPOT}", "n_proteins"] >= 6 and hot["THETA"].idxmax() == f"rs{HOTSPOT}"
    assert_allclose(hot["expected_proteins"], long.groupby(col.SNP)[col.PPI].sum()
                    .reindex(hot.index), rtol=1e-5)
    run = json.loads(full_run["json"].read_text())
    # the 5 protein-only samples are left out; the shuffled order does not matter
    assert (run["n"], run["p"], run["q"], run["chunk"]) == (N, P, Q, None)
    assert run["converged"] and run["cavi"] == "full" and run["min_ppi"] == 0.0
    assert run["options"]["thinned_elbo"] is False
    assert not list(full_run["json"].parent.glob("*.tmp"))


def test_qtl__min_ppi_filters_only_the_long_table(chunk, full_run):
    cut = _run(chunk, chunk / "out" / "cut", "--min-ppi", 0.2)
    full, long = _read(full_run["associations.tsv.gz"]), _read(cut["associations.tsv.gz"])
    kept = full[full[col.PPI] >= 0.2].reset_index(drop=True)
    assert 0 < len(long) < len(full) / 10
    assert_frame_equal(long, kept)
    # calls and hotspots are made from every pair, whatever --min-ppi
    assert_frame_equal(_read(cut["calls.tsv"]), _read(full_run["calls.tsv"]))
    assert_frame_equal(_read(cut["hotspots.tsv"]), _read(full_run["hotspots.tsv"]))


def test_qtl__fdr_calls_below_min_ppi(chunk, full_run):
    """Bayesian-FDR calls are taken from every pair even when they lie below --min-ppi."""
    out = _run(chunk, chunk / "out" / "fdr", "--min-ppi", 0.999, "--fdr-level", 0.2)
    full, calls = _read(full_run["associations.tsv.gz"]), _read(out["calls.tsv"])
    ranked = full.sort_values(col.PPI, ascending=False, kind="stable")
    fdr = np.cumsum(1 - ranked[col.PPI].to_numpy()) / np.arange(1, len(full) + 1)
    assert len(calls) == (fdr < 0.2).sum() > (full[col.PPI] >= 0.999).sum()
    assert_allclose(calls["FDR"], fdr[: len(calls)], atol=1e-5)


def test_qtl__pgen_region_equals_bed(chunk, full_run, tmp_path):
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not installed")
    subprocess.run(["plink2", "--bfile", chunk / "geno", "--make-pgen", "--out", tmp_path / "pg"],
                   check=True, capture_output=True)
    out = tmp_path / "pg"
    code = main(["qtl", "--pfile", str(out), "--proteins", str(chunk / "proteins.tsv"),
                 "--out", str(tmp_path / "r"), "--cavi", "full", "--chrom", "1",
                 "--from-bp", "40000", "--to-bp", "250000"])
    assert code == 0
    long = _read(tmp_path / "r.associations.tsv.gz")
    assert set(long[col.SNP]) == {f"rs{j}" for j in range(3, 25)}
    # A1 stays the counted allele through plink2's ALT; the strong pairs as from the bed
    assert set(long[col.A1]) == {"A"}
    calls = _read(tmp_path / "r.calls.tsv")
    assert TRUE_PAIRS <= set(zip(calls[col.SNP], calls[col.PROTEIN]))
    full = _read(full_run["calls.tsv"]).set_index([col.SNP, col.PROTEIN])
    assert_allclose(calls.set_index([col.SNP, col.PROTEIN]).loc[list(TRUE_PAIRS), col.BETA],
                    full.loc[list(TRUE_PAIRS), col.BETA], rtol=0.05)


def test_qtl__covariates_are_regressed_out(chunk, full_run, tmp_path):
    proteins = pd.read_csv(chunk / "proteins.tsv", sep="\t")
    rng = np.random.default_rng(5)
    covar = pd.DataFrame({col.IID: proteins[col.IID], "AGE": rng.normal(50, 10, len(proteins)),
                          "PC1": rng.standard_normal(len(proteins))})
    names = [c for c in proteins.columns if c != col.IID]
    proteins[names] += 0.3 * covar[["AGE"]].to_numpy() + 2.0 * covar[["PC1"]].to_numpy()
    proteins.to_csv(tmp_path / "proteins.tsv", sep="\t", index=False, na_rep="NA")
    covar.to_csv(tmp_path / "covar.tsv", sep="\t", index=False)
    code = main(["qtl", "--bfile", str(chunk / "geno"), "--proteins", str(tmp_path / "proteins.tsv"),
                 "--covariates", str(tmp_path / "covar.tsv"), "--out", str(tmp_path / "c"),
                 "--cavi", "full"])
    assert code == 0
    calls = _read(tmp_path / "c.calls.tsv")
    full = _read(full_run["calls.tsv"])
    assert_array_equal(sorted(zip(calls[col.SNP], calls[col.PROTEIN])),
                       sorted(zip(full[col.SNP], full[col.PROTEIN])))


def test_qtl__adaptive_chunk_of_a_chunk_table(chunk, tmp_path, capsys):
    table = pd.DataFrame({col.SNP: [f"rs{j}" for j in range(P)], col.CHUNK: [1] * 15 + [2] * 15})
    table.to_csv(tmp_path / "chunks.tsv", sep="\t", index=False)
    code = main(["qtl", "--bfile", str(chunk / "geno"), "--proteins", str(chunk / "proteins.tsv"),
                 "--chunks", str(tmp_path / "chunks.tsv"), "--chunk", "2",
                 "--out", str(tmp_path / "k2"), "--start-partial", "5", "--min-ppi", "0.5"])
    assert code == 0
    run = json.loads((tmp_path / "k2.json").read_text())
    assert (run["chunk"], run["p"], run["cavi"]) == (2, 15, "adaptive")
    assert run["options"]["thinned_elbo"] is True and run["options"]["start_partial"] == 5
    calls = _read(tmp_path / "k2.calls.tsv")
    assert set(zip(calls[col.SNP], calls[col.PROTEIN])) >= {(f"rs{CIS}", "P10")}
    out = capsys.readouterr().out
    assert out.startswith("converged after ") and f"-> {tmp_path / 'k2'}.*" in out
