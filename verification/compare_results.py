"""Compare two results directories of the workflow: every table, JSON file and LD store.

Usage::

    .venv/bin/python verification/compare_results.py BEFORE/results AFTER/results [--rtol 1e-6]

A refactor that keeps behaviour gives the same result tables (issue 16): this script lists, for
every ``.tsv``/``.tsv.gz``/``.txt.gz`` table, ``.json`` file and ``.zarr`` store present in
either directory, whether it is identical, equal within ``--rtol`` (with the largest relative
difference), different (the first differing column or key) or missing on one side. Timings are
left out: table columns and JSON keys named ``seconds``, ``s``, ``max_rss_mb``,
``runtime`` and the like, and the per-iteration ``history`` records' ``seconds``. Figures,
logs and the HTML report are not compared. Exit status 1 when anything differs beyond ``--rtol``.
"""

import argparse
import gzip
import json
import warnings
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: names of columns and JSON keys that hold timings or memory, never compared
TIMING = {"seconds", "s", "max_rss_mb", "runtime", "wall_seconds", "cpu_seconds", "max_rss",
          "max_vms", "max_uss", "max_pss", "io_in", "io_out", "mean_load", "cpu_time",
          "h:m:s", "seconds_per_iteration", "time"}
TABLES = (".tsv", ".tsv.gz", ".txt.gz", ".txt", ".csv")


def _is_timing(name):
    name = str(name).lower()
    return name in TIMING or name.endswith("_seconds") or name.startswith("seconds_")


def _numbers_close(a, b, rtol):
    """(equal within rtol, largest relative difference) of two float arrays, NaN == NaN."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    same_nan = np.isnan(a) == np.isnan(b)
    finite = ~np.isnan(a) & ~np.isnan(b)
    diff = np.abs(a[finite] - b[finite]) / np.maximum(np.maximum(np.abs(a[finite]), np.abs(b[finite])), 1e-300)
    worst = float(diff.max()) if diff.size else 0.0
    return bool(same_nan.all()) and worst <= rtol, worst


def _read_table(path):
    """(header lines starting with '#', the table after them), e.g. a PGS Catalog file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        header = []
        for line in handle:
            if not line.startswith("#"):
                break
            header.append(line.rstrip("\n"))
    table = pd.read_csv(path, sep="," if path.suffix == ".csv" else "\t", skiprows=len(header))
    return header, table


def compare_tables(a_path, b_path, rtol):
    header_a, a = _read_table(a_path)
    header_b, b = _read_table(b_path)
    if header_a != header_b:
        first = next(i for i, (x, y) in enumerate(zip(header_a + [""], header_b + [""])) if x != y)
        return "different", f"header line {first + 1}"
    a = a[[c for c in a.columns if not _is_timing(c)]]
    b = b[[c for c in b.columns if not _is_timing(c)]]
    if list(a.columns) != list(b.columns):
        return "different", f"columns {list(a.columns)} vs {list(b.columns)}"
    if len(a) != len(b):
        return "different", f"{len(a)} vs {len(b)} rows"
    worst = 0.0
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            ok, diff = _numbers_close(x.to_numpy(), y.to_numpy(), rtol)
            worst = max(worst, diff)
            if not ok:
                return "different", f"column {column}: largest relative difference {diff:.3g}"
        elif not x.astype(str).equals(y.astype(str)):
            row = int(np.flatnonzero((x.astype(str) != y.astype(str)).to_numpy())[0])
            return "different", f"column {column}, row {row + 1}: {x.iloc[row]!r} vs {y.iloc[row]!r}"
    return ("identical", "") if worst == 0 else ("close", f"largest relative difference {worst:.3g}")


