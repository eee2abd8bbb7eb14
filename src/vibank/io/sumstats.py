"""vibank's canonical summary-statistics table (columns in ``vibank.columns``).

Readers for other formats arrive with the harmonisation issue; this module reads and writes
the canonical gzip TSV, checking columns and types so a malformed file fails with one line.
"""

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.atomic import write_table

_DTYPES = {name: dtype for name, (dtype, _) in col.SUMSTATS_COLUMNS.items()}


def write_sumstats(sumstats, path):
    """Write canonical sumstats (columns in canonical order, then A1_FREQ when known)
    atomically, gzip if ``.gz``."""
    missing = [c for c in col.SUMSTATS_ORDER if c not in sumstats.columns]
    if missing:
        raise ValueError(f"sumstats lacks columns {missing}")
    columns = list(col.SUMSTATS_ORDER)
    if col.A1_FREQ in sumstats and sumstats[col.A1_FREQ].notna().any():
        columns.append(col.A1_FREQ)
    write_table(sumstats[columns], path, float_format="%.8g")


def read_sumstats(path):
    """Read a canonical sumstats file (A1_FREQ kept when present); raise a one-line error
    naming the file and column."""
    try:
        table = pd.read_csv(path, sep="\t", dtype={c: str for c in (col.CHR, col.SNP, col.A1, col.A2)})
    except FileNotFoundError:
        raise VibankError(f"{path}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise VibankError(f"{path}: not a tab-separated table ({err})") from None
    for name in col.SUMSTATS_ORDER:
        if name not in table.columns:
            raise VibankError(f"{path}: column {name} is missing")
        if _DTYPES[name] != "string":
            values = pd.to_numeric(table[name], errors="coerce")
            bad = values.isna() & table[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad)[0]) + 2
                raise VibankError(f"{path}: row {row}, column {name}: {table[name][bad].iloc[0]!r} is not a number")
            table[name] = values
    if col.A1_FREQ in table:
        table[col.A1_FREQ] = pd.to_numeric(table[col.A1_FREQ], errors="coerce")
        return table[[*col.SUMSTATS_ORDER, col.A1_FREQ]]
    return table[col.SUMSTATS_ORDER]
