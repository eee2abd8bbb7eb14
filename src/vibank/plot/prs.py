"""Figures of the PRS evaluation, drawn from the tables of :mod:`vibank.eval.tables` and the
tuned fits' ``grid.tsv`` (columns in docs/formats.md).

Each function takes the table path(s) or DataFrame(s), an output stem and optionally
``models``, the configured model order that fixes each model's colour and marker in every
figure; it writes ``<stem>.png`` and ``<stem>.pdf`` and returns their paths.
"""

import numpy as np
import pandas as pd

from vibank.plot._style import model_order, model_style, note, read_table, save, styled, subplots

CV_COLUMNS = ["model", "trait", "target", "n_folds", "incremental_r2_mean", "incremental_r2_se",
              "auprc_mean", "auprc_se"]
RUNTIME_COLUMNS = ["model", "trait", "fold", "seconds", "max_rss_mb"]
TRANSFER_COLUMNS = ["model", "trait", "fold", "population", "relative_r2", "pc_distance"]
H2_COLUMNS = ["model", "trait", "fold", "h2_estimated", "h2_true"]
GRID_COLUMNS = ["pi", "metric", "elbo"]


def _is_binary(rows):
    """A trait is binary when the table holds an AUPRC for it (NaN for quantitative traits)."""
    return bool(np.isfinite(rows["auprc_mean"].to_numpy(dtype=float)).any())


def _mean_se(values):
    """Mean and standard error over folds (sd / sqrt(n), ddof 1; 0 with a single fold)."""
    values = values.dropna()
    n = len(values)
    return values.mean(), (values.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0)


