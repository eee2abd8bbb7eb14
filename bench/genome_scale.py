"""Genome scale: 22 chromosomes, ~1.1 M variants, a 500-person panel, N = 500k; vibank vs viprs.

Usage::

    .venv/bin/python bench/genome_scale.py [--cache /tmp/vibank_genome_scale] [--threads 2]
        [--viprs-python /work/.viprs-venv/bin/python] [--quick] [--chroms 21,22] [--default-ld]
        [--ld-eigenvalues [--plain]]

Set-up (issue 19 item 2):

- Panel: 500 EUR-like people simulated with msprime (stdpopsim OutOfAfrica_3G09, uniform
  recombination 1e-8 per bp, HKY mutations) per chromosome at the GRCh37 autosome lengths,
  thinned to MAF >= 1 % and at most one variant per 2.5 kb (HapMap3-like density), so ~1.1 M
  variants in all. No genotyping artefacts. Each chromosome is simulated in its own process and
  cached as ``<cache>/geno/chr<c>.{bed,bim,fam}``.
- Sumstats (N = 500,000): b ~ N(R beta, (1 - h2) R / N) (``vibank.simulate.sumstats``) with R
  the panel's LD inside vibank's LD blocks (``vibank.ld.blocks.find_blocks`` on the chromosome's
  windowed store, 200-2,000 variants) and no LD between blocks: the population LD of a GWAS,
  whose long-range correlations are ~0. The panel's own full LD would carry its ~1/sqrt(500)
  chance correlations between distant variants into b, a signal 10-20x the N = 500k sampling
  noise that no windowed fit can explain. 1 % of variants causal, h2 (the sum over blocks of
  beta_b' R_b beta_b) of 0.5 genome-wide split over the autosomes by length (a subset or --quick
  carries its share only); ``<cache>/sumstats/chr<c>.tsv.gz`` (vibank format).
- LD: ``vibank ld --window-cm 3 --taper none`` (a hard 3 cM window: the matrix magenpy computes
  for viprs, so both fit the same LD; vibank's default since the tapered estimator is a Bartlett
  taper over 0.7 (n/378)^0.75 cM, 0.86 cM for 500 people, a third of the pairs), int16 store, no
  eigenvalues (CLI defaults), ``--threads``; per chromosome, whole commands; store sizes on disk.
  ``--ld-eigenvalues`` adds the same stores with ``--eigenvalues`` (each block's extremes kept
  at build, as magenpy's spectral properties for viprs) and the genome-wide fit on them.
- Fits, each a whole ``vibank fit`` command in its own process (``/usr/bin/time -v`` gives peak
  RSS): the genome-wide VEM fit (all 22 stores in one ``--ld``, shared hyperparameters) and the
  22 per-chromosome fits (sum of wall times, max RSS). ``--ld-noise none`` in both: N as
  given, viprs's likelihood; ``--dtype float32`` (``--dtype``), viprs's float precision here.
  The genome-wide fit holds the LD as its upper triangle (exact sweeps, the VEM default) and
  extrapolates the VEM fixed point (SQUAREM, the default); ``--plain`` adds the same fit with
  plain iterations (``--accelerate none``), so its share of the time is reported apart.
- viprs 0.1.5 (``--viprs-python``): magenpy computes its own windowed 3 cM LD (int16, with
  spectral properties for ``lambda_min='infer'``) once, cached and timed apart; the viprs fit is
  timed as a whole process (LD loading included) on viprs's recommended settings
  (``lambda_min='infer'``, float32, ``low_memory=True``) over all chromosomes jointly, and
  vibank's stopping rule (max |delta eta| < 1e-6: ``x_abs_tol=1e-6``, its ELBO test off).
- The panel: ``simulate_panel`` runs msprime per chromosome (hours on 2 cores for the largest);
  ``bench/genome_scale_tiles.py`` assembles chromosomes 1-4 from two simulated ones each when
  they are missing from the cache (say which in the results).

``--quick`` runs the same on two 10 Mb chromosomes for a smoke run.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# GRCh37 autosome lengths (bp)
CHROM_LENGTHS = [249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663,
                 146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540,
                 102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566]
N_GWAS, H2, CAUSAL_FRACTION, SPACING = 500_000, 0.5, 0.01, 2500

SIMULATE = """
import sys
from pathlib import Path
from vibank.io.plink import read_bim
from vibank.simulate import CohortParams, simulate_cohort
chrom, length, n, seed, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
params = CohortParams(populations={"EUR": n}, n_chromosomes=1, chromosome_length=length,
                      min_spacing_bp=SPACING, missing_rate=0.0, error_variant_fraction=0.0,
                      bad_sample_fraction=0.0, seed=seed)
