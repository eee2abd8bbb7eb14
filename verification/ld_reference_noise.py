"""Right answers in the real regime: a GWAS of N = 50k-500k against a small LD reference panel.

A population of ``--n-pop`` EUR-like genomes on one chromosome (msprime, OutOfAfrica_3G09, at
HapMap3-like density) stands for the GWAS population; disjoint panels of ``--n-ref`` people from
the same population are the LD references. Summary statistics of any N are drawn exactly from
the population's LD (``vibank.simulate.sumstats``), for a sparse and a polygenic trait, and each
is fitted as a new user would: ``vibank ld --estimator E`` on a panel, then ``vibank fit`` with
default settings. The in-sample-LD oracle fits the same statistics with the population's own LD.

Reported per (architecture, N, LD, estimator): mean over replicates (with SE) of h2 / truth, the
correlation of the effects with the true ones, the expected prediction R^2 in the population
(beta' R eta)^2 / (eta' R eta), its ratio to the oracle's on the same statistics, the fits'
stop reasons and guard flags, and seconds per fit. ``--viprs-python`` adds viprs 0.1.5 on the
same panels (``verification/viprs_runner.py``; set up by ``verification/setup_viprs.sh``).

    .venv/bin/python verification/ld_reference_noise.py --out docs/ld_reference_noise.md

The simulation and LD stores are cached in ``--cache`` (simulating 26k genomes takes ~1 min).
"""

import argparse
import contextlib
import io
import json
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import cli
from vibank import columns as col
from vibank.io.plink import read_bim, read_dosages, read_fam, read_keep, write_keep
from vibank.ld import panel_window_cm
from vibank.ld.genotypes import standardise_genotypes
from vibank.simulate import CohortParams, simulate_cohort
from vibank.simulate.sumstats import draw_effects, expected_r2, simulate_sumstats, sumstats_table

log = logging.getLogger("ld_reference_noise")

ARCHITECTURES = {"sparse": 0.002, "polygenic": 0.1}  # share of causal variants
ESTIMATORS = ("windowed", "block", "shrinkage")


def simulate_population(cache, *, n_pop, panels, length, spacing, seed):
    """The population and panels as one PLINK fileset with keep files; cached."""
    prefix = cache / "genomes"
    keeps = {"population": cache / "population.keep",
             **{n: cache / f"panel{n}.keep" for n in panels}}
    if not Path(f"{prefix}.bed").exists():
        params = CohortParams(populations={"EUR": n_pop + sum(panels)}, n_chromosomes=1,
                              chromosome_length=length, min_spacing_bp=spacing, missing_rate=0.0,
                              error_variant_fraction=0.0, bad_sample_fraction=0.0, seed=seed)
        simulate_cohort(str(prefix), str(cache / "samples.tsv"), params, n_jobs=1)
    fam = read_fam(str(prefix))
    bounds = np.cumsum([0, n_pop, *panels])
    for name, lo, hi in zip(keeps, bounds[:-1], bounds[1:]):
        if not keeps[name].exists():
            write_keep(keeps[name], fam.iloc[lo:hi])
    return str(prefix), keeps, bounds


def ld_options(spec):
    """``vibank ld`` options of an estimator spec: a name, or ``name:option=value,...`` with
    the command's long options (``windowed:taper=bartlett,window-cm=1``)."""
    name, _, options = spec.partition(":")
    argv = ["--estimator", name]
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        argv += [f"--{key}", value]
    return argv


def file_tag(spec):
    """An estimator spec as a file-name part."""
    return spec.replace(":", "_").replace(",", "_").replace("=", "-")


def ld_store(cache, bfile, keep, name, estimator):
    """``vibank ld`` with its defaults (int16 values) for one panel and estimator spec; cached
    under a name that holds the automatic window, so a store built under another rule is not
    taken for today's default."""
    tag = file_tag(estimator)
    if estimator.startswith("windowed") and "window-" not in estimator:
        tag += f"_auto-{panel_window_cm(len(read_keep(keep)))}"
    out = cache / f"ld_{name}_{tag}.zarr"
    if not out.exists():
        run_cli(["ld", "--bfile", bfile, "--chrom", "1", "--keep", str(keep), "--out", str(out),
                 *ld_options(estimator), "--threads", "2"])
    return out


