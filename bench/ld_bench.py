"""Windowed (3 cM) LD for one chromosome: vibank vs plink 1.9 vs magenpy, side by side.

Usage::

    .venv/bin/python bench/ld_bench.py [--workdir /tmp/vibank_ld_bench] [--threads 2]
        [--magenpy-python /path/to/venv/bin/python]

The panel is a simulated chromosome (msprime, OutOfAfrica_3G09, EUR-like samples) filtered to
MAF >= 1% with plink2; it is made once and cached in the work directory. Each tool computes the
same windowed matrix (pairs at most 3 cM apart) with the same number of threads:

- vibank: ``vibank.ld.build_ld_store`` (hard window, ``taper="none"``, as plink and magenpy;
  float32 store, eigenvalues off: plink and magenpy do not compute them);
- plink 1.9: ``--r --ld-window-cm 3`` (text output, the only windowed output plink 1.9 has);
- magenpy (PyPI, installed in a separate environment given by --magenpy-python, never a vibank
  dependency): ``GWADataLoader(backend="magenpy").compute_ld("windowed", cm_window_size=3)``.

Prints wall seconds, the ratio to vibank, the number of stored pairs and the largest absolute
difference of each tool's values from plink's.

``--public`` times instead the whole ``vibank ld`` command against magenpy on a public-size panel
(issue 19 item 3): 378 EUR-like samples x ~15,900 variants (a 25 Mb chromosome, MAF >= 1 %,
cached in ``<workdir>/public``), windowed 3 cM, 2 threads. Each tool runs as a subprocess from
process start to finish (imports included), ``--repeats`` times alternately; the table gives
the median and the ratio of medians:

- ``vibank ld --window-cm 3 --taper none --dtype int16`` (a hard 3 cM window, the matrix magenpy
  computes, not vibank's default Bartlett-tapered window; the CLI default store: no eigenvalues),
  and with ``--eigenvalues``;
- magenpy ``compute_ld(..., dtype="int16")`` (its default, and like for like with vibank's
  int16; magenpy computes no eigenvalues by default either, ``compute_spectral_properties=False``)
  and at ``dtype="int8"``.

plink 1.9 is left out of this case: its only windowed output is text (``--r --ld-window-cm``);
``--r bin4`` writes square or triangular matrices of every pair, another computation.
"""

import argparse
import json
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vibank.io.plink import read_bim
from vibank.ld import LDEstimator, LDMatrix, build_ld_store
from vibank.simulate import CohortParams, simulate_cohort


def make_panel(workdir, n_samples, length, spacing, seed):
    prefix = workdir / "panel"
    if Path(f"{prefix}.bed").exists():
        return prefix
    params = CohortParams(populations={"EUR": n_samples}, n_chromosomes=1, chromosome_length=length,
                          min_spacing_bp=spacing, missing_rate=0.0, error_variant_fraction=0.0,
                          bad_sample_fraction=0.0, seed=seed)
    simulate_cohort(workdir / "raw", workdir / "samples.tsv", params)
    subprocess.run(["plink2", "--bfile", workdir / "raw", "--maf", "0.01", "--make-bed",
                    "--out", prefix], check=True, capture_output=True)
    return prefix


def run_vibank(prefix, workdir, threads):
    out = workdir / "vibank.zarr"
    t0 = time.perf_counter()
    build_ld_store(prefix, out, chrom="1", estimator=LDEstimator("windowed", window_cm=3.0, taper="none"),
                   dtype="float32", n_threads=threads, eigenvalues=False)
    return time.perf_counter() - t0, LDMatrix(out).load(dtype=np.float64)


def run_plink(prefix, workdir, threads):
    out = workdir / "plink"
    t0 = time.perf_counter()
    subprocess.run(["plink1.9", "--bfile", prefix, "--keep-allele-order", "--r", "--ld-window-cm", "3",
                    "--ld-window", "1000000", "--ld-window-kb", "1000000", "--ld-window-r2", "0",
                    "--threads", str(threads), "--out", out], check=True, capture_output=True)
    return time.perf_counter() - t0, Path(f"{out}.ld")


MAGENPY_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import magenpy as mgp
    prefix, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = time.perf_counter()
    g = mgp.GWADataLoader(bed_files=prefix, backend="magenpy", threads=threads)
    g.compute_ld("windowed", out, window_size=None, kb_window_size=None, cm_window_size=3.0,
                 dtype="float32")
    print(json.dumps({"seconds": time.perf_counter() - t0}))