tmp = prefix + ".part"
simulate_cohort(tmp, tmp + ".samples.tsv", params)
bim = read_bim(tmp)
bim["CHR"] = chrom
bim["SNP"] = [chrom + s[1:] for s in bim["SNP"]]  # "1:pos:a:d" -> "<chrom>:pos:a:d"
bim[["CHR", "SNP", "CM", "POS", "A1", "A2"]].to_csv(tmp + ".bim", sep="\\t", header=False, index=False)
for ext in ("fam", "bed", "bim"):
    Path(tmp + "." + ext).rename(prefix + "." + ext)
""".replace("SPACING", str(SPACING))


def timed(command, log):
    """Run a whole command under /usr/bin/time -v; (wall seconds, peak RSS GiB). Its output
    goes to ``log``; a failure raises with the log's last lines."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.run(["/usr/bin/time", "-v", *map(str, command)], stdout=out,
                              stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    text = Path(log).read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({log}):\n" + "\n".join(text.splitlines()[-15:]))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss_kb / 1024**2


def genome(quick, subset=None):
    """(chromosome, length) pairs: the 22 autosomes (or the ``subset`` of them), or two 10 Mb
    chromosomes for --quick."""
    if quick:
        return [(1, 10_000_000), (2, 10_000_000)]
    chroms = list(enumerate(CHROM_LENGTHS, start=1))
    return [(c, n) for c, n in chroms if subset is None or c in subset]


def simulate_panel(args, chroms):
    """One process per chromosome, ``--jobs`` at a time; cached. Seconds per chromosome."""
    geno = args.cache / "geno"
    geno.mkdir(parents=True, exist_ok=True)
    todo = [(c, n) for c, n in chroms if not (geno / f"chr{c}.bed").exists()]
    running, seconds = [], {}
    while todo or running:
        while todo and len(running) < args.jobs:
            c, length = todo.pop(0)
            cmd = [sys.executable, "-c", SIMULATE, str(c), str(length), str(args.samples),
                   str(args.seed + c), str(geno / f"chr{c}")]
            log = open(geno / f"chr{c}.log", "w")
            running.append((c, time.perf_counter(), subprocess.Popen(cmd, stdout=log, stderr=log)))
        time.sleep(1)
        for item in list(running):
            c, t0, proc = item
            if proc.poll() is not None:
                running.remove(item)
                if proc.returncode != 0:
                    raise RuntimeError(f"simulating chromosome {c} failed: see {geno}/chr{c}.log")
                seconds[c] = time.perf_counter() - t0
                print(f"simulated chr{c} in {seconds[c]:.0f} s", flush=True)
    return seconds