def run_cli(argv):
    """``vibank ARGV`` in this process; returns (exit code, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


def fit(sumstats, store, out, extra=()):
    """``vibank fit`` with default settings (plus ``extra`` options, e.g. a tuning strategy);
    the fit JSON and effects (NaN on an error)."""
    t0 = time.perf_counter()
    code, err = run_cli(["fit", "--sumstats", str(sumstats), "--ld", str(store), "--out",
                         str(out), "--threads", "2", *extra])
    seconds = time.perf_counter() - t0
    if code != 0:
        return {"status": "error", "message": err.strip().splitlines()[-1], "seconds": seconds}, None
    extra = list(extra)
    strategy = extra[extra.index("--strategy") + 1] if "--strategy" in extra else "vem"
    if strategy != "vem":  # a tuned fit writes its files per chromosome
        out = f"{out}.chr1"
    summary = json.loads(Path(f"{out}.json").read_text())
    effects = pd.read_csv(f"{out}.effects.tsv.gz", sep="\t")
    return {"status": summary["stop_reason"], "h2": summary["h2"],
            "flags": ";".join(summary.get("flags", [])), "seconds": seconds}, effects


def block_file(store, out):
    """The LD blocks of a vibank block store as a BED file (0-based start, end exclusive)."""
    from vibank.ld import LDMatrix

    ld = LDMatrix(store)
    pos = ld.variants()["POS"].to_numpy()
    lines = [f"chr1\t{pos[a] - 1}\t{pos[b - 1]}" for a, b in ld.attrs["blocks"]]
    Path(out).write_text("chr\tstart\tstop\n" + "\n".join(lines) + "\n")
    return out


def viprs_fit(python, bfile, keep, estimator, sumstats, cache, out, blocks=None):
    """viprs 0.1.5 on the same panel and statistics (``verification/viprs_runner.py``); block
    LD on vibank's blocks of the same panel."""
    runner = Path(__file__).with_name("viprs_runner.py")
    argv = [python, str(runner), "--bfile", bfile, "--keep", str(keep), "--chrom", "1",
            "--estimator", estimator, "--sumstats", str(sumstats), "--ld-dir",
            str(cache / "magenpy"), "--threads", "2", "--out", str(out)]
    if blocks is not None:
        argv += ["--blocks", str(blocks)]
    subprocess.run(argv, check=True, capture_output=True)
    summary = json.loads(Path(f"{out}.json").read_text())
    if summary.get("status") == "failed":
        return {"status": "error", "message": summary.get("message", ""),
                "seconds": summary.get("fit_seconds", np.nan)}, None
    effects = pd.read_csv(f"{out}.effects.tsv", sep="\t")
    status = {"ok": "converged", "not_converged": "max_iter"}.get(summary.get("status"), "error")
    return {"status": status,
            "h2": summary.get("h2", np.nan), "flags": "",
            "seconds": summary.get("fit_seconds", np.nan)}, effects


def aligned_effects(effects, snps, a1):
    """Effects on the population's variants and A1 (0 where not fitted)."""
    eta = np.zeros(len(snps))
    if effects is None:
        return eta
    index = pd.Series(np.arange(len(snps)), index=snps)
    found = effects[effects["SNP"].isin(index.index)]
    rows = index[found["SNP"]].to_numpy()
    sign = np.where(found["A1"].to_numpy() == a1[rows], 1.0, -1.0)
    eta[rows] = sign * found["BETA"].to_numpy(float)
    return eta


def run(args):
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    bfile, keeps, bounds = simulate_population(cache, n_pop=args.n_pop, panels=args.n_ref,
                                               length=args.length, spacing=args.spacing,
                                               seed=args.seed)
    bim = read_bim(bfile)
    dosages = read_dosages(bfile, sample_index=np.arange(bounds[0], bounds[1]), num_threads=2)
    genotypes, mean, _, _ = standardise_genotypes(dosages.T, n_threads=2)
    del dosages
    frequency = mean.astype(np.float64) / 2
    keep = (frequency > 0) & (frequency < 1)
    log.info("population: %d people, %d variants (%d polymorphic)", genotypes.shape[1],
             len(bim), keep.sum())
    snps, a1 = bim[col.SNP].to_numpy(), bim[col.A1].to_numpy()
    references = [("population", keeps["population"], e) for e in args.oracle_estimators]
    references += [(n, keeps[n], e) for n in args.n_ref for e in args.estimators]
    stores = {(name, e): ld_store(cache, bfile, k, name, e) for name, k, e in references}
    blocks = {name: block_file(stores[(name, e)], cache / f"blocks_{name}.bed")
              for name, _, e in references if e == "block"}
    rows = []
    work = cache / "fits"
    work.mkdir(exist_ok=True)
    for arch in args.architectures:
        for n_gwas in args.n_gwas:
            for rep in range(args.replicates):
                beta, b = replicate(genotypes, keep, arch, rep, n_gwas, h2=args.h2,
                                    seed=args.seed)
                ss = work / f"{arch}_N{n_gwas}_rep{rep}.tsv.gz"
                sumstats_table(bim[keep], b[keep], n_gwas, frequency[keep]).to_csv(
                    ss, sep="\t", index=False)
                fits = [(name, e, lambda s=stores[(name, e)], o=work / f"fit_{name}_{file_tag(e)}":
                         fit(ss, s, o, shlex.split(args.fit_args)))
                        for name, _, e in references]
                if args.viprs_python:
                    fits += [(name, f"viprs-{e}", lambda k=k, e=e, o=work / f"viprs_{name}_{e}",
                              bl=blocks.get(name): viprs_fit(args.viprs_python, bfile, k, e, ss,
                                                             cache, o, bl if e == "block" else None))
                             for name, k, e in references if e in ("windowed", "block")]
                for name, estimator, call in fits:
                    record, effects = call()
                    eta = aligned_effects(effects, snps, a1)
                    row = {"architecture": arch, "n_gwas": n_gwas, "replicate": rep,
                           "ld": name, "estimator": estimator, **record,
                           "h2_ratio": record.get("h2", np.nan) / args.h2,
                           "corr_beta": float(np.corrcoef(eta, beta)[0, 1]) if eta.any() else 0.0,
                           "r2": expected_r2(genotypes, beta, eta)}
                    rows.append(row)
                    log.info("%s N=%d rep %d %s/%s: %s h2 %.2fx r2 %.4f (%.1f s) %s", arch,
                             n_gwas, rep, name, estimator, record["status"], row["h2_ratio"],
                             row["r2"], record["seconds"], record.get("flags", ""))
    return pd.DataFrame(rows)


