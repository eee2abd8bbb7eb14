"""Scoring a target biobank: vibank's ``score_samples`` (what rule score_target runs) against a
bare ``plink2 --score`` call on the same files, side by side.

Usage::

    .venv/bin/python bench/score_target_bench.py [--workdir /tmp/vibank_score_bench]
        [--samples 100000] [--variants 30000] [--threads 2]

The target is ``plink2 --dummy`` genotypes (``--samples`` people x ``--variants`` biallelic
SNPs, 1 % missing calls), written once as bed and as pgen and cached in the work directory;
the weights are a dense score on every variant (a VIPRS fit keeps every variant), a third given
for the other allele. Each run is a whole run from the files: vibank reads the target's
variant table, audits the weights against it, runs plink2 and writes the score table, JSON
and audit; the bare call is ``plink2 --score <file> 1 2 3 header cols=+scoresums`` alone, the
lower bound of what vibank adds to. Peak RSS is the largest of the Python process and its
plink2 child (``resource.getrusage`` of self and children). Prints seconds, the ratio
vibank / bare plink2 and peak RSS for bed and pgen.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vibank.eval.scoring import score_samples
from vibank.genotypes._plink2 import plink2_binary


def make_target(workdir, n_samples, n_variants, threads):
    """Dummy genotypes as bed and pgen (cached); returns the two prefixes."""
    bed, pgen = workdir / "target_bed", workdir / "target_pgen"
    if not Path(f"{pgen}.pgen").exists():
        exe = plink2_binary()
        subprocess.run([exe, "--dummy", str(n_samples), str(n_variants), "0.01", "acgt",
                        "--seed", "1", "--threads", str(threads), "--make-pgen",
                        "--out", str(pgen)], check=True, capture_output=True)
        subprocess.run([exe, "--pfile", str(pgen), "--threads", str(threads), "--make-bed",
                        "--out", str(bed)], check=True, capture_output=True)
    return bed, pgen


def make_weights(workdir, pgen):
    path = workdir / "weights.score.tsv"
    if not path.exists():
        pvar = pd.read_csv(f"{pgen}.pvar", sep="\t", comment=None, dtype=str)
        rng = np.random.default_rng(2)
        a1 = np.where(rng.random(len(pvar)) < 1 / 3, pvar["ALT"], pvar["REF"])
        pd.DataFrame({"SNP": pvar["ID"], "A1": a1,
                      "BETA_PER_ALLELE": rng.normal(0, 0.01, len(pvar))}).to_csv(
            path, sep="\t", index=False, float_format="%.8g")
    return path


def peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) / 1024


def run_vibank(weights, prefix, out, threads):
    t0 = time.perf_counter()
    summary = score_samples([weights], str(prefix), None, out_sscore=f"{out}.sscore",
                            out_vars=f"{out}.vars", out_json=f"{out}.json",
                            audit_out=f"{out}.audit.tsv.gz", threads=threads)
    return time.perf_counter() - t0, summary


def run_plink2(weights, prefix, out, threads, flag):
    t0 = time.perf_counter()
    subprocess.run([plink2_binary(), flag, str(prefix), "--score", str(weights), "1", "2", "3",
                    "header", "cols=+scoresums", "--threads", str(threads), "--out", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/vibank_score_bench")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=30_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir) / f"{args.samples}x{args.variants}"
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bed, pgen = make_target(workdir, args.samples, args.variants, args.threads)
    weights = make_weights(workdir, pgen)
    print(f"target: {args.samples} samples x {args.variants} variants (made or read in "
          f"{time.perf_counter() - t0:.0f} s), {args.threads} threads")
    rows = []
    for name, prefix, flag in (("bed", bed, "--bfile"), ("pgen", pgen, "--pfile")):
        bare = run_plink2(weights, prefix, workdir / f"bare_{name}", args.threads, flag)
        seconds, summary = run_vibank(weights, prefix, workdir / f"vibank_{name}", args.threads)
        mine = pd.read_csv(workdir / f"vibank_{name}.sscore", sep="\t")["SCORE1_SUM"]
        theirs = pd.read_csv(workdir / f"bare_{name}.sscore", sep="\t")["SCORE1_SUM"]
        assert np.allclose(mine, theirs), "vibank's scores differ from plink2's"
        rows.append({"format": name, "vibank_s": round(seconds, 1), "plink2_s": round(bare, 1),
                     "ratio": round(seconds / bare, 2), "overlap": summary["overlap"],
                     "n_samples": summary["n_samples"]})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False))
    print(f"peak RSS (Python or plink2): {peak_rss_mb():.0f} MB")
    print(json.dumps({"command": " ".join([".venv/bin/python", *sys.argv])}))


if __name__ == "__main__":
    main()
