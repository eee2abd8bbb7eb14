"""Tables of numeric values per sample: protein levels and covariates (``FID IID <column>...``).

A header line names the columns. ``IID`` is required (``#IID`` accepted); ``FID`` is optional
(``#FID`` accepted, IID copied when absent). Fields are separated by tabs when the header has
one, else by any whitespace. A value may be missing (``NA``, ``NaN``, ``nan`` or an empty
field); anything else that is not a number is an error naming the row (the file's line, the
header being row 1), the column and the sample. Sample IDs must be present and unique: vibank
matches samples by IID.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError

#: the spellings of a missing value
MISSING = ("NA", "NaN", "nan", "")


def _header(path):
    """(path, separator, column names) from the header line; duplicated names refused."""
    path = Path(path)
    if not path.is_file():
        raise VibankError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    with open(path) as fh:
        header = fh.readline()
    if not header.strip():
        raise VibankError(f"{path}: file is empty (the first line must name the columns)")
    sep = "\t" if "\t" in header else r"\s+"
    names = [f.strip().removeprefix("#") for f in
             (header.rstrip("\r\n").split("\t") if sep == "\t" else header.split())]
    first = {}
    for j, name in enumerate(names):
        if name in first:
            raise VibankError(f"{path}: column {name} appears twice (columns {first[name] + 1} "
                              f"and {j + 1} of the header)")
        first[name] = j
    return path, sep, names


def _read_text(path, sep, names, keep):
    """The columns ``keep`` as text (the slow path, which can name any bad value)."""
    try:
        table = pd.read_csv(path, sep=sep, header=0, names=names, dtype=str,
                            keep_default_na=False)
    except pd.errors.ParserError as err:
        raise VibankError(f"{path}: malformed ({' '.join(str(err).split())})") from None
    return table[keep]


def _read_numbers(path, sep, names, keep, values):
    """The columns ``keep`` with ``values`` parsed as float64 by pandas' C parser and the other
    columns as text; None when any value is neither a number nor a missing spelling, or when a
    row has too few fields (pandas pads it with NaN): the slow path then names the row. A 1.4
    GB table of 3,000 proteins x 50,000 samples reads in seconds this way, in minutes as text
    (issue 20). Tab-separated tables only (the whitespace-separated ones go the slow path)."""
    if sep != "\t":
        return None
    try:
        table = pd.read_csv(path, sep=sep, header=0, names=names,
                            dtype={k: (np.float64 if k in values else str) for k in names},
                            na_values={k: list(MISSING) for k in values}, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        return None
    # every line with the header's fields holds len(names) - 1 tabs (blank lines none)
    tabs = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            tabs += block.count(b"\t")
    if tabs != (len(names) - 1) * (len(table) + 1):
        return None
    return table[keep]


def _check_fields(path, sep, n_fields):
    """Refuse a line with fewer fields than the header: pandas pads it with empty fields, which
    would read as missing values."""
    with open(path) as fh:
        next(fh)
        for number, line in enumerate(fh, start=2):
            fields = line.rstrip("\r\n").split("\t") if sep == "\t" else line.split()
            if line.strip() and len(fields) < n_fields:
                raise VibankError(f"{path}: line {number} has {len(fields)} fields, the header "
                                  f"{n_fields}")


def _check_ids(table, path):
    ids = table[col.IID].str.strip()
    missing = ids.isin(MISSING).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise VibankError(f"{path}: row {row + 2}: missing sample ID (column {col.IID})")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[row]).to_numpy())[0])
        raise VibankError(f"{path}: row {row + 2}: duplicated sample ID {ids.iloc[row]} (also "
                          f"row {first + 2}); sample IDs ({col.IID}) must be unique")
    return ids


def read_sample_values(path, *, what, names=None):
    """Read a per-sample table of numbers (module docstring).

    Parameters
    ----------
    path : the table
    what : str, keyword-only
        What a value column holds ("protein", "covariate"), for the messages.
    names : list of str or None, keyword-only
        The value columns to read (default: every column but FID and IID).

    Returns
    -------
    DataFrame FID IID <names...>, values float64 with NaN where missing, in file order.

    Raises
    ------
    VibankError naming the file and the row or column: no IID column, no value column, a column
    of ``names`` absent, a missing or duplicated sample ID, a value that is not a number.
    """
    path, sep, header = _header(path)
    if col.IID not in header:
        raise VibankError(f"{path}: no {col.IID} column (the first line must name the columns: "
                          f"{col.FID} {col.IID} <{what}>...)")
    if names is None:
        names = [c for c in header if c not in (col.FID, col.IID)]
        if not names:
            raise VibankError(f"{path}: no {what} column besides {col.FID} and {col.IID}")
    absent = [c for c in names if c not in header]
    if absent:
        raise VibankError(f"{path}: no {what} column {absent[0]}")
    keep = [c for c in (col.FID, col.IID) if c in header] + list(names)
    table = _read_numbers(path, sep, header, keep, set(names))
    fast = table is not None
    if not fast:
        table = _read_text(path, sep, header, keep)
        _check_fields(path, sep, len(header))
    ids = _check_ids(table, path)
    fid = table[col.FID].str.strip() if col.FID in table.columns else ids
    values = {}
    for name in names:
        if fast:
            values[name] = table[name].to_numpy(dtype=np.float64)
            continue
        text = table[name].str.strip()
        numbers = pd.to_numeric(text.mask(text.isin(MISSING)), errors="coerce")
        bad = (numbers.isna() & ~text.isin(MISSING)).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise VibankError(f"{path}: row {row + 2}, column {name} (sample {ids.iloc[row]}): "
                              f"{text.iloc[row]!r} is not a number")
        values[name] = numbers.to_numpy(dtype=np.float64)
    return pd.concat([pd.DataFrame({col.FID: fid.to_numpy(), col.IID: ids.to_numpy()}),
                      pd.DataFrame(values)], axis=1)


def check_varying(table, names, path, context):
    """Refuse a value column with fewer than two distinct observed values in ``table``.

    ``context`` ends the message (e.g. "over the 60 samples shared with geno"): a constant
    protein carries no information to map, and atlasQTL's residual precision would diverge.
    """
    for name in names:
        values = table[name].to_numpy(dtype=np.float64)
        observed = values[~np.isnan(values)]
        if observed.size < 2 or np.all(observed == observed[0]):
            shown = f" (every value {observed[0]:g})" if observed.size else " (no value)"
            raise VibankError(f"{path}: column {name} is constant{shown} {context}")
