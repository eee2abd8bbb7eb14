"""Comparison of the configured LD panels (estimators): a summary table from the stores'
attributes and ``compute_ld`` benchmarks, and its figure.

The table (``results/figures/ld_panels.tsv``) has one row per panel and chromosome:

ld_panel, estimator, chrom, n_variants, mean_ld_score, lambda_min, size_mb, seconds, max_rss_mb

``mean_ld_score`` is the mean of the store's LD scores (1 + sum of r² over the stored pairs:
how much LD the estimator keeps); ``lambda_min`` the smallest eigenvalue over the blocks of the
stored matrix (NaN when the store has none; negative values mean the matrix is not positive
semi-definite and needs the fits' ridge); ``size_mb`` the store's bytes on disk; ``seconds``
and ``max_rss_mb`` come from the job's benchmark file.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from vibank.plot._style import model_order, model_style, note, read_table, save, styled, subplots

LD_COLUMNS = ["ld_panel", "estimator", "chrom", "n_variants", "mean_ld_score", "lambda_min",
              "size_mb", "seconds", "max_rss_mb"]


def _size_mb(path):
    path = Path(path)
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20


def ld_summary_table(stores, benchmarks=None):
    """The LD panel summary (see the module docstring).

    Parameters
    ----------
    stores : {ld_panel: [LD store per chromosome]}
    benchmarks : {ld_panel: [compute_ld benchmark file per chromosome, same order]}, optional
    """
    from vibank.eval.tables import read_benchmark
    from vibank.ld import LDMatrix

    rows = []
    for panel, paths in stores.items():
        bench = (benchmarks or {}).get(panel) or [None] * len(paths)
        for path, bench_path in zip(paths, bench):
            ld = LDMatrix(path)
            eigen = ld.attrs.get("eigenvalues") or []
            seconds, rss = read_benchmark(bench_path) if bench_path else (np.nan, np.nan)
            rows.append({
                "ld_panel": panel, "estimator": ld.attrs.get("estimator"),
                "chrom": str(ld.attrs.get("chrom")), "n_variants": ld.n_stored,
                "mean_ld_score": float(ld.variants()["LD_SCORE"].mean()),
                "lambda_min": min((b["min"] for b in eigen), default=np.nan),
                "size_mb": _size_mb(path), "seconds": seconds, "max_rss_mb": rss})
    return pd.DataFrame(rows, columns=LD_COLUMNS)


@styled
def ld_panels(summary, stem):
    """Compare LD panels: mean LD score, smallest eigenvalue, store size and compute time.

    One bar per panel in each of four panels (sums over chromosomes for size and time, the
    variant-weighted mean LD score, the smallest eigenvalue of any chromosome). Draws only
    when the table has more than one panel; with one there is nothing to compare, no file is
    written and the function returns an empty list.

    Parameters
    ----------
    summary : the table of :func:`ld_summary_table` (path or DataFrame)
    stem : output path without suffix
    """
    table = read_table(summary, LD_COLUMNS)
    panels = list(pd.unique(table["ld_panel"]))
    if len(panels) < 2:
        return []
    style = model_style(model_order(panels))
    per_panel = []
    for panel in panels:
        rows = table[table["ld_panel"] == panel]
        weights = rows["n_variants"].to_numpy(float)
        per_panel.append({
            "label": f"{panel}\n({rows['estimator'].iloc[0]})",
            "mean_ld_score": np.average(rows["mean_ld_score"], weights=weights),
            "lambda_min": rows["lambda_min"].min(),
            "size_mb": rows["size_mb"].sum(), "seconds": rows["seconds"].sum(min_count=1)})
    per_panel = pd.DataFrame(per_panel)
    fig, axes = subplots(4, panel_size=(3.4, 0.35 * len(panels) + 1.4), max_cols=2,
                          sharey=True)
    y = np.arange(len(panels))[::-1]
    colours = [style[p][0] for p in panels]
    for ax, column, label in ((axes[0], "mean_ld_score", "mean LD score"),
                              (axes[1], "lambda_min", "smallest eigenvalue"),
                              (axes[2], "size_mb", "store size (MB)"),
                              (axes[3], "seconds", "compute time (s)")):
        values = per_panel[column].to_numpy(float)
        if not np.isfinite(values).any():
            note(ax, f"no {label}")
            continue
        ax.barh(y, np.nan_to_num(values), color=colours, edgecolor="0.2", linewidth=0.5)
        ax.axvline(0, color="0.3", linewidth=0.6)
        ax.set_xlabel(label)
    axes[0].set_yticks(y, per_panel["label"])
    fig.tight_layout()
    return save(fig, stem)
