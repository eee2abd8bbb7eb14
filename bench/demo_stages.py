"""Summarise a workflow run's Snakemake ``benchmark:`` files into a per-stage table.

Usage (after `make demo`)::

    .venv/bin/python bench/demo_stages.py benchmarks/ --total-seconds 123

Prints a Markdown table: rule, jobs, summed job wall time, longest job, peak RSS. With several
jobs per rule running side by side on 2 cores, the summed time exceeds the elapsed time, so the
measured elapsed time of the whole run is printed separately when given.
"""

import argparse
from pathlib import Path

import pandas as pd


def collect(bench_dir):
    rows = []
    for path in sorted(Path(bench_dir).rglob("*.tsv")):
        rule = path.relative_to(bench_dir).parts[0].removesuffix(".tsv")
        table = pd.read_csv(path, sep="\t")
        rows.append({"rule": rule, "s": float(table["s"].iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(table["max_rss"], errors="coerce").iloc[0])})
    return pd.DataFrame(rows)


def summarise(jobs):
    return (jobs.groupby("rule", sort=False)
            .agg(jobs=("s", "size"), total_s=("s", "sum"), longest_s=("s", "max"),
                 peak_rss_mb=("max_rss_mb", "max"))
            .reset_index())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_dir", type=Path)
    parser.add_argument("--total-seconds", type=float, help="elapsed time of the whole run")
    args = parser.parse_args()
    table = summarise(collect(args.bench_dir))
    print("| stage (rule) | jobs | summed wall s | longest job s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.rule} | {r.jobs} | {r.total_s:.1f} | {r.longest_s:.1f} | {r.peak_rss_mb:.0f} |")
    if args.total_seconds:
        print(f"\nelapsed wall time of the whole run: {args.total_seconds:.0f} s")


if __name__ == "__main__":
    main()