def make_sumstats(args, chroms):
    """Sumstats of N = 500k per chromosome from the panel's LD inside LD blocks (module
    docstring); cached. Returns the true h2 (sum over chromosomes and blocks of beta_b' R_b beta_b)."""
    import pandas as pd

    from vibank.io.atomic import write_table
    from vibank.io.plink import read_bim, read_dosages
    from vibank.ld import LDMatrix
    from vibank.ld.blocks import find_blocks
    from vibank.ld.genotypes import standardise_genotypes
    from vibank.simulate.sumstats import draw_effects, genetic_variance, simulate_sumstats, sumstats_table

    out = args.cache / "sumstats"
    out.mkdir(exist_ok=True)
    geno = args.cache / "geno"
    sizes = {c: len(read_bim(geno / f"chr{c}")) for c, _ in chroms}
    truth_file = out / "truth.json"
    truth = json.loads(truth_file.read_text()) if truth_file.exists() else {}
    for c, length in chroms:
        path = out / f"chr{c}.tsv.gz"
        if path.exists() and str(c) in truth:
            continue
        rng = np.random.default_rng([args.seed, c])
        dosages = read_dosages(geno / f"chr{c}", num_threads=args.threads)
        g, mean, _, _ = standardise_genotypes(dosages.T, n_threads=args.threads)
        blocks = find_blocks(LDMatrix(args.cache / "ld" / f"chr{c}.zarr").load(dtype=np.float64),
                             n_ref=g.shape[1])
        n_causal = max(1, round(CAUSAL_FRACTION * sizes[c]))
        h2 = H2 * length / sum(CHROM_LENGTHS)
        beta = draw_effects(g, n_causal, h2, rng)
        beta *= np.sqrt(h2 / sum(genetic_variance(g[a:z], beta[a:z]) for a, z in blocks))
        b = np.concatenate([simulate_sumstats(g[a:z], beta[a:z], N_GWAS, rng,
                                              h2=genetic_variance(g[a:z], beta[a:z]))
                            for a, z in blocks])
        bim = read_bim(geno / f"chr{c}")
        write_table(sumstats_table(bim, b, N_GWAS, mean / 2), path)
        # viprs reads magenpy's format: the same table with PVAL for P
        table = pd.read_csv(path, sep="\t").rename(columns={"P": "PVAL"})
        write_table(table, out / f"chr{c}.magenpy.tsv")
        truth[str(c)] = sum(genetic_variance(g[a:z], beta[a:z]) for a, z in blocks)
        truth_file.write_text(json.dumps(truth))
    return sum(truth[str(c)] for c, _ in chroms)


#: vibank ld options of the stores: the hard 3 cM window magenpy computes ("ld"), and vibank's
#: default, the Bartlett taper over the panel's window, 0.86 cM for 500 people ("ld_default");
#: the hard window with each block's extremal eigenvalues stored at build ("ld_eigenvalues":
#: what magenpy's compute_spectral_properties=True does for viprs's lambda_min='infer')
LD_OPTIONS = {"ld": ["--window-cm", 3, "--taper", "none"], "ld_default": [],
              "ld_eigenvalues": ["--window-cm", 3, "--taper", "none", "--eigenvalues"]}


def build_ld(args, chroms, name="ld"):
    """``vibank ld`` per chromosome (``LD_OPTIONS[name]``, int16); (seconds, RSS GiB,
    store bytes) per chromosome, cached in ``<cache>/<name>/times.json``."""
    out = args.cache / name
    out.mkdir(exist_ok=True)
    record = out / "times.json"
    rows = json.loads(record.read_text()) if record.exists() else {}
    vibank = Path(sys.executable).with_name("vibank")
    for c, _ in chroms:
        store = out / f"chr{c}.zarr"
        if str(c) in rows and store.exists():
            continue
        shutil.rmtree(store, ignore_errors=True)
        seconds, rss = timed([vibank, "ld", "--bfile", args.cache / "geno" / f"chr{c}", "--chrom", c,
                              *LD_OPTIONS[name], "--out", store, "--threads", args.threads],
                             out / f"chr{c}.log")
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        rows[str(c)] = {"seconds": seconds, "rss_gb": rss, "bytes": size}
        record.write_text(json.dumps(rows, indent=1))
        print(f"LD chr{c}: {seconds:.1f} s, {rss:.2f} GiB RSS, {size / 1e6:.0f} MB", flush=True)
    return {c: rows[str(c)] for c, _ in chroms}