""")


def run_magenpy(python, prefix, workdir, threads):
    out = workdir / "magenpy_ld"
    proc = subprocess.run([python, "-c", MAGENPY_SCRIPT, str(prefix), str(out), str(threads)],
                          check=True, capture_output=True, text=True)
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    import zarr

    group = zarr.open_group(str(out / "chr_1"), mode="r", zarr_format=2)
    return seconds, group["matrix/data"][:].astype(np.float64), group["matrix/indptr"][:]


def compare_with_plink(plink_ld, snps, data, indptr):
    """Largest |value - plink's r| over the pairs both keep (band layout: row j holds j+1, ...).

    Returns (max abs difference, pairs plink keeps, pairs plink keeps that the tool does not).
    """
    index = pd.Series(np.arange(len(snps)), index=snps)
    worst, n_pairs, n_missing = 0.0, 0, 0
    for chunk in pd.read_csv(plink_ld, sep=r"\s+", usecols=["SNP_A", "SNP_B", "R"], chunksize=5_000_000):
        a = index[chunk["SNP_A"]].to_numpy()
        b = index[chunk["SNP_B"]].to_numpy()
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        inside = hi - lo <= np.diff(indptr)[lo]
        n_missing += int((~inside).sum())
        ours = data[indptr[lo[inside]] + (hi[inside] - lo[inside] - 1)]
        worst = max(worst, float(np.max(np.abs(ours - chunk["R"].to_numpy()[inside]))))
        n_pairs += len(chunk)
    return worst, n_pairs, n_missing


MAGENPY_CLI = textwrap.dedent("""
    import sys
    import magenpy as mgp
    prefix, out, threads, dtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    g = mgp.GWADataLoader(bed_files=prefix, backend="magenpy", threads=threads)
    g.compute_ld("windowed", out, window_size=None, kb_window_size=None, cm_window_size=3.0,
                 dtype=dtype)
""")


def _timed(command):
    """Wall seconds of a whole command, process start to exit."""
    t0 = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - t0


def public_case(args):
    """The whole ``vibank ld`` command against magenpy on a public-size panel (see the module)."""
    import shutil
    import sys

    workdir = args.workdir / "public"
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = make_panel(workdir, 378, 25_000_000, 1500, args.seed)
    n_variants = len(read_bim(prefix))
    vibank = str(Path(sys.executable).with_name("vibank"))
    base = [vibank, "ld", "--bfile", str(prefix), "--chrom", "1", "--estimator", "windowed",
            "--window-cm", "3", "--taper", "none", "--dtype", "int16", "--threads", str(args.threads)]
    tools = {
        "vibank ld, int16": base + ["--out", str(workdir / "vibank.zarr")],
        "vibank ld --eigenvalues, int16": base + ["--eigenvalues", "--out",
                                                  str(workdir / "vibank_eig.zarr")],
    }
    if args.magenpy_python:
        for dtype in ("int16", "int8"):
            tools[f"magenpy compute_ld, {dtype}"] = [
                args.magenpy_python, "-c", MAGENPY_CLI, str(prefix),
                str(workdir / f"magenpy_{dtype}"), str(args.threads), dtype]
    times = {name: [] for name in tools}
    for _ in range(args.repeats):
        for name, command in tools.items():
            out = Path(command[-1]) if name.startswith("vibank") else Path(command[-3])
            shutil.rmtree(out, ignore_errors=True)
            times[name].append(_timed(command))
    median = {name: float(np.median(t)) for name, t in times.items()}
    ref = median.get("magenpy compute_ld, int16")
    print(f"panel: 378 samples x {n_variants} variants, 1 chromosome, windowed 3 cM, "
          f"{args.threads} threads, {args.repeats} alternating runs, whole commands")
    print("| command | seconds (median) | runs | time / magenpy int16 |")
    print("|---|---|---|---|")
    for name, seconds in median.items():
        ratio = f"{seconds / ref:.2f}" if ref else "-"
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {seconds:.2f} | {runs} | {ratio} |")
    plain, with_eig = LDMatrix(workdir / "vibank.zarr"), LDMatrix(workdir / "vibank_eig.zarr")
    print(f"vibank stores: {plain.n_stored} variants; eigenvalues stored: "
          f"{'eigenvalues' in plain.attrs} / {'eigenvalues' in with_eig.attrs} (--eigenvalues)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vibank_ld_bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--length", type=int, default=30_000_000)
    parser.add_argument("--spacing", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--magenpy-python", help="python of an environment with magenpy installed")
    parser.add_argument("--public", action="store_true",
                        help="time whole vibank ld commands against magenpy on 378 x ~15,900")
    parser.add_argument("--repeats", type=int, default=3, help="--public: runs of each command")
    args = parser.parse_args()
    if args.public:
        public_case(args)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    prefix = make_panel(args.workdir, args.samples, args.length, args.spacing, args.seed)
    snps = read_bim(prefix)["SNP"].to_numpy()
    print(f"panel: {args.samples} samples x {len(snps)} variants, 1 chromosome, window 3 cM, "
          f"{args.threads} threads")

    t_vib, ld = run_vibank(prefix, args.workdir, args.threads)
    t_plink, plink_ld = run_plink(prefix, args.workdir, args.threads)
    diff_vib, n_plink, missing_vib = compare_with_plink(plink_ld, snps, ld.data, ld.indptr)
    rows = [("vibank", t_vib, len(ld.data), diff_vib, missing_vib),
            ("plink 1.9 --r", t_plink, n_plink, 0.0, 0)]
    if args.magenpy_python:
        t_mag, mag_data, mag_indptr = run_magenpy(args.magenpy_python, prefix, args.workdir, args.threads)
        diff_mag, _, missing_mag = compare_with_plink(plink_ld, snps, mag_data, mag_indptr)
        rows.append(("magenpy (native backend)", t_mag, len(mag_data), diff_mag, missing_mag))
    print("| tool | seconds | time / vibank | stored pairs | plink's pairs missing | "
          "max abs diff from plink |")
    print("|---|---|---|---|---|---|")
    for name, seconds, pairs, diff, missing in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / t_vib:.2f} | {pairs} | {missing} | {diff:.2e} |")


if __name__ == "__main__":
    main()
