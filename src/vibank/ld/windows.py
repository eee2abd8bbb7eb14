"""Which pairs an LD estimator keeps: the exclusive end of each variant's row in the upper triangle.

Row j of the strict upper triangle holds the variants j+1 .. ends[j]-1, a contiguous band, so the
column indices need not be stored. Variants must be sorted by position within the chromosome.
"""

import bz2
import gzip
import lzma

import numpy as np

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


#: names a header line of a block file may give its start and end columns (lower-cased); a first
#: line is only taken as a header when both of these columns hold such names, so that a data row
#: with a typo in a number is reported rather than silently dropped
HEADER_START = frozenset({"start", "begin", "from", "chromstart", "chrom_start", "start_bp",
                          "bp_start", "start_pos", "startpos"})
HEADER_END = frozenset({"end", "stop", "to", "chromend", "chrom_end", "end_bp", "stop_bp",
                        "bp_end", "end_pos", "endpos", "stop_pos"})


def _open_text(path):
    """Open a text file, gzip/bzip2/xz-compressed or not (recognised by its first bytes)."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    if magic[:3] == b"BZh":
        return bz2.open(path, "rt", encoding="utf-8")
    if magic == b"\xfd7zXZ\x00":
        return lzma.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _block_lines(path):
    """(file line number, fields) of every line that is not blank or a '#' comment."""
    try:
        with _open_text(path) as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        raise VibankError(f"{path}: LD block file not found") from None
    except IsADirectoryError:
        raise VibankError(f"{path}: LD block file is a directory") from None
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as err:  # corrupt or binary
        reason = " ".join(str(err).split()) or type(err).__name__
        raise VibankError(f"{path}: cannot read the LD block file ({reason})") from None
    rows = [(number, line.split("#", 1)[0].split()) for number, line in enumerate(lines, 1)]
    return [(number, fields) for number, fields in rows if fields]


def _bp(text):
    """A base-pair coordinate from a text field (``100``, ``1e6``, ``100.0``), or None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if np.isfinite(value) and value == int(value) else None


def read_blocks(path, chrom):
    """Read a BED-like LD block file: chrom, start, end (half-open, bp) and any further columns.

    Blank lines and '#' comments are skipped; chromosome names may carry a 'chr' prefix; the first
    line may be a header naming the columns (such as ``chr start stop``). Errors name the file
    and its line number (1-based, counting every line), as "row N".

    Returns
    -------
    starts, stops : int64 arrays of the blocks on ``chrom``, sorted by start (empty when the
        file has no block on ``chrom``)

    Raises
    ------
    VibankError for a missing, unreadable or empty file, a row without three columns, a start or
    end that is not a whole number, a block that does not end after it starts, or two
    overlapping blocks on ``chrom``.
    """
    lines = _block_lines(path)
    if not lines:
        raise VibankError(f"{path}: LD block file is empty")
    first_number, first = lines[0]
    header = (len(first) >= 3 and first[1].lower() in HEADER_START
              and first[2].lower() in HEADER_END)
    if header:
        lines = lines[1:]
        if not lines:
            raise VibankError(f"{path}: LD block file has a header line but no blocks")
    want = str(chrom).removeprefix("chr")
    rows, starts, stops = [], [], []
    for number, fields in lines:
        if len(fields) < 3:
            raise VibankError(f"{path}: row {number}: expected chrom, start and end columns, "
                              f"found {len(fields)}")
        start, stop = _bp(fields[1]), _bp(fields[2])
        if start is None or stop is None:
            hint = "" if header or number != first_number else \
                " (a header line must name the columns, e.g. 'chr start stop')"
            raise VibankError(f"{path}: row {number}: start/end is not a number{hint}")
        if stop <= start:
            raise VibankError(f"{path}: row {number}: block {fields[0]}:{start}-{stop} ends "
                              "before it starts (end <= start)")
        if fields[0].removeprefix("chr") == want:
            rows.append(number)
            starts.append(start)
            stops.append(stop)
    starts, stops = np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, stops, rows = starts[order], stops[order], np.array(rows, dtype=np.int64)[order]
    overlap = np.flatnonzero(starts[1:] < stops[:-1])
    if len(overlap):
        i = int(overlap[0])
        raise VibankError(f"{path}: rows {rows[i]} and {rows[i + 1]}: blocks "
                          f"{starts[i]}-{stops[i]} and {starts[i + 1]}-{stops[i + 1]} "
                          f"on chromosome {want} overlap")
    return starts, stops


def block_ends(pos, starts, stops):
    """Window ends for the block estimator: a variant pairs with the later variants of its block.

    Blocks are half-open [start, end) in bp, as in BED, in any order. Variants (sorted by
    position) outside every block pair with nothing. Overlapping blocks are not allowed.
    """
    pos = np.asarray(pos)
    starts, stops = np.asarray(starts), np.asarray(stops)
    if len(starts) == 0:
        return np.arange(1, len(pos) + 1, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, stops = starts[order], stops[order]
    overlap = np.flatnonzero(starts[1:] < stops[:-1])
    if len(overlap):
        i = int(overlap[0])
        raise VibankError(f"LD blocks overlap: {starts[i]}-{stops[i]} and "
                          f"{starts[i + 1]}-{stops[i + 1]}")
    block = np.searchsorted(starts, pos, side="right") - 1
    inside = (block >= 0) & (pos < stops[np.clip(block, 0, None)])
    block = np.where(inside, block, -1 - np.arange(len(pos)))  # outside: a block of its own
    # end of j's row = first index whose block differs (blocks are contiguous along pos)
    change = np.flatnonzero(np.diff(block) != 0) + 1
    boundaries = np.append(change, len(pos))
    return boundaries[np.searchsorted(boundaries, np.arange(len(pos)), side="right")].astype(np.int64)