def fit_vibank(args, chroms, ld_name="ld", per_chromosome=True, accelerate="squarem"):
    """The genome-wide fit and the per-chromosome fits, whole ``vibank fit`` commands, on the
    stores of ``build_ld(args, chroms, ld_name)``; ``accelerate`` as ``vibank fit``'s."""
    out = args.cache / ("fit" if ld_name == "ld" else f"fit_{ld_name}")
    if accelerate != "squarem":
        out = out.with_name(f"{out.name}_{accelerate}")
    out.mkdir(exist_ok=True)
    vibank = Path(sys.executable).with_name("vibank")
    ss = [args.cache / "sumstats" / f"chr{c}.tsv.gz" for c, _ in chroms]
    ld = [args.cache / ld_name / f"chr{c}.zarr" for c, _ in chroms]
    common = ["--threads", args.threads, "--strand", "same", "--ld-noise", "none",
              "--dtype", args.dtype, "--accelerate", accelerate]
    seconds, rss = timed([vibank, "fit", "--sumstats", *ss, "--ld", *ld, "--out", out / "genome",
                          *common], out / "genome.log")
    summary = json.loads((out / f"genome.chr{chroms[0][0]}.json").read_text())
    rows = {"genome-wide": {"seconds": seconds, "rss_gb": rss, "h2": summary["h2_genome"],
                            "iterations": summary["iterations"], "loop_seconds": summary["seconds"],
                            "stop": summary["stop_reason"], "elbo": summary["elbo"]}}
    if not per_chromosome:
        return rows
    per = []
    for c, s, store in zip([c for c, _ in chroms], ss, ld):
        t, r = timed([vibank, "fit", "--sumstats", s, "--ld", store, "--out", out / f"chr{c}",
                      *common], out / f"chr{c}.log")
        j = json.loads((out / f"chr{c}.json").read_text())
        per.append((t, r, j["h2"], j["iterations"], j["seconds"]))
    rows["per-chromosome"] = {"seconds": sum(p[0] for p in per), "rss_gb": max(p[1] for p in per),
                              "h2": sum(p[2] for p in per),
                              "iterations": f"{min(p[3] for p in per)}-{max(p[3] for p in per)}",
                              "loop_seconds": sum(p[4] for p in per), "stop": ""}
    return rows


VIPRS_LD = """
import sys, time
import magenpy as mgp
# magenpy 0.2.2 then also computes extremal eigenvalues of each chromosome without its
# long-range-LD regions (hg19 coordinates; a simulated genome has none): on chromosome 12 of this
# panel that step fails (eigsh: TypeError, k >= N). viprs's lambda_min='infer' reads the
# per-block eigenvalues, which are still computed; the LRLD filter is skipped
mgp.LDMatrix.filter_long_range_ld_regions = lambda self, *args, **kwargs: None
threads, out, temp, *bfiles = sys.argv[1:]
g = mgp.GWADataLoader(bed_files=bfiles, backend="magenpy", threads=int(threads), temp_dir=temp)
g.compute_ld("windowed", out, cm_window_size=3.0, dtype="int16", compute_spectral_properties=True)
"""

