"""Figures of the pQTL pipeline, drawn from the tables of :mod:`vibank.stages.qtl`
(hotspots.tsv, associations.tsv.gz, runtime.tsv; columns in docs/formats.md).

Each function takes table paths or DataFrames and an output stem, writes ``<stem>.png`` and
``<stem>.pdf`` and returns their paths.
"""

import numpy as np
import pandas as pd

from vibank.errors import VibankError
from vibank.plot._style import PALETTE, note, read_table, save, styled, subplots

HOTSPOT_COLUMNS = ["SNP", "CHR", "POS", "THETA", "n_proteins", "expected_proteins"]
ASSOCIATION_COLUMNS = ["SNP", "protein", "PPI"]
RUNTIME_COLUMNS = ["cavi", "chrom", "chunk", "p", "iterations", "seconds"]
METRICS_COLUMNS = ["cavi", "auprc", "fp", "fp_ppi90", "fp_fdr05"]
CHROM_COLOURS = (PALETTE[0], PALETTE[1])


def _chrom_key(chrom):
    """Sort key of chromosome names: numbers in numeric order, then the others."""
    text = str(chrom)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _genome_axis(table):
    """x positions of the variants along the concatenated chromosomes, and the chromosomes'
    (name, midpoint) for the ticks; the table comes back in genome order."""
    table = table.assign(CHR=table["CHR"].astype(str))
    chroms = sorted(pd.unique(table["CHR"]), key=_chrom_key)
    table = table.sort_values(["CHR", "POS"], key=lambda s: s.map(_chrom_key) if s.name == "CHR"
                              else s, kind="stable").reset_index(drop=True)
    offset, x, ticks = 0.0, np.empty(len(table)), []
    for chrom in chroms:
        rows = np.flatnonzero(table["CHR"].to_numpy() == chrom)
        pos = table["POS"].to_numpy(dtype=float)[rows]
        x[rows] = offset + pos - pos.min()
        ticks.append((chrom, offset + (pos.max() - pos.min()) / 2))
        offset += pos.max() - pos.min() + 0.02 * max(pos.max() - pos.min(), 1.0) + 1.0
    return table, x, ticks, chroms


@styled
def hotspots(hotspot_table, stem):
    """Hotspot atlas: the number of proteins called per variant (the hotspot size, atlasQTL's
    ``plot``) and the hotspot propensity theta along the genome, one colour per chromosome."""
    table = read_table(hotspot_table, HOTSPOT_COLUMNS)
    fig, (top, bottom) = subplots(2, panel_size=(8.0, 2.4), max_cols=1, sharex=True)
    if table.empty:
        note(top, "no variant")
        return save(fig, stem)
    table, x, ticks, chroms = _genome_axis(table)
    colour = np.array([CHROM_COLOURS[chroms.index(c) % 2] for c in table["CHR"]])
    size = table["n_proteins"].to_numpy()
    top.vlines(x[size > 0], 0, size[size > 0], colors=colour[size > 0], linewidth=1)
    top.scatter(x[size > 0], size[size > 0], c=colour[size > 0], s=10, zorder=3)
    top.set_ylabel("proteins called")
    top.set_ylim(bottom=0, top=max(1, size.max()) * 1.1)
    for rank in np.argsort(-size, kind="stable")[:3]:
        if size[rank] > 0:
            top.annotate(table["SNP"].iloc[rank], (x[rank], size[rank]), fontsize=7,
                         xytext=(3, 3), textcoords="offset points")
    bottom.scatter(x, table["THETA"], c=colour, s=4)
    bottom.set_ylabel("hotspot propensity θ")
    bottom.set_xticks([t[1] for t in ticks], [f"chr{t[0]}" for t in ticks])
    bottom.set_xlabel("variant position (chromosomes end to end)")
    fig.tight_layout()
    return save(fig, stem)


