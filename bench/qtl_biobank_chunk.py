"""One pQTL chunk at UKB-PPP scale (issue 20 item 5): p = 1,000 variants x q = 3,000 proteins x
n = 50,000 samples, fitted by the whole ``vibank qtl`` command as a process under
``/usr/bin/time -v`` (wall, CPU, peak RSS), with its stages taken apart from the command's log
and JSON, and its accuracy checked against the simulated truth. Prints markdown tables.

    python bench/qtl_biobank_chunk.py                     # n = 10,000 and 50,000, adaptive CAVI
    python bench/qtl_biobank_chunk.py --n 50000 --cavi adaptive full
    python bench/qtl_biobank_chunk.py --quick             # n = 2,000, q = 300: smoke run
    python bench/qtl_biobank_chunk.py --n-scaling         # s / iteration at n = 10,000, 50,000

Inputs (cached in ``--workdir``, one directory per n): genotypes in LD blocks (AR(1) latent
Gaussian per block of 50 variants, two thresholded haplotypes per person: qtl_vs_reference's
``ld_block_genotypes``), written as a PLINK 1 fileset with ``write_bfile``; proteins from
``simulate_protein_panel`` (hotspots with Beta(1, 5) propensities, a_p = 0.01, a_q = 0.2,
residual correlation in blocks of 50), written as a tab-separated table FID IID P0001... with 6
significant digits. The mean PVE of an active protein is 0.05 (``--pve``), shared among its
QTLs: UKB-PPP's cis pQTLs explain a few percent of a protein's variance.

Stages, from the log's timestamps (``vibank -v``) and the run's JSON: start-up (interpreter and
imports, timed in a separate process), reading the protein table, reading the genotypes (bed) and
standardising, precompute (X'X, Y'X, ||y||^2), initialisation, the CAVI iterations (with their
split into the response loop, local and global updates and ELBO evaluations), and writing the
tables (``--min-ppi`` keeps the long table small). AUROC/AUPRC score every variant-protein pair
by its PPI; pairs below ``--min-ppi`` are not written and count as PPI 0. ``--n-scaling``
checks that an iteration's cost does not depend on n (it works on X'X and Y'X only): the same
in-memory panel cut to each n, wall and CPU seconds per full-CAVI iteration.
"""

import argparse
import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import warnings

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.eval import binary_metrics
from vibank.io.plink import write_bfile
from vibank.qtl import AtlasQTL, ConvergenceWarning
from vibank.simulate import simulate_protein_panel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qtl_vs_reference import ld_block_genotypes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VIBANK = Path(sys.executable).parent / "vibank"
#: /usr/bin/time -v fields kept: label -> (pattern, conversion)
TIME_FIELDS = {"wall": (r"Elapsed \(wall clock\) time.*: (.+)", None),
               "user": (r"User time \(seconds\): (.+)", float),
               "system": (r"System time \(seconds\): (.+)", float),
               "rss_gb": (r"Maximum resident set size \(kbytes\): (.+)", lambda v: int(v) / 2**20)}


def _seconds(clock):
    """'h:mm:ss' or 'm:ss.ss' of /usr/bin/time -> seconds."""
    parts = [float(v) for v in clock.split(":")]
    return sum(v * 60 ** k for k, v in enumerate(reversed(parts)))


def make_inputs(work, n, p, q, a_q, pve, seed):
    """Simulate the chunk and write geno.bed/.bim/.fam, proteins.tsv and truth.npy (p, q)."""
    if (work / "truth.npy").exists():
        return np.load(work / "truth.npy"), None
    work.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    x = ld_block_genotypes(n, p, seed)
    panel = simulate_protein_panel(x, q, active_variant_fraction=0.01, active_protein_fraction=a_q,
                                   mean_pve=pve, seed=seed + 1)
    ids = [f"S{i + 1:06d}" for i in range(n)]
    bim = pd.DataFrame({col.CHR: "1", col.SNP: [f"rs{j + 1}" for j in range(p)], "CM": 0.0,
                        col.POS: 1_000 * np.arange(1, p + 1), col.A1: "A", col.A2: "G"})
    write_bfile(work / "geno", x.astype(np.int8), bim,
                pd.DataFrame({col.FID: ids, col.IID: ids, "SEX": 0}))
    del x
    simulated = time.perf_counter() - tick
    table = pd.DataFrame(panel.Y, columns=[f"P{k + 1:04d}" for k in range(q)])
    table.insert(0, col.IID, ids)
    table.insert(0, col.FID, ids)
    table.to_csv(work / "proteins.tsv", sep="\t", index=False, float_format="%.6g")
    np.save(work / "truth.npy", panel.associations)
    made = {"simulate_s": simulated, "write_s": time.perf_counter() - tick - simulated,
            "proteins_gb": (work / "proteins.tsv").stat().st_size / 1e9,
            "bed_gb": (work / "geno.bed").stat().st_size / 1e9}
    return panel.associations, made