VIPRS_FIT = """
import json, sys, time
import numpy as np
import magenpy as mgp
import viprs as vp
mode, threads, temp, n_chrom = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
stores, sumstats = sys.argv[5:5 + n_chrom], sys.argv[5 + n_chrom:]
rows = []
parts = [(stores, sumstats)] if mode == "genome" else [([a], [b]) for a, b in zip(stores, sumstats)]
for st, ss in parts:
    t0 = time.perf_counter()
    g = mgp.GWADataLoader(ld_store_files=st, sumstats_files=ss, sumstats_format="magenpy",
                          threads=threads, temp_dir=temp)
    g.harmonize_data()
    if mode == "genome":  # 0.1.5 keeps one chromosome's 'infer' vector for all (VIPRS.py TODO)
        lam = float(max(np.max(g.ld[c].get_lambda_min(min_max_ratio=1e-3)) for c in g.ld))
    else:
        lam = "infer"
    model = vp.VIPRS(g, lambda_min=lam, float_precision="float32", low_memory=True,
                     dequantize_on_the_fly=False, threads=threads)
    t1 = time.perf_counter()
    # vibank's stopping rule (max |delta eta| < 1e-6, at most 1,000 iterations), as prs_bench.py:
    # viprs's ELBO test and patience switched off
    model.fit(max_iter=1000, min_iter=3, f_abs_tol=0.0, x_abs_tol=1e-6, patience=1001,
              disable_pbar=True)
    t2 = time.perf_counter()
    res = model.optim_result
    rows.append({"setup": t1 - t0, "loop_seconds": t2 - t1, "iterations": int(res.iterations),
                 "h2": float(model.get_heritability()), "stop": str(res.message)})
its = [r["iterations"] for r in rows]
print(json.dumps({"setup": sum(r["setup"] for r in rows), "h2": sum(r["h2"] for r in rows),
                  "loop_seconds": sum(r["loop_seconds"] for r in rows),
                  "iterations": str(its[0]) if len(its) == 1 else f"{min(its)}-{max(its)}",
                  "stop": ";".join(sorted(set(r["stop"] for r in rows)))}))
"""


def fit_viprs(args, chroms):
    """magenpy's LD for all chromosomes once (cached, timed apart), then the viprs fit as a
    whole process over all chromosomes jointly."""
    out = args.cache / "viprs"
    out.mkdir(exist_ok=True)
    (out / "temp").mkdir(exist_ok=True)
    record = out / "ld_time.json"
    ld_dir = out / "ld"
    wanted = [c for c, _ in chroms]
    if not record.exists() or json.loads(record.read_text()).get("chroms") != wanted:
        shutil.rmtree(ld_dir, ignore_errors=True)
        bfiles = [args.cache / "geno" / f"chr{c}" for c, _ in chroms]
        seconds, rss = timed([args.viprs_python, "-c", VIPRS_LD, args.threads, ld_dir, out / "temp",
                              *bfiles], out / "ld.log")
        size = sum(f.stat().st_size for f in ld_dir.rglob("*") if f.is_file())
        record.write_text(json.dumps({"seconds": seconds, "rss_gb": rss, "bytes": size,
                                      "chroms": wanted}))
    ld_row = json.loads(record.read_text())
    stores = [ld_dir / f"chr_{c}" for c, _ in chroms]
    ss = [args.cache / "sumstats" / f"chr{c}.magenpy.tsv" for c, _ in chroms]
    fits = {}
    for mode in args.viprs_modes.split(","):
        try:
            seconds, rss = timed([args.viprs_python, "-c", VIPRS_FIT, mode, args.threads, out / "temp",
                                  len(stores), *stores, *ss], out / f"fit_{mode}.log")
        except RuntimeError as err:
            print(f"viprs {mode} failed: {str(err).splitlines()[-1]}", flush=True)
            continue
        lines = [x for x in (out / f"fit_{mode}.log").read_text().splitlines() if x.startswith("{")]
        fits[mode] = {"seconds": seconds, "rss_gb": rss, **json.loads(lines[-1])}
    return ld_row, fits

