"""vibank.plot: every figure draws from small saved tables with the real tables' columns."""

import numpy as np
import pandas as pd
import pytest

from vibank import plot
from vibank.errors import VibankError
from vibank.plot._style import PALETTE, model_order, model_style

MODELS = ["viprs-ss-vem", "viprs-ss-gs", "ldpred-inf", "ct"]
TRAITS = {"sparse": False, "disease": True}
FOLDS = [1, 2]


def _save(table, path):
    table.to_csv(path, sep="\t", index=False, na_rep="NaN")
    return path


@pytest.fixture
def cv_summary(tmp_path):
    rows = []
    for m in MODELS:
        for t, binary in TRAITS.items():
            for s in ("test", "validation", "AFR", "EAS"):
                rows.append({"model": m, "trait": t, "target": s, "n_folds": 2,
                             "incremental_r2_mean": 0.3, "incremental_r2_se": 0.02,
                             "auprc_mean": 0.5 if binary else np.nan,
                             "auprc_se": 0.03 if binary else np.nan})
    return _save(pd.DataFrame(rows), tmp_path / "cv_summary.tsv")


@pytest.fixture
def runtime_table(tmp_path):
    rows = [{"model": m, "trait": t, "fold": f, "rule": "fit_prs", "seconds": 1.5 * (i + 1) * f,
             "max_rss_mb": 200.0 + i}
            for i, m in enumerate(MODELS) for t in TRAITS for f in FOLDS]
    return _save(pd.DataFrame(rows), tmp_path / "runtime.tsv")


@pytest.fixture
def transfer_table(tmp_path):
    distance = {"EUR": 0.01, "AFR": 0.4, "EAS": 0.3}
    rows = [{"model": m, "trait": t, "fold": f, "population": p, "r2_target": 0.2,
             "r2_eur_test_best": 0.3, "relative_r2": 1.0 - distance[p] - 0.05 * i,
             "pc_distance": distance[p] + 0.01 * f}
            for i, m in enumerate(MODELS) for t in TRAITS for f in FOLDS for p in distance]
    return _save(pd.DataFrame(rows), tmp_path / "transfer.tsv")


@pytest.fixture
def h2_table(tmp_path):
    from vibank.eval import observed_to_liability_h2

    rows = []
    for m in MODELS:
        for t, binary in TRAITS.items():
            for f in FOLDS:
                h2 = np.nan if m in ("ldpred-inf", "ct") else (0.2 if binary else 0.45) + 0.02 * f
                rows.append({"model": m, "trait": t, "fold": f, "h2_estimated": h2,
                             "h2_true": 0.5, "pi_estimated": 0.01, "pi_true": 0.01, "flags": "",
                             "prevalence": 0.15 if binary else np.nan,
                             "h2_liability": (observed_to_liability_h2(h2, prevalence=0.15)
                                              if binary else np.nan)})
    return _save(pd.DataFrame(rows), tmp_path / "h2.tsv")


@pytest.fixture
def grids(tmp_path):
    paths = {}
    pi = np.logspace(-3, np.log10(0.5), 6)
    for t in TRAITS:
        for f in FOLDS:
            table = pd.DataFrame({"pi": pi, "metric": [0.1, 0.3, 0.35, 0.32, 0.2, 0.1],
                                  "elbo": [-5000.0, -4100, -4000, -4020, -4300, -4800],
                                  "h2": 0.5, "n_iter": 40, "stop_reason": "converged",
                                  "seconds": 0.3, "error": np.nan})
            paths[("viprs-ss-gs", t, f)] = _save(table, tmp_path / f"grid_{t}_{f}.tsv")
    return paths


def _ld_summary(n_panels):
    panels = [("windowed3cm", "windowed"), ("block", "block"), ("shrink", "shrinkage")][:n_panels]
    return pd.DataFrame([{"ld_panel": p, "estimator": e, "chrom": str(c), "n_variants": 500,
                          "mean_ld_score": 3.0 + i, "lambda_min": -0.01 * i, "size_mb": 1.0,
                          "seconds": 2.0, "max_rss_mb": 300.0}
                         for i, (p, e) in enumerate(panels) for c in (1, 2)])


def _written(paths):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    for path in paths:
        assert path.exists() and path.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"


def test_accuracy__draws_from_cv_summary(cv_summary, tmp_path):
    _written(plot.accuracy(cv_summary, tmp_path / "fig" / "accuracy", models=MODELS))


def test_accuracy__no_rows_for_the_target_draws_a_note(cv_summary, tmp_path):
    _written(plot.accuracy(cv_summary, tmp_path / "accuracy", target="AMR"))


def test_runtime__draws_from_runtime_table(runtime_table, tmp_path):
    _written(plot.runtime(runtime_table, tmp_path / "runtime", models=MODELS))