def _log_times(stderr):
    """(seconds since the first log line, message) of every log line of ``vibank -v``."""
    stamps = []
    for line in stderr.splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ \w+ (.*)", line)
        if m:
            when = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
            stamps.append((when.timestamp(), m.group(2)))
    return stamps


def run_chunk(work, cavi, threads, min_ppi, truth):
    """``vibank -v qtl`` under /usr/bin/time -v: its resources, stages and accuracy."""
    out = work / f"fit_{cavi}"
    command = [str(VIBANK), "-v", "qtl", "--bfile", str(work / "geno"), "--proteins",
               str(work / "proteins.tsv"), "--out", str(out), "--cavi", cavi, "--threads",
               str(threads), "--min-ppi", str(min_ppi)]
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import vibank.cli, vibank.stages.qtl"], check=True)
    imports = time.perf_counter() - tick
    started = time.time()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    rec = {}
    for label, (pattern, convert) in TIME_FIELDS.items():
        value = re.search(pattern, proc.stderr).group(1).strip()
        rec[label] = (convert or _seconds)(value)
    fit = json.loads(Path(f"{out}.json").read_text())
    sec = fit["seconds"]
    stamps = _log_times(proc.stderr)
    read_proteins = next(t for t, msg in stamps if " proteins, " in msg)
    fit_end = next(t for t, msg in stamps if msg.startswith("atlasQTL ("))
    written = next(t for t, msg in stamps if msg.startswith("chunk chr"))
    fit_start = fit_end - sec["total"]
    iterations = sec["total"] - sec["precompute"] - sec["init"]
    rec.update({
        "command": " ".join(["vibank", *command[1:]]).replace(str(work), "$W"),
        "startup": imports, "read_proteins": read_proteins - started - imports,
        "read_genotypes": fit_start - read_proteins, "precompute": sec["precompute"],
        "init": sec["init"], "iterations_s": iterations, "n_iter": fit["iterations"],
        "per_iteration": iterations / fit["iterations"], "write": written - fit_end,
        "steps": {k: sec[k] for k in ("loop", "local", "global", "elbo") if k in sec},
        "converged": fit["converged"], "stop": fit["stop_reason"], "elbo": fit["elbo"]})
    long = pd.read_csv(f"{out}.associations.tsv.gz", sep="\t", usecols=[col.SNP, col.PROTEIN,
                                                                          "PPI"])
    ppi = np.zeros(truth.shape)
    ppi[long[col.SNP].str[2:].astype(int).to_numpy() - 1,
        long[col.PROTEIN].str[1:].astype(int).to_numpy() - 1] = long["PPI"].to_numpy()
    rec["auprc"], rec["auroc"] = binary_metrics(truth.ravel(), ppi.ravel())
    called = ppi >= 0.5
    rec.update({"rows": len(long), "tp": int((called & truth).sum()),
                "fp": int((called & ~truth).sum()), "n_true": int(truth.sum())})
    return rec