def _walk_json(a, b, where, rtol, worst):
    """Compare two JSON values; returns the path of the first difference or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a = {k for k in a if not _is_timing(k)}
        keys_b = {k for k in b if not _is_timing(k)}
        if keys_a != keys_b:
            return f"{where}: keys {sorted(keys_a ^ keys_b)} on one side only"
        for key in sorted(keys_a):
            found = _walk_json(a[key], b[key], f"{where}.{key}", rtol, worst)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _walk_json(x, y, f"{where}[{i}]", rtol, worst)
            if found:
                return found
        return None
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        ok, diff = _numbers_close([a], [b], rtol)
        worst[0] = max(worst[0], diff)
        return None if ok else f"{where}: {a!r} vs {b!r}"
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def compare_json(a_path, b_path, rtol):
    worst = [0.0]
    found = _walk_json(json.loads(a_path.read_text()), json.loads(b_path.read_text()), "",
                       rtol, worst)
    if found:
        return "different", found
    return ("identical", "") if worst[0] == 0 else ("close", f"largest relative difference {worst[0]:.3g}")


def compare_stores(a_path, b_path, rtol):
    import zarr

    warnings.filterwarnings("ignore", message=".*not recognized as a component")  # .snakemake_timestamp
    a, b = zarr.open_group(str(a_path), mode="r"), zarr.open_group(str(b_path), mode="r")
    attrs_a = {k: v for k, v in a.attrs.asdict().items() if not _is_timing(k)}
    attrs_b = {k: v for k, v in b.attrs.asdict().items() if not _is_timing(k)}
    worst = [0.0]
    found = _walk_json(attrs_a, attrs_b, "attrs", rtol, worst)
    if found:
        return "different", found
    names_a = {name for name, _ in a.arrays()} | {f"{g}/{n}" for g, group in a.groups()
                                                   for n, _ in group.arrays()}
    names_b = {name for name, _ in b.arrays()} | {f"{g}/{n}" for g, group in b.groups()
                                                   for n, _ in group.arrays()}
    if names_a != names_b:
        return "different", f"arrays {sorted(names_a ^ names_b)} on one side only"
    for name in sorted(names_a):
        x, y = a[name][...], b[name][...]
        if x.shape != y.shape or x.dtype != y.dtype:
            return "different", f"{name}: {x.shape} {x.dtype} vs {y.shape} {y.dtype}"
        if x.dtype.kind in "fiu":
            ok, diff = _numbers_close(x.ravel(), y.ravel(), rtol)
            worst[0] = max(worst[0], diff)
            if not ok:
                return "different", f"{name}: largest relative difference {diff:.3g}"
        elif not np.array_equal(x, y):
            return "different", f"{name} differs"
    return ("identical", "") if worst[0] == 0 else ("close", f"largest relative difference {worst[0]:.3g}")


def result_files(root):
    """Tables, JSON files and stores under ``root``, relative to it."""
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.endswith(".zarr") for part in relative.parts[:-1]):
            continue  # inside a store
        if path.is_dir() and path.name.endswith(".zarr"):
            found.add(relative)
        elif path.is_file() and (path.name.endswith(TABLES) or path.suffix == ".json"):
            found.add(relative)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-6,
                        help="largest relative difference of numbers counted as equal")
    parser.add_argument("--verbose", action="store_true", help="list every file")
    args = parser.parse_args(argv)
    before, after = result_files(args.before), result_files(args.after)
    counts, bad = {}, 0
    for relative in sorted(before | after, key=str):
        a, b = args.before / relative, args.after / relative
        if relative not in after or relative not in before:
            status, detail = "missing", f"only in {'before' if relative in before else 'after'}"
        elif str(relative).endswith(".zarr"):
            status, detail = compare_stores(a, b, args.rtol)
        elif relative.suffix == ".json":
            status, detail = compare_json(a, b, args.rtol)
        else:
            status, detail = compare_tables(a, b, args.rtol)
        counts[status] = counts.get(status, 0) + 1
        if status in ("different", "missing"):
            bad += 1
        if args.verbose or status in ("different", "missing", "close"):
            print(f"{status:9s} {relative} {detail}")
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) +
          f" ({len(before | after)} files; rtol {args.rtol:g}; timings left out)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