def replicate(genotypes, polymorphic, arch, rep, n_gwas, *, h2, seed):
    """One replicate's true effects (on the polymorphic variants) and GWAS statistics."""
    rng = np.random.default_rng([seed, rep, list(ARCHITECTURES).index(arch)])
    n_causal = max(1, int(round(ARCHITECTURES[arch] * polymorphic.sum())))
    beta = np.zeros(len(polymorphic))
    beta[polymorphic] = draw_effects(genotypes[polymorphic], n_causal, h2, rng)
    return beta, simulate_sumstats(genotypes, beta, n_gwas, rng, h2=h2)


def summarise(table):
    """Mean (SE) over replicates per architecture, N, panel and estimator; R^2 also as a ratio
    to the oracle's (population LD, windowed) on the same statistics."""
    oracle = table[(table["ld"] == "population") & (table["estimator"] == "windowed")]
    key = ["architecture", "n_gwas", "replicate"]
    table = table.merge(oracle[key + ["r2"]].rename(columns={"r2": "r2_oracle"}), on=key,
                        how="left")
    table["r2_ratio"] = table["r2"] / table["r2_oracle"]
    groups = table.groupby(["architecture", "n_gwas", "ld", "estimator"], sort=False)

    def mean_se(x):
        x = x.dropna()
        if not len(x):
            return "—"
        se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
        return f"{x.mean():.3f} ({se:.3f})"

    out = groups.agg(
        fits=("status", "size"),
        status=("status", lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().items())),
        flags=("flags", lambda s: ", ".join(sorted({f for x in s.dropna() for f in str(x).split(";") if f}))),
        h2_ratio=("h2_ratio", mean_se), corr_beta=("corr_beta", mean_se), r2=("r2", mean_se),
        r2_ratio=("r2_ratio", mean_se), seconds=("seconds", lambda s: f"{s.mean():.1f}"),
    ).reset_index()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="verification/.cache/ld_reference_noise")
    parser.add_argument("--n-pop", type=int, default=20000)
    parser.add_argument("--n-ref", type=int, nargs="+", default=[378, 1000, 5000])
    parser.add_argument("--n-gwas", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--length", type=int, default=25_000_000)
    parser.add_argument("--spacing", type=int, default=2500,
                        help="at most one variant per this many bp (HapMap3-like density)")
    parser.add_argument("--h2", type=float, default=0.02)
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES),
                        choices=list(ARCHITECTURES))
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS),
                        help="estimators, each a name or name:option=value,... with vibank ld's "
                             "long options (windowed:taper=bartlett,window-cm=1)")
    parser.add_argument("--oracle-estimators", nargs="+", default=["windowed", "block"])
    parser.add_argument("--viprs-python", help="python of the viprs 0.1.5 venv (setup_viprs.sh)")
    parser.add_argument("--fit-args", default="",
                        help="options added to every vibank fit, e.g. '--strategy gs --metric "
                             "pseudo' (default: none, the defaults a new user gets)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", help="markdown table (default: stdout)")
    parser.add_argument("--raw", help="every fit as TSV")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("vibank").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    table = run(args)
    if args.raw:
        table.to_csv(args.raw, sep="\t", index=False)
    summary = summarise(table)
    text = (f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}` "
            f"({time.perf_counter() - t0:.0f} s)\n\n" + summary.to_markdown(index=False) + "\n")
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
