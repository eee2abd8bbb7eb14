"""vibank.plot.qtl: each pQTL figure from a small saved table writes a non-empty PNG and PDF."""

import numpy as np
import pandas as pd
import pytest

from vibank.errors import VibankError
from vibank.plot import qtl


def _save(table, path):
    table.to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture
def hotspots(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame({"SNP": [f"v{k}" for k in range(n)],
                          "CHR": np.repeat(["1", "2", "10"], 20),
                          "POS": np.tile(np.arange(20) * 50_000 + 1, 3),
                          "THETA": rng.normal(-2, 0.5, n), "n_proteins": 0,
                          "expected_proteins": rng.uniform(0, 0.3, n), "max_PPI": 0.1})
    table.loc[[3, 25, 47], "n_proteins"] = [5, 2, 1]
    return _save(table, tmp_path / "hotspots.tsv")


@pytest.fixture
def associations(tmp_path, hotspots):
    hot = pd.read_csv(hotspots, sep="\t")
    rows = [{"SNP": s, "protein": f"P{t:03d}", "PPI": 0.9 if (k * 7 + t) % 11 == 0 else 0.05}
            for k, s in enumerate(hot["SNP"]) for t in range(30)]
    return _save(pd.DataFrame(rows), tmp_path / "associations.tsv.gz")


@pytest.fixture
def runtime_table(tmp_path):
    rows = [{"cavi": m, "chrom": c, "chunk": k, "p": 100, "iterations": 80 + k,
             "seconds": (2.0 if m == "full" else 1.1) * k}
            for m in ("adaptive", "full") for c in ("1", "2") for k in (1, 2)]
    return _save(pd.DataFrame(rows), tmp_path / "runtime.tsv")


def _written(paths):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    for p in paths:
        assert p.stat().st_size > 1000


def test_hotspots__writes_png_and_pdf(tmp_path, hotspots):
    _written(qtl.hotspots(hotspots, tmp_path / "hot"))


def test_ppi_heatmap__writes_png_and_pdf(tmp_path, associations, hotspots):
    _written(qtl.ppi_heatmap(associations, hotspots, tmp_path / "heat"))


def test_ppi_heatmap__no_hotspot_draws_a_note(tmp_path, associations, hotspots):
    table = pd.read_csv(hotspots, sep="\t").assign(n_proteins=0)
    _written(qtl.ppi_heatmap(associations, table, tmp_path / "heat"))


def test_runtime__writes_png_and_pdf(tmp_path, runtime_table):
    _written(qtl.runtime(runtime_table, tmp_path / "rt", modes=["full", "adaptive"]))
    one = pd.read_csv(runtime_table, sep="\t").query("cavi == 'adaptive'")
    _written(qtl.runtime(one, tmp_path / "rt1"))
    # with the evaluation table: AUPRC and false calls per mode (NaN without a simulated truth)
    metrics = pd.DataFrame({"cavi": ["full", "adaptive"], "auprc": [0.81, np.nan],
                            "fp": [17, np.nan], "fp_ppi90": [1, np.nan], "fp_fdr05": [7, np.nan]})
    _written(qtl.runtime(runtime_table, tmp_path / "rt2", modes=["full", "adaptive"],
                         metrics=metrics))


def test_hotspots__missing_column_is_named(tmp_path, hotspots):
    table = pd.read_csv(hotspots, sep="\t").drop(columns="THETA")
    with pytest.raises(VibankError, match="no column THETA"):
        qtl.hotspots(table, tmp_path / "hot")


def test_cavi_modes__writes_png_and_pdf(tmp_path, associations):
    full = pd.read_csv(associations, sep="\t")
    adaptive = full.assign(PPI=np.where(full.index == 0, 0.95, full["PPI"]))  # one call differs
    metrics = pd.DataFrame({"cavi": ["full", "adaptive"], "auprc": [0.81, 0.80], "tp": [30, 30],
                            "fp": [17, 18], "tp_fdr05": [30, 30], "fp_fdr05": [7, 7],
                            "tp_ppi90": [30, 29], "fp_ppi90": [1, 1]})
    _written(qtl.cavi_modes([full, adaptive], tmp_path / "modes", modes=["full", "adaptive"],
                            metrics=metrics))
    # one mode, or no simulated truth: notes instead of the panels
    _written(qtl.cavi_modes([full], tmp_path / "one", modes=["adaptive"]))
    no_truth = metrics.assign(auprc=np.nan)
    _written(qtl.cavi_modes([full, adaptive], tmp_path / "nt", modes=["full", "adaptive"],
                            metrics=no_truth))


def test_cavi_modes__one_table_per_mode(tmp_path, associations):
    with pytest.raises(VibankError, match="1 association tables for 2 CAVI modes"):
        qtl.cavi_modes([associations], tmp_path / "modes", modes=["full", "adaptive"])
