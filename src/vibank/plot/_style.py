"""Shared pieces of the figures: table reading with column checks, the model palette, saving.

Every figure function takes table paths (or DataFrames) and an output stem, and writes
``<stem>.png`` and ``<stem>.pdf`` through :func:`vibank.io.atomic.atomic_path`, so an
interrupted job never leaves half a figure. Matplotlib runs on the Agg backend (no display).
"""

import functools
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vibank.errors import VibankError  # noqa: E402
from vibank.io.atomic import atomic_path  # noqa: E402

# the PDF backend's font subsetting logs every glyph at INFO into the job's log
logging.getLogger("fontTools").setLevel(logging.WARNING)

#: Paul Tol's "muted" scheme, distinguishable under the common colour-vision deficiencies,
#: then his pale grey; past ten models the colours repeat with other markers
PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
           "#882255", "#AA4499", "#BBBBBB")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
#: plain text and 300 dpi PNG; fonts embedded as TrueType in the PDF
RC = {"figure.dpi": 100, "savefig.dpi": 300, "font.size": 9, "axes.titlesize": 10,
      "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
      "axes.spines.right": False, "pdf.fonttype": 42}


def styled(func):
    """Run a figure function under the house style (:data:`RC`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def read_table(table, columns):
    """A result table as a DataFrame, checked to hold ``columns``.

    Parameters
    ----------
    table : path of a TSV file, or a DataFrame
    columns : column names the figure needs

    Raises
    ------
    VibankError naming the file (or "table" for a DataFrame) and the first missing column
    """
    if isinstance(table, pd.DataFrame):
        frame, name = table, "table"
    else:
        name = str(table)
        try:
            frame = pd.read_csv(table, sep="\t")
        except (OSError, pd.errors.EmptyDataError) as err:
            raise VibankError(f"{name}: cannot read the table ({err})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise VibankError(f"{name}: no column {missing[0]}")
    return frame


def model_order(present, models=None):
    """All models in a fixed order: ``models`` (the configured order) first, then any other
    model of the table in order of appearance. Colours follow positions in this list, so
    passing the same ``models`` to every figure keeps each model's colour."""
    order = list(models or [])
    order += [m for m in pd.unique(pd.Series(list(present), dtype=object)) if m not in order]
    return order


def model_style(order):
    """{model: (colour, marker)} for the models of :func:`model_order`."""
    return {m: (PALETTE[i % len(PALETTE)], MARKERS[(i // len(PALETTE) + i) % len(MARKERS)])
            for i, m in enumerate(order)}


def grid_shape(n, max_cols=3):
    """(rows, cols) of a panel grid for n panels."""
    cols = min(max(n, 1), max_cols)
    return int(np.ceil(max(n, 1) / cols)), cols


def subplots(n, *, panel_size=(3.6, 3.0), max_cols=3, **kwargs):
    """A figure with n panels (extra axes hidden) and the flat list of the n axes."""
    rows, cols = grid_shape(n, max_cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows),
                             squeeze=False, **kwargs)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def note(ax, text):
    """Write ``text`` in the middle of an axis that has nothing to draw."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4",
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig, stem):
    """Write ``<stem>.png`` and ``<stem>.pdf`` atomically and close the figure.

    The PDF carries no creation date and the PNG no software tag, so equal tables give
    byte-identical figures. Returns the two paths.
    """
    stem = Path(stem)
    paths = []
    for fmt, metadata in (("png", {"Software": None}), ("pdf", {"CreationDate": None})):
        path = stem.with_name(stem.name + "." + fmt)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=metadata, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
