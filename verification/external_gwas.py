"""The demo's external GWAS against the study's own (issue 7): fitted effects must agree.

Usage::

    .venv/bin/snakemake --profile profiles/local   # or make demo
    .venv/bin/python verification/external_gwas.py [--results results] [--min-correlation 0.95]

Reads every ``results/external/<name>/agreement.tsv`` (written for external_gwas entries with
``simulate_from``: the study's GWAS rewritten in another format with allele swaps, strand flips
and wrong alleles) and ``harmonisation.tsv``, prints them as markdown, and exits 1 when a
model's effect correlation with the fit of the source GWAS is below ``--min-correlation``.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from vibank.sumstats.harmonise import FILTER_ORDER


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--min-correlation", type=float, default=0.95)
    args = parser.parse_args(argv)
    tables = sorted((args.results / "external").glob("*/agreement.tsv"))
    if not tables:
        print(f"{args.results}/external: no agreement.tsv (no external_gwas with simulate_from)",
              file=sys.stderr)
        return 1
    failed = False
    for path in tables:
        agreement = pd.read_csv(path, sep="\t")
        summary = pd.read_csv(path.parent / "harmonisation.tsv", sep="\t")
        total = summary[summary["chrom"].astype(str) == "all"].iloc[0]
        print(f"## {path.parent.name}\n")
        print(f"Harmonisation: {total['input']} variants read, {total['matched']} matched "
              f"({total['swapped']} swapped, {total['strand_flipped']} strand flipped, "
              f"{total['ambiguous_resolved']} ambiguous resolved); dropped: "
              + ", ".join(f"{k} {total[k]}" for k in ("read_dropped", *FILTER_ORDER) if total[k])
              + "\n")
        agreement["passed"] = agreement["effect_correlation"] >= args.min_correlation
        print(agreement.to_markdown(index=False, floatfmt=".6f") + "\n")
        failed |= not agreement["passed"].all()
    print(f"claim: every effect correlation >= {args.min_correlation}: "
          f"{'FAILED' if failed else 'holds'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