@styled
def ppi_heatmap(associations, hotspot_table, stem, *, top=10, max_proteins=40):
    """PPIs of the ``top`` largest hotspots (rows, by proteins called then expected number)
    against the proteins called for any of them (columns, at most ``max_proteins`` by their
    largest PPI)."""
    hot = read_table(hotspot_table, HOTSPOT_COLUMNS)
    hot = hot.sort_values(["n_proteins", "expected_proteins"], ascending=False, kind="stable")
    chosen = hot[hot["n_proteins"] > 0].head(top)
    fig, (ax,) = subplots(1, panel_size=(7.5, 0.3 * max(len(chosen), 4) + 1.5), max_cols=1)
    if chosen.empty:
        note(ax, "no variant with a protein called")
        return save(fig, stem)
    long = read_table(associations, ASSOCIATION_COLUMNS)
    long = long[long["SNP"].isin(chosen["SNP"])]
    matrix = long.pivot_table(index="SNP", columns="protein", values="PPI", aggfunc="max")
    matrix = matrix.reindex(chosen["SNP"])
    strongest = matrix.max(axis=0).sort_values(ascending=False, kind="stable")
    proteins = strongest[strongest >= 0.5].index[:max_proteins]
    matrix = matrix[sorted(proteins)]
    image = ax.imshow(matrix.to_numpy(dtype=float), aspect="auto", vmin=0, vmax=1, cmap="viridis",
                      interpolation="nearest")
    ax.set_yticks(range(len(matrix)), [f"{s} ({n})" for s, n in zip(chosen["SNP"],
                                                                   chosen["n_proteins"])])
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=90, fontsize=6)
    ax.set_xlabel("protein")
    ax.set_ylabel("hotspot variant (proteins called)")
    fig.colorbar(image, ax=ax, label="PPI", fraction=0.03)
    fig.tight_layout()
    return save(fig, stem)


@styled
def runtime(runtime_table, stem, *, modes=None, metrics=None):
    """Wall-clock seconds and iterations of each chunk's fit, one bar per CAVI mode (full vs
    adaptive focus), and for two modes or more the runtime relative to the first one. With the
    evaluation table ``metrics`` (metrics.tsv, simulated truth) each mode's legend entry also
    gives its AUPRC and false calls at PPI >= 0.5 / >= 0.9 / Bayesian FDR < 5%."""
    table = read_table(runtime_table, RUNTIME_COLUMNS)
    accuracy = {}
    if metrics is not None:
        for row in read_table(metrics, METRICS_COLUMNS).itertuples():
            if not np.isnan(row.auprc):
                accuracy[row.cavi] = (f"; AUPRC {row.auprc:.3f}, false calls {row.fp:.0f} / "
                                      f"{row.fp_ppi90:.0f} / {row.fp_fdr05:.0f}")
    order = list(modes or []) + [m for m in pd.unique(table["cavi"]) if m not in (modes or [])]
    order = [m for m in order if m in set(table["cavi"])]
    fig, axes = subplots(2, panel_size=(max(4.0, 0.35 * table["chunk"].size + 2), 2.6),
                         max_cols=1, sharex=True)
    if table.empty:
        note(axes[0], "no fit")
        return save(fig, stem)
    table = table.assign(label="chr" + table["chrom"].astype(str) + ":"
                         + table["chunk"].astype(str))
    labels = list(pd.unique(table.sort_values(["chrom", "chunk"], key=lambda s: s.map(_chrom_key)
                                              if s.name == "chrom" else s)["label"]))
    width = 0.8 / max(len(order), 1)
    for k, mode in enumerate(order):
        rows = table[table["cavi"] == mode].set_index("label").reindex(labels)
        x = np.arange(len(labels)) + (k - (len(order) - 1) / 2) * width
        total = rows["seconds"].sum()
        for ax, column in zip(axes, ("seconds", "iterations")):
            ax.bar(x, rows[column], width, color=PALETTE[k % len(PALETTE)],
                   label=(f"{mode} ({total:.1f} s in all{accuracy.get(mode, '')})"
                          if column == "seconds" else mode))
    axes[0].set_ylabel("seconds")
    axes[0].set_ylim(0, table["seconds"].max() * 1.4)  # room for the legend above the bars
    axes[1].set_ylabel("iterations")
    axes[0].legend(frameon=False)
    if len(order) > 1:
        wide = table.pivot_table(index="label", columns="cavi", values="seconds").reindex(labels)
        cuts = [f"{m}: {100 * (1 - wide[m].sum() / wide[order[0]].sum()):+.0f}%"
                for m in order[1:]]
        axes[0].set_title(f"total runtime cut vs {order[0]}: " + ", ".join(cuts))
    axes[1].set_xticks(range(len(labels)), labels, rotation=90)
    axes[1].set_xlabel("chunk")
    fig.tight_layout()
    return save(fig, stem)


MODE_METRICS_COLUMNS = ["cavi", "auprc", "tp", "fp", "tp_fdr05", "fp_fdr05", "tp_ppi90",
                        "fp_ppi90"]


def _mode_call_rules(threshold):
    """(label, true-call column, false-call column) of the three calling rules of metrics.tsv."""
    return ((f"PPI ≥ {threshold:g}", "tp", "fp"), ("Bayesian FDR < 5%", "tp_fdr05", "fp_fdr05"),
            ("PPI ≥ 0.9", "tp_ppi90", "fp_ppi90"))