def report(runs, made, args):
    print(f"### One chunk: p = {args.p}, q = {args.q}, {args.threads} threads, --min-ppi "
          f"{args.min_ppi}\n")
    for (n, cavi), r in runs.items():
        print(f"n = {n:,}, {cavi}: `{r['command']}`")
    print("\n| n | CAVI | wall s | CPU s (user+sys) | peak RSS GB | start-up s | read proteins s |"
          " read bed s | precompute s | init s | iterations | iterations s | s/iteration |"
          " write s | AUROC | AUPRC | TP / FP at PPI >= 0.5 (true pairs) | rows written |")
    print("|" + "---|" * 18)
    for (n, cavi), r in runs.items():
        print(f"| {n:,} | {cavi} | {r['wall']:.1f} | {r['user'] + r['system']:.1f} | "
              f"{r['rss_gb']:.2f} | {r['startup']:.1f} | {r['read_proteins']:.1f} | "
              f"{r['read_genotypes']:.1f} | {r['precompute']:.1f} | {r['init']:.1f} | "
              f"{r['n_iter']} ({r['stop']}) | {r['iterations_s']:.1f} | "
              f"{r['per_iteration']:.3f} | {r['write']:.1f} | {r['auroc']:.5f} | "
              f"{r['auprc']:.4f} | {r['tp']} / {r['fp']} ({r['n_true']}) | {r['rows']:,} |")
    print("\nIteration time split (s, whole fit): "
          + "; ".join(f"n = {n:,} {cavi}: " + ", ".join(f"{k} {v:.1f}"
                                                         for k, v in r["steps"].items())
                      for (n, cavi), r in runs.items()))
    for n, m in made.items():
        if m:
            print(f"\nInputs n = {n:,}: simulated in {m['simulate_s']:.0f} s, written in "
                  f"{m['write_s']:.0f} s; proteins.tsv {m['proteins_gb']:.2f} GB, geno.bed "
                  f"{m['bed_gb']:.3f} GB.")


def n_scaling(args, iterations=(10, 40)):
    """Seconds per iteration against n, in one process on one panel: full CAVI (every response
    every iteration, so equal work) on the first n rows for each n, fitted for 10 and for 40
    iterations; the difference over 30 iterations removes the set-up (precompute, init)."""
    x = ld_block_genotypes(max(args.n), args.p, args.seed)
    y = simulate_protein_panel(x, args.q, active_variant_fraction=0.01,
                               active_protein_fraction=args.a_q, mean_pve=args.pve,
                               seed=args.seed + 1).Y
    print(f"\n### Seconds per full-CAVI iteration against n (p = {args.p}, q = {args.q}, "
          f"{args.threads} threads, iterations {iterations[0] + 1}-{iterations[1]})\n")
    print("| n | precompute s | wall s / iteration | CPU s / iteration |\n|---|---|---|---|")
    for n in sorted(args.n):
        runs = []
        for max_iter in iterations:
            model = AtlasQTL(cavi="full", n_threads=args.threads, max_iter=max_iter, tol=1e-12,
                             seed=25)
            cpu = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x[:n], y[:n])
            sec = model.seconds_
            runs.append((sec["total"] - sec["precompute"] - sec["init"],
                         time.process_time() - cpu, sec["precompute"]))
        span = iterations[1] - iterations[0]
        print(f"| {n:,} | {runs[1][2]:.1f} | {(runs[1][0] - runs[0][0]) / span:.3f} | "
              f"{(runs[1][1] - runs[0][1]) / span:.3f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--p", type=int, default=1000)
    parser.add_argument("--q", type=int, default=3000)
    parser.add_argument("--a-q", dest="a_q", type=float, default=0.2)
    parser.add_argument("--pve", type=float, default=0.05)
    parser.add_argument("--cavi", nargs="+", default=["adaptive"], choices=["adaptive", "full"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-ppi", dest="min_ppi", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vibank_bench/qtl_biobank"))
    parser.add_argument("--quick", action="store_true", help="n = 2,000, q = 300")
    parser.add_argument("--n-scaling", dest="n_scaling", action="store_true",
                        help="only seconds per iteration against n (in memory, no command)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.q = [2000], 300
    if args.n_scaling:
        n_scaling(args)
        return
    runs, made = {}, {}
    for n in args.n:
        work = args.workdir / f"n{n}_p{args.p}_q{args.q}_aq{args.a_q}_pve{args.pve}"
        truth, made[n] = make_inputs(work, n, args.p, args.q, args.a_q, args.pve, args.seed)
        for cavi in args.cavi:
            runs[n, cavi] = run_chunk(work, cavi, args.threads, args.min_ppi, truth)
            print(f"n = {n}, {cavi}: {runs[n, cavi]['wall']:.0f} s", file=sys.stderr, flush=True)
    report(runs, made, args)


if __name__ == "__main__":
    main()