def report(args, n_variants, sim_seconds, h2_true, ld, fits, viprs):
    gb = 1024**3
    print(f"\npanel: {args.samples} EUR-like samples (msprime, OutOfAfrica_3G09), {len(ld)} "
          f"chromosomes, {n_variants:,} variants (MAF >= 1 %, <= 1 per {SPACING} bp); "
          f"sumstats N = {N_GWAS:,}, true h2 {h2_true:.3f}; {args.threads} threads")
    if sim_seconds:
        print(f"simulation (this run, not cached): {sum(sim_seconds.values()):.0f} s of processes")
    rows = list(ld.values())
    print("\n| LD (vibank ld, windowed 3 cM, hard window, int16) | value |\n|---|---|")
    print(f"| total wall (sum over chromosomes) | {sum(r['seconds'] for r in rows):.1f} s |")
    print(f"| slowest chromosome | {max(r['seconds'] for r in rows):.1f} s |")
    print(f"| peak RSS (max over chromosomes) | {max(r['rss_gb'] for r in rows):.2f} GiB |")
    print(f"| store size on disk | {sum(r['bytes'] for r in rows) / gb:.2f} GiB |")
    if viprs:
        print(f"| magenpy compute_ld (int16 + spectra), all chromosomes | {viprs[0]['seconds']:.1f} s, "
              f"{viprs[0]['rss_gb']:.2f} GiB RSS, {viprs[0]['bytes'] / gb:.2f} GiB |")
    print("\n| fit (whole process) | wall s | peak RSS GiB | iterations | loop s | h2 (true "
          f"{h2_true:.3f}) | stop |\n|---|---|---|---|---|---|---|")
    for name, r in fits.items():
        print(f"| vibank {name} | {r['seconds']:.1f} | {r['rss_gb']:.2f} | {r['iterations']} | "
              f"{r['loop_seconds']:.1f} | {r['h2']:.3f} | {r['stop']} |")
    if viprs:
        for name, r in viprs[1].items():
            lam = "max inferred lambda_min, scalar" if name == "genome" else "lambda_min='infer'"
            print(f"| viprs 0.1.5 {name} ({lam}) | {r['seconds']:.1f} | {r['rss_gb']:.2f} | "
                  f"{r['iterations']} | {r['loop_seconds']:.1f} | {r['h2']:.3f} | {r['stop']} |")
        for vname, vr in viprs[1].items():
            for name, r in fits.items():
                print(f"viprs {vname} / vibank {name}, whole processes: "
                      f"{vr['seconds'] / r['seconds']:.2f}x")
    print("\nper chromosome: chrom, variants, LD s, LD RSS GiB, store MB")
    for c, r in ld.items():
        print(f"  {c}\t{r['variants']}\t{r['seconds']:.1f}\t{r['rss_gb']:.2f}\t{r['bytes'] / 1e6:.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None,
                        help="work directory (default /tmp/vibank_genome_scale, _quick for --quick)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="chromosomes simulated at once")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--viprs-python", default="/work/.viprs-venv/bin/python",
                        help="python of an environment with viprs 0.1.5 ('' to skip viprs)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                        help="vibank fit's state type (default float32, viprs's "
                             "float_precision here)")
    parser.add_argument("--viprs-modes", dest="viprs_modes", default="genome,per-chromosome",
                        help="viprs fits to run: genome (one model over all chromosomes), "
                             "per-chromosome, or both (default)")
    parser.add_argument("--quick", action="store_true", help="two 10 Mb chromosomes")
    parser.add_argument("--chroms", help="a subset of the autosomes, e.g. 21,22")
    parser.add_argument("--ld-eigenvalues", dest="ld_eigenvalues", action="store_true",
                        help="also the hard-window stores with eigenvalues stored at build "
                             "(vibank ld --eigenvalues) and the genome-wide fit on them")
    parser.add_argument("--plain", action="store_true",
                        help="with --ld-eigenvalues: also the genome-wide fit with plain VEM "
                             "iterations (vibank fit --accelerate none), SQUAREM's effect apart")
    parser.add_argument("--default-ld", dest="default_ld", action="store_true",
                        help="also vibank ld's default stores (tapered, window by panel size) "
                             "and the genome-wide fit on them")
    args = parser.parse_args()
    if args.cache is None:
        args.cache = Path("/tmp/vibank_genome_scale" + ("_quick" if args.quick else ""))
    args.cache.mkdir(parents=True, exist_ok=True)
    from vibank.io.plink import read_bim

    chroms = genome(args.quick, args.chroms and {int(c) for c in args.chroms.split(",")})
    sim_seconds = simulate_panel(args, chroms)
    ld = build_ld(args, chroms)
    h2_true = make_sumstats(args, chroms)
    for c, _ in chroms:
        ld[c]["variants"] = len(read_bim(args.cache / "geno" / f"chr{c}"))
    fits = fit_vibank(args, chroms)
    viprs = fit_viprs(args, chroms) if args.viprs_python else None
    report(args, sum(r["variants"] for r in ld.values()), sim_seconds, h2_true, ld, fits, viprs)
    if args.ld_eigenvalues:  # the same LD, its block eigenvalues computed at build, not in the fit
        ld_eig = build_ld(args, chroms, "ld_eigenvalues")
        r = fit_vibank(args, chroms, "ld_eigenvalues", per_chromosome=False)["genome-wide"]
        print("\n| hard window, eigenvalues stored at build (vibank ld --eigenvalues) | value |"
              "\n|---|---|")
        print(f"| LD total wall (sum over chromosomes) | "
              f"{sum(x['seconds'] for x in ld_eig.values()):.1f} s |")
        print(f"| genome-wide fit (whole process) | {r['seconds']:.1f} s, {r['rss_gb']:.2f} GiB "
              f"peak RSS, {r['iterations']} iterations, loop {r['loop_seconds']:.1f} s, h2 "
              f"{r['h2']:.3f} (true {h2_true:.3f}), ELBO {r['elbo']:.3f}, {r['stop']} |")
        if args.plain:  # SQUAREM's share: the same fit with plain VEM iterations
            p = fit_vibank(args, chroms, "ld_eigenvalues", per_chromosome=False,
                           accelerate="none")["genome-wide"]
            print(f"| the same, plain VEM iterations (--accelerate none) | {p['seconds']:.1f} s, "
                  f"{p['rss_gb']:.2f} GiB peak RSS, {p['iterations']} iterations, loop "
                  f"{p['loop_seconds']:.1f} s, h2 {p['h2']:.3f}, ELBO {p['elbo']:.3f}, "
                  f"{p['stop']} |")
            print(f"SQUAREM: {p['iterations'] / r['iterations']:.2f}x fewer iterations, whole fit "
                  f"{p['seconds'] / r['seconds']:.2f}x faster, ELBO {r['elbo'] - p['elbo']:+.3f}")
        if viprs:  # both on LD whose block eigenvalues were computed at build
            ld_seconds = sum(x["seconds"] for x in ld_eig.values())
            for vname, vr in viprs[1].items():
                print(f"viprs {vname} / vibank genome-wide on stores with eigenvalues, whole fit "
                      f"processes: {vr['seconds'] / r['seconds']:.2f}x; LD build + fit (magenpy "
                      f"with spectra + viprs against vibank ld --eigenvalues + vibank fit): "
                      f"{(viprs[0]['seconds'] + vr['seconds']) / (ld_seconds + r['seconds']):.2f}x")
    if args.default_ld:  # what a user gets: other LD (fewer pairs), so not set against viprs
        ld_default = build_ld(args, chroms, "ld_default")
        r = fit_vibank(args, chroms, "ld_default", per_chromosome=False)["genome-wide"]
        gb = 1024**3
        print("\n| vibank's default LD (Bartlett taper, 0.86 cM for 500 people): other LD, "
              "fewer pairs | value |\n|---|---|")
        print(f"| LD total wall (sum over chromosomes) | "
              f"{sum(x['seconds'] for x in ld_default.values()):.1f} s |")
        print(f"| store size on disk | {sum(x['bytes'] for x in ld_default.values()) / gb:.2f} GiB |")
        print(f"| genome-wide fit (whole process) | {r['seconds']:.1f} s, {r['rss_gb']:.2f} GiB "
              f"peak RSS, {r['iterations']} iterations, loop {r['loop_seconds']:.1f} s, h2 "
              f"{r['h2']:.3f} (true {h2_true:.3f}), {r['stop']} |")


if __name__ == "__main__":
    main()