def _legend(fig, order, style, present, **kwargs):
    """One legend entry per model present, in the fixed model order, below the panels."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=style[m][0], marker=style[m][1], linestyle="", label=m)
               for m in order if m in set(present)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), frameon=False,
               bbox_to_anchor=(0.5, 0), **kwargs)
    return len(handles)


def _leave_room(fig, n_entries):
    rows = int(np.ceil(n_entries / 5))
    fig.tight_layout(rect=(0, 0.05 + 0.04 * rows, 1, 1))


@styled
def accuracy(cv_summary, stem, *, models=None, target="test"):
    """Prediction accuracy per trait and model, mean ± SE over folds (paper Fig 1/2).

    One panel per trait; a horizontal bar per model: incremental R² of a quantitative trait or
    AUPRC of a binary one (the trait has an ``auprc_mean``) in the ``target`` samples of each
    fold, with the standard error over folds as the error bar.

    Parameters
    ----------
    cv_summary : cv_summary.tsv (path or DataFrame)
    stem : output path without suffix
    models : configured model order (colours), optional
    target : scored set to show (test, validation or a target population)
    """
    table = read_table(cv_summary, CV_COLUMNS)
    table = table[table["target"] == target]
    traits = list(pd.unique(table["trait"]))
    order = model_order(table["model"], models)
    style = model_style(order)
    fig, axes = subplots(max(len(traits), 1), panel_size=(3.6, 0.3 * len(order) + 1.2))
    for ax, trait in zip(axes, traits):
        rows = table[table["trait"] == trait].set_index("model")
        binary = _is_binary(rows)
        value, error = ("auprc_mean", "auprc_se") if binary else ("incremental_r2_mean",
                                                                   "incremental_r2_se")
        shown = [m for m in order if m in rows.index]
        y = np.arange(len(shown))[::-1]
        means = rows.loc[shown, value].to_numpy(dtype=float)
        ses = np.nan_to_num(rows.loc[shown, error].to_numpy(dtype=float))
        ax.barh(y, means, xerr=ses, color=[style[m][0] for m in shown], edgecolor="0.2",
                linewidth=0.5, error_kw={"elinewidth": 1, "capsize": 2})
        ax.set_yticks(y, shown)
        ax.axvline(0, color="0.3", linewidth=0.6)
        folds = int(rows["n_folds"].max()) if len(rows) else 0
        ax.set_xlabel(f"{'AUPRC' if binary else 'incremental R²'} ({target}, mean ± SE, "
                      f"{folds} folds)")
        ax.set_title(f"{trait} ({'binary' if binary else 'quantitative'})")
    if not traits:
        note(axes[0], f"no rows for target {target!r}")
    fig.tight_layout()
    return save(fig, stem)


def _log_axis(ax, values):
    """Log x axis over at least a factor 4 around the values, ticks at 1, 2, 5 x 10^k in
    plain numbers (no minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = values.min(), values.max()
    pad = max(2.0, np.sqrt(4 * low / high))
    ax.set_xscale("log")
    ax.set_xlim(low / pad, high * pad)
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(axis="x", which="major", color="0.9")


@styled
def runtime(runtime_table, stem, *, models=None):
    """Wall-clock time and peak memory of every fit per model, on log axes (paper Fig 3).

    A point per fit (trait × fold; time summed over a per-chromosome fit's jobs), a vertical
    tick at the model's median.
    """
    table = read_table(runtime_table, RUNTIME_COLUMNS)
    order = [m for m in model_order(table["model"], models) if m in set(table["model"])]
    style = model_style(model_order(table["model"], models))
    fig, axes = subplots(2, panel_size=(4.2, 0.3 * len(order) + 1.2), max_cols=2, sharey=True)
    rng = np.random.default_rng(0)  # vertical jitter only, so repeated points stay visible
    for ax, column, label in ((axes[0], "seconds", "wall-clock time per fit (s)"),
                              (axes[1], "max_rss_mb", "peak memory per fit (MB)")):
        values = table[column].to_numpy(dtype=float)
        if not (np.isfinite(values) & (values > 0)).any():
            note(ax, f"no {column} recorded")
            continue
        for i, model in enumerate(order):
            y = len(order) - 1 - i
            v = table.loc[table["model"] == model, column].to_numpy(dtype=float)
            v = v[np.isfinite(v) & (v > 0)]
            if not len(v):
                continue
            colour, marker = style[model]
            ax.scatter(v, y + rng.uniform(-0.15, 0.15, len(v)), color=colour, marker=marker,
                       s=18, alpha=0.8, edgecolor="none")
            ax.plot([np.median(v)] * 2, [y - 0.3, y + 0.3], color="0.1", linewidth=1.5)
        _log_axis(ax, values[np.isfinite(values) & (values > 0)])
        ax.set_xlabel(label)
    axes[0].set_yticks(np.arange(len(order))[::-1], order)
    fig.tight_layout()
    return save(fig, stem)


def _label_populations(ax, positions):
    """Population names above the axis at their distance; a name closer than 8% of the axis
    to the previous one goes on a second line."""
    span = max(positions.max() - min(positions.min(), 0), 1e-12)
    previous, raised = -np.inf, False
    for population, x in positions.items():
        raised = (x - previous) < 0.08 * span and not raised
        ax.annotate(population, (x, 1), xytext=(0, 13 if raised else 3),
                    textcoords="offset points", xycoords=("data", "axes fraction"),
                    ha="center", fontsize=8)
        previous = x


@styled
def transfer(transfer_table, stem, *, models=None):
    """Relative R² against PC-centroid distance per population (paper Fig 4).

    One panel per trait; per model and population the mean over folds of relative R²
    (± SE) at the mean distance between the fold's training samples and the population in PC
    space. Lines join a model's populations in order of distance.
    """
    table = read_table(transfer_table, TRANSFER_COLUMNS)
    traits = list(pd.unique(table["trait"]))
    order = model_order(table["model"], models)
    style = model_style(order)
    fig, axes = subplots(max(len(traits), 1), panel_size=(3.8, 3.2))
    for ax, trait in zip(axes, traits):
        rows = table[table["trait"] == trait]
        points = []
        for (model, population), group in rows.groupby(["model", "population"], sort=False):
            rel, rel_se = _mean_se(group["relative_r2"])
            points.append((model, population, group["pc_distance"].mean(), rel, rel_se))
        points = pd.DataFrame(points, columns=["model", "population", "x", "y", "se"])
        for model in order:
            mine = points[points["model"] == model].sort_values("x")
            if mine.empty:
                continue
            colour, marker = style[model]
            ax.errorbar(mine["x"], mine["y"], yerr=mine["se"], color=colour, marker=marker,
                        markersize=4, linewidth=0.8, capsize=2, alpha=0.9)
        _label_populations(ax, points.groupby("population")["x"].mean().sort_values())
        ax.axhline(1, color="0.5", linewidth=0.6, linestyle="--")
        ax.axhline(0, color="0.5", linewidth=0.6)
        ax.set_xlabel("PC distance to the training samples")
        ax.set_ylabel("relative R² (vs best model on EUR test)")
        ax.set_title(trait, pad=24)
    if not traits:
        note(axes[0], "empty transfer table")
    _leave_room(fig, _legend(fig, order, style, table["model"]))
    return save(fig, stem)


@styled
def h2_calibration(h2_table, stem, *, models=None, binary_traits=()):
    """Estimated against true SNP heritability, one panel per trait and one point per fit, with
    the line y = x (paper Fig S8).

    Fits without an estimate (C+T, LDpred-inf, model averages) are left out; points are
    shifted sideways by model (at most ±2% of the axis) so that the folds of a trait, which
    share its true h², stay apart. A binary trait's truth is on the liability scale and its
    estimate on the observed 0/1 scale: where the table has the estimate converted to the
    liability scale (``h2_liability``, :func:`vibank.eval.metrics.observed_to_liability_h2`)
    the panel plots that against the truth; otherwise ``binary_traits`` titles flag the
    mismatch of scales.
    """
    table = read_table(h2_table, H2_COLUMNS)
    if "h2_liability" not in table.columns:  # tables written before the conversion existed
        table = table.assign(h2_liability=np.nan)
    converted = np.isfinite(table["h2_liability"].astype(float))
    table = table.assign(h2_shown=table["h2_estimated"].where(~converted, table["h2_liability"]))
    order = model_order(table["model"], models)
    style = model_style(order)
    shown = table[np.isfinite(table["h2_shown"].astype(float))
                  & np.isfinite(table["h2_true"].astype(float))]
    traits = list(pd.unique(shown["trait"]))
    fig, axes = subplots(max(len(traits), 1), panel_size=(3.4, 3.4))
    if not traits:
        note(axes[0], "no fit has both an estimated and a true h²")
        fig.tight_layout()
        return save(fig, stem)
    present = [m for m in order if m in set(shown["model"])]
    for ax, trait in zip(axes, traits):
        rows = shown[shown["trait"] == trait]
        top = float(max(rows["h2_shown"].max(), rows["h2_true"].max(), 0.1)) * 1.1
        for i, model in enumerate(present):
            mine = rows[rows["model"] == model]
            shift = 0.04 * top * ((i + 0.5) / len(present) - 0.5)
            colour, marker = style[model]
            ax.scatter(mine["h2_true"] + shift, mine["h2_shown"], color=colour,
                       marker=marker, s=22, alpha=0.85, edgecolor="none")
        ax.plot([0, top], [0, top], color="0.3", linestyle="--", linewidth=0.8)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
        if converted[rows.index].all():
            ax.set_xlabel("true liability h² (simulation)")
            ax.set_ylabel("estimated h², liability scale")
            ax.set_title(f"{trait}\n(binary: liability scale, Lee et al. 2011)")
        else:
            ax.set_xlabel("true h² (simulation)")
            ax.set_ylabel("estimated h²")
            binary = trait in set(binary_traits)
            ax.set_title(f"{trait}\n(binary: observed vs liability scale)" if binary else trait)
    _leave_room(fig, _legend(fig, order, style, shown["model"]))
    return save(fig, stem)


@styled
def grid_elbo(grids, stem, *, binary_traits=()):
    """Training ELBO against the validation metric along the grid of the grid search (paper
    Fig S13).

    One panel per model and trait, one line per fold through the grid points in order of pi
    (colour: log10 pi). The x axis is ELBO minus the fold's largest ELBO (symmetric log
    scale), so every fold's ELBO-best point sits at 0; a star marks each fold's chosen point
    (best validation metric).

    Parameters
    ----------
    grids : {(model, trait, fold): grid.tsv path or DataFrame} of validation-tuned fits
    stem : output path without suffix
    binary_traits : traits whose metric is AUPRC (else validation R²)
    """
    import matplotlib.pyplot as plt

    tables = {key: read_table(path, GRID_COLUMNS) for key, path in grids.items()}
    panels = list(dict.fromkeys((m, t) for m, t, _ in tables))
    fig, axes = subplots(max(len(panels), 1), panel_size=(3.8, 3.2))
    all_pi = pd.concat([t["pi"] for t in tables.values()]) if tables else pd.Series([0.5])
    norm = plt.Normalize(np.log10(all_pi.min()), np.log10(all_pi.max()) + 1e-12)
    linestyles = ("-", "--", ":", "-.")
    scatter = None
    for ax, (model, trait) in zip(axes, panels):
        folds = [k for k in tables if k[:2] == (model, trait)]
        for j, key in enumerate(folds):
            grid = tables[key].dropna(subset=["metric", "elbo"]).sort_values("pi")
            if grid.empty:
                continue
            x = grid["elbo"].to_numpy(float) - grid["elbo"].max()
            y = grid["metric"].to_numpy(float)
            ax.plot(x, y, color="0.6", linewidth=0.7, linestyle=linestyles[j % 4],
                    label=f"fold {key[2]}")
            scatter = ax.scatter(x, y, c=np.log10(grid["pi"]), cmap="viridis", norm=norm, s=16,
                                 zorder=3)
            best = int(np.argmax(y))
            ax.scatter(x[best], y[best], marker="*", s=110, facecolor="none", edgecolor="k",
                       zorder=4)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel("training ELBO − fold's max ELBO")
        metric = "AUPRC" if trait in set(binary_traits) else "R²"
        ax.set_ylabel(f"validation {metric}")
        ax.set_title(f"{model}: {trait}")
        ax.legend(loc="lower left", frameon=False)
    if not panels:
        note(axes[0], "no grid tables")
    fig.tight_layout()
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, label="log10 pi", shrink=0.8)
    return save(fig, stem)