def test_runtime__without_memory_column_values(runtime_table, tmp_path):
    table = pd.read_csv(runtime_table, sep="\t").assign(max_rss_mb=np.nan)
    _written(plot.runtime(table, tmp_path / "runtime", models=MODELS))


def test_transfer__draws_from_transfer_table(transfer_table, tmp_path):
    _written(plot.transfer(transfer_table, tmp_path / "transfer", models=MODELS))


def test_h2_calibration__draws_from_h2_table(h2_table, tmp_path):
    paths = plot.h2_calibration(h2_table, tmp_path / "h2", models=MODELS, binary_traits=["disease"])
    _written(paths)


def test_h2_calibration__binary_trait_on_the_liability_scale(h2_table, tmp_path, monkeypatch):
    import vibank.plot.prs as prs
    from vibank.plot._style import save

    drawn = []  # the figures, kept for a look at their panels

    def keep(fig, stem):
        drawn.append(fig)
        return save(fig, stem)

    monkeypatch.setattr(prs, "save", keep)
    plot.h2_calibration(h2_table, tmp_path / "h2", models=MODELS, binary_traits=["disease"])
    table = pd.read_csv(h2_table, sep="\t")
    panels = {ax.get_title().split("\n")[0]: ax for ax in drawn[0].axes if ax.get_title()}
    assert "liability scale" in panels["disease"].get_title()
    assert panels["disease"].get_ylabel() == "estimated h², liability scale"
    shown = np.concatenate([c.get_offsets()[:, 1] for c in panels["disease"].collections])
    disease = table[(table["trait"] == "disease")].dropna(subset=["h2_liability"])
    assert sorted(shown) == pytest.approx(sorted(disease["h2_liability"]))
    assert panels["sparse"].get_title() == "sparse"
    # a table without the converted column (written before it existed) keeps the observed scale
    old = table.drop(columns=["prevalence", "h2_liability"])
    plot.h2_calibration(old, tmp_path / "old", models=MODELS, binary_traits=["disease"])
    titles = [ax.get_title() for ax in drawn[1].axes]
    assert "disease\n(binary: observed vs liability scale)" in titles


def test_h2_calibration__no_true_h2_draws_a_note(h2_table, tmp_path):
    table = pd.read_csv(h2_table, sep="\t").assign(h2_true=np.nan)
    _written(plot.h2_calibration(table, tmp_path / "h2"))


def test_grid_elbo__draws_from_grid_tables(grids, tmp_path):
    _written(plot.grid_elbo(grids, tmp_path / "grid", binary_traits=["disease"]))


def test_ld_panels__draws_with_several_panels(tmp_path):
    path = _save(_ld_summary(3), tmp_path / "ld_panels.tsv")
    _written(plot.ld_panels(path, tmp_path / "ld"))


def test_ld_panels__one_panel_writes_nothing(tmp_path):
    assert plot.ld_panels(_ld_summary(1), tmp_path / "ld") == []
    assert not list(tmp_path.iterdir())


def test_figures__same_tables_give_identical_files(cv_summary, tmp_path):
    first = plot.accuracy(cv_summary, tmp_path / "a", models=MODELS)
    second = plot.accuracy(cv_summary, tmp_path / "b", models=MODELS)
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("figure, fixture, column", [
    (plot.accuracy, "cv_summary", "auprc_se"),
    (plot.runtime, "runtime_table", "seconds"),
    (plot.transfer, "transfer_table", "pc_distance"),
    (plot.h2_calibration, "h2_table", "h2_true"),
])
def test_figures__missing_column_names_file_and_column(figure, fixture, column, request,
                                                       tmp_path):
    path = request.getfixturevalue(fixture)
    _save(pd.read_csv(path, sep="\t").drop(columns=column), path)
    with pytest.raises(VibankError, match=f"{path}: no column {column}"):
        figure(path, tmp_path / "out")
    assert not list(tmp_path.glob("out.*"))


def test_grid_elbo__missing_column_names_file_and_column(grids, tmp_path):
    key, path = next(iter(grids.items()))
    _save(pd.read_csv(path, sep="\t").drop(columns="elbo"), path)
    with pytest.raises(VibankError, match=f"{path}: no column elbo"):
        plot.grid_elbo(grids, tmp_path / "out")


def test_ld_panels__missing_column_names_file_and_column(tmp_path):
    path = _save(_ld_summary(2).drop(columns="lambda_min"), tmp_path / "ld_panels.tsv")
    with pytest.raises(VibankError, match=f"{path}: no column lambda_min"):
        plot.ld_panels(path, tmp_path / "ld")


def test_model_style__configured_order_fixes_colours():
    order = model_order(["ct", "extra", "viprs-ss-vem"], MODELS)
    assert order == [*MODELS, "extra"]
    style = model_style(order)
    assert style["ct"][0] == PALETTE[3] and style["extra"][0] == PALETTE[4]
    many = model_style([f"m{i}" for i in range(12)])
    assert len({v for v in many.values()}) == 12  # colour + marker pairs stay distinct
