"""Test-fold accuracy of every PRS model on the demo's sparse trait over the 5 folds (issue 5).

Usage::

    .venv/bin/snakemake --profile profiles/local          # or make demo: results/eval/metrics.tsv
    .venv/bin/python verification/prs_models.py [--results results] [--trait sparse]

Reads ``results/eval/metrics.tsv`` (one row per model x trait x fold x target) and writes a
markdown report to stdout (and ``--out``): incremental R² on the EUR test fold, mean ± SE over
the folds, per model; then the claims of the issue, each tested on the paired per-fold
differences (the folds share their test samples across models, so paired differences remove
most of the sampling noise):

- VIPRS-GS >= C+T and >= LDpred-inf: mean paired difference >= 0;
- VIPRS-GS within Monte-Carlo noise of, or above, the Gibbs sampler: mean paired difference
  >= -2 SE of that difference.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

GS, CLAIMS = "viprs-ss-gs", (("ct", "at_least"), ("ldpred-inf", "at_least"),
                              ("gibbs-ss-grid", "within_noise"))


def summarise(metrics, trait, target="test"):
    """Mean, SE and per-fold values of the incremental R² per model."""
    rows = metrics[(metrics["trait"] == trait) & (metrics["target"] == target)]
    table = rows.pivot_table(index="fold", columns="model", values="incremental_r2")
    summary = pd.DataFrame({"mean": table.mean(), "se": table.std(ddof=1) / np.sqrt(table.count()),
                            "folds": table.count()}).sort_values("mean", ascending=False)
    return table, summary


def check_claims(per_fold):
    """(claim, mean paired difference, its SE, passed) for each claim about VIPRS-GS."""
    out = []
    for other, kind in CLAIMS:
        if GS not in per_fold or other not in per_fold:
            out.append((f"{GS} vs {other}", np.nan, np.nan, False))
            continue
        diff = (per_fold[GS] - per_fold[other]).dropna()
        mean, se = diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
        passed = mean >= 0 if kind == "at_least" else mean >= -2 * se
        claim = f"{GS} >= {other}" if kind == "at_least" else f"{GS} >= {other} - 2 SE"
        out.append((claim, mean, se, bool(passed)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--trait", default="sparse")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    metrics = pd.read_csv(args.results / "eval" / "metrics.tsv", sep="\t")
    per_fold, summary = summarise(metrics, args.trait)
    lines = [f"# Test-fold incremental R² on the {args.trait} trait ({args.results})", "",
             "| model | mean | SE | folds |", "|---|---|---|---|"]
    lines += [f"| {m} | {r['mean']:.4f} | {r['se']:.4f} | {int(r['folds'])} |"
              for m, r in summary.iterrows()]
    lines += ["", "| claim | mean paired difference | SE | holds |", "|---|---|---|---|"]
    claims = check_claims(per_fold)
    lines += [f"| {c} | {d:+.4f} | {s:.4f} | {'yes' if ok else 'NO'} |" for c, d, s, ok in claims]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 0 if all(ok for *_, ok in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
