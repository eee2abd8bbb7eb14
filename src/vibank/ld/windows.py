"""Which pairs an LD estimator keeps: the exclusive end of each variant's row in the upper triangle.

Row j of the strict upper triangle holds the variants j+1 .. ends[j]-1, a contiguous band, so the
column indices need not be stored. Variants must be sorted by position within the chromosome.
"""

import numpy as np
import pandas as pd

from vibank.errors import VibankError

#: cM distances within this of the window width count as inside the window
CM_TOLERANCE = 1e-9


def window_ends(pos, cm=None, *, window_cm=None, window_kb=None, window_variants=None):
    """End (exclusive) of each variant's window; the intersection when several widths are given.

    Parameters
    ----------
    pos : (m,) base-pair positions, non-decreasing
    cm : (m,) genetic positions in cM, non-decreasing (needed with ``window_cm``)
    window_cm, window_kb, window_variants : window widths; a pair (j, k > j) is kept when
        cm_k - cm_j <= window_cm, pos_k - pos_j <= 1000 window_kb and k - j <= window_variants.

    Returns
    -------
    ends : (m,) int64, with j < ends[j] <= m (ends[j] == j + 1 means an empty row)
    """
    pos = np.asarray(pos)
    m = len(pos)
    ends = np.full(m, m, dtype=np.int64)
    if window_cm is None and window_kb is None and window_variants is None:
        raise ValueError("give at least one of window_cm, window_kb, window_variants")
    if window_cm is not None:
        if cm is None:
            raise ValueError("window_cm needs genetic positions (cm)")
        cm = np.asarray(cm, dtype=np.float64)
        if np.any(np.diff(cm) < 0):
            raise VibankError("LD window: cM positions decrease along the chromosome")
        if m and np.all(cm == cm[0]) and m > 1:
            raise VibankError("LD window: every cM position is equal; the .bim has no genetic map "
                              "(use window_kb or window_variants)")
        # a pair exactly window_cm apart is kept; the tolerance absorbs the rounding of
        # decimal cM values (9.378182 - 6.378182 > 3 in binary floating point), as plink does
        ends = np.minimum(ends, np.searchsorted(cm, cm + window_cm + CM_TOLERANCE, side="right"))
    if window_kb is not None:
        ends = np.minimum(ends, np.searchsorted(pos, pos + 1000.0 * window_kb, side="right"))
    if window_variants is not None:
        ends = np.minimum(ends, np.arange(m) + int(window_variants) + 1)
    return np.maximum(ends, np.arange(m) + 1)


def read_blocks(path, chrom):
    """Read a BED-like LD block file (chrom start end; 'chr' prefix and a header line allowed).

    Returns the sorted (starts, ends) of the blocks on ``chrom``.
    """
    try:
        blocks = pd.read_csv(path, sep=r"\s+", header=None, comment="#", usecols=[0, 1, 2], dtype=str)
    except FileNotFoundError:
        raise VibankError(f"{path}: LD block file not found") from None
    blocks.columns = ["chrom", "start", "end"]
    numeric = blocks[["start", "end"]].apply(pd.to_numeric, errors="coerce")
    if len(blocks) and numeric.iloc[0].isna().any():  # a header line such as "chr start stop"
        blocks, numeric = blocks.iloc[1:], numeric.iloc[1:]
    bad = numeric.isna().any(axis=1).to_numpy()
    if bad.any():
        raise VibankError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 1}: start/end is not a number")
    on_chrom = (blocks["chrom"].str.removeprefix("chr") == str(chrom)).to_numpy()
    starts = numeric["start"].to_numpy(np.int64)[on_chrom]
    stops = numeric["end"].to_numpy(np.int64)[on_chrom]
    if np.any(stops <= starts):
        raise VibankError(f"{path}: a block on chromosome {chrom} ends before it starts")
    order = np.argsort(starts)
    return starts[order], stops[order]


def block_ends(pos, starts, stops):
    """Window ends for the block estimator: a variant pairs with the later variants of its block.

    Blocks are half-open [start, end) in bp, as in BED. Variants outside every block pair with
    nothing. Overlapping blocks are not allowed.
    """
    pos = np.asarray(pos)
    starts, stops = np.asarray(starts), np.asarray(stops)
    if len(starts) == 0:
        return np.arange(1, len(pos) + 1, dtype=np.int64)
    if len(starts) > 1 and np.any(starts[1:] < stops[:-1]):
        raise VibankError("LD blocks overlap")
    block = np.searchsorted(starts, pos, side="right") - 1
    inside = (block >= 0) & (pos < stops[np.clip(block, 0, None)])
    block = np.where(inside, block, -1 - np.arange(len(pos)))  # outside: a block of its own
    # end of j's row = first index whose block differs (blocks are contiguous along pos)
    change = np.flatnonzero(np.diff(block) != 0) + 1
    boundaries = np.append(change, len(pos))
    return boundaries[np.searchsorted(boundaries, np.arange(len(pos)), side="right")].astype(np.int64)