@styled
def cavi_modes(associations, stem, *, modes, metrics=None, threshold=0.5, min_ppi=0.01):
    """Full vs adaptive CAVI on the same chunks and proteins.

    Left: each variant-protein pair's PPI under the second mode against the first (pairs with
    PPI >= ``min_ppi`` in either mode; those called at ``threshold`` by one mode only in red),
    titled with the PPI correlation over all pairs, the largest |ΔPPI| and the number of pairs
    whose call differs. Right, with the evaluation table ``metrics`` (metrics.tsv, simulated
    truth): true and false calls of each mode at PPI >= ``threshold``, Bayesian FDR < 5% and
    PPI >= 0.9, with each mode's AUPRC in the legend.

    Parameters
    ----------
    associations : one long table (SNP protein PPI) per mode, in the order of ``modes``
    stem : output path without suffix
    modes : the CAVI modes (``qtl.model.cavi_modes``)
    metrics : optional metrics.tsv
    threshold : the PPI threshold of metrics.tsv's tp/fp (``qtl.calling.ppi_threshold``)
    min_ppi : pairs below it in every mode are left out of the scatter (not of the numbers)
    """
    modes = list(modes)
    if len(associations) != len(modes):
        raise VibankError(f"{len(associations)} association tables for {len(modes)} CAVI modes")
    fig, (left, right) = subplots(2, panel_size=(4.4, 4.0), max_cols=2)
    if len(modes) < 2:
        note(left, f"one CAVI mode ({modes[0] if modes else 'none'}): nothing to compare")
    else:
        key = ["SNP", "protein"]
        first = read_table(associations[0], ASSOCIATION_COLUMNS)[key + ["PPI"]]
        second = read_table(associations[1], ASSOCIATION_COLUMNS)[key + ["PPI"]]
        both = first.merge(second, on=key, how="outer", suffixes=("_a", "_b")).fillna(0.0)
        a, b = both["PPI_a"].to_numpy(), both["PPI_b"].to_numpy()
        differ = (a >= threshold) != (b >= threshold)
        shown = (np.maximum(a, b) >= min_ppi) & ~differ
        left.scatter(a[shown], b[shown], s=4, color=PALETTE[0], alpha=0.5, rasterized=True,
                     label=f"pairs with PPI ≥ {min_ppi:g} ({int(shown.sum())})")
        left.scatter(a[differ], b[differ], s=14, color=PALETTE[6], zorder=3,
                     label=f"called by one mode only ({int(differ.sum())})")
        left.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, zorder=0)
        left.set_xlabel(f"PPI, {modes[0]} CAVI")
        left.set_ylabel(f"PPI, {modes[1]} CAVI")
        left.legend(frameon=False, loc="upper left", fontsize=7)
        r = np.corrcoef(a, b)[0, 1] if len(a) > 1 and a.std() > 0 and b.std() > 0 else np.nan
        left.set_title(f"{len(a):,} pairs: r = {r:.6f}, largest |ΔPPI| {np.abs(a - b).max():.3f};"
                       f"\ncalled at PPI ≥ {threshold:g} by one mode only: {int(differ.sum())}",
                       fontsize=8)
    table = read_table(metrics, MODE_METRICS_COLUMNS) if metrics is not None else None
    if table is None or table["auprc"].isna().all():
        note(right, "no simulated truth: calls not evaluated")
        fig.tight_layout()
        return save(fig, stem)
    table = table.set_index("cavi").reindex(modes)
    rules = _mode_call_rules(threshold)
    width = 0.8 / len(modes)
    for k, mode in enumerate(modes):
        row = table.loc[mode]
        x = np.arange(len(rules)) + (k - (len(modes) - 1) / 2) * width
        tp = np.array([row[t] for _, t, _ in rules], dtype=float)
        fp = np.array([row[f] for _, _, f in rules], dtype=float)
        colour = PALETTE[k % len(PALETTE)]
        right.bar(x, tp, width, color=colour, label=f"{mode}: AUPRC {row['auprc']:.4f}")
        right.bar(x, fp, width, bottom=tp, color="white", edgecolor=colour, hatch="///")
        for xi, t, f in zip(x, tp, fp):
            right.annotate(f"{t:.0f}/{f:.0f}", (xi, t + f), ha="center", va="bottom", fontsize=7,
                           xytext=(0, 2), textcoords="offset points")
    right.set_xticks(range(len(rules)), [label for label, _, _ in rules])
    right.set_ylabel("calls: true (solid) / false (hatched)")
    top = max(float(np.nanmax((table[t] + table[f]).to_numpy(dtype=float))) for _, t, f in rules)
    right.set_ylim(0, max(top, 1.0) * 1.3)
    right.legend(frameon=False, loc="upper right", fontsize=7)
    right.set_title("true / false calls per calling rule", fontsize=8)
    fig.tight_layout()
    return save(fig, stem)
