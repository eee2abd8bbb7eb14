"""The ``vibank`` command, for use outside Snakemake.

``vibank --version``; ``vibank simulate cohort``; ``vibank simulate phenotypes``; ``vibank ld``; ``vibank fit``;
``vibank qtl``. User errors
print one line (``vibank: error: ...``) and exit 1; no traceback.
"""

import argparse
import contextlib
import dataclasses
import logging
import sys

import yaml

from vibank import __version__
from vibank.errors import VibankError
from vibank.io.sumstats_formats import FORMATS
from vibank.prs.spec import METRICS, PRIOR_OPTIONS, STRATEGIES, ModelSpec
from vibank.qtl.focus import EPSILON_SCHEMES, MODES as QTL_MODES
from vibank.qtl.priors import ANNEAL_TYPES


#: annealing ladder names of ``--anneal`` -> the type codes of vibank.qtl.anneal_ladder
QTL_ANNEAL_NAMES = {name: code for code, name in ANNEAL_TYPES.items()}


def _load_config(path):
    if path is None:
        return {}
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise VibankError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise VibankError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise VibankError(f"{path}: the config must be a mapping of sections (seed, cohort, ...)")
    return config


def _section(config, *keys, path="config"):
    """config[k1][k2]... as a dict ({} when absent or null); error if it is not a mapping."""
    node = config
    for depth, key in enumerate(keys):
        node = node.get(key) or {}
        if not isinstance(node, dict):
            raise VibankError(f"{path}: {'.'.join(keys[: depth + 1])} must be a mapping")
    return dict(node)


def _parse_populations(text):
    """'EUR=6000,AFR=1000' -> {'EUR': 6000, 'AFR': 1000}, with a one-line error otherwise."""
    sizes = {}
    for item in text.split(","):
        label, sep, n = item.partition("=")
        if not sep or not n.strip().isdigit():
            raise VibankError(f"--populations: {item!r} is not LABEL=COUNT (e.g. EUR=6000)")
        sizes[label.strip()] = int(n)
    return sizes


@contextlib.contextmanager
def _config_errors(path):
    """Prefix the config file to the errors of its settings (when one was given)."""
    try:
        yield
    except VibankError as err:
        if path is None:
            raise
        raise VibankError(f"{path}: {err}") from None


def _cmd_simulate_cohort(args):
    from vibank.simulate import CohortParams, simulate_cohort

    cfg = _load_config(args.config)
    sim = _section(cfg, "cohort", "simulate", path=args.config)
    known = {f.name for f in dataclasses.fields(CohortParams)} - {"seed"}
    unknown = sorted(set(sim) - known)
    if unknown:
        raise VibankError(f"{args.config}: cohort.simulate: unknown key(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    if args.populations:
        sim["populations"] = _parse_populations(args.populations)
    for key in ("n_chromosomes", "chromosome_length"):
        if getattr(args, key) is not None:
            sim[key] = getattr(args, key)
    seed = args.seed if args.seed is not None else cfg.get("seed", 1)
    with _config_errors(args.config):
        params = CohortParams(**sim, seed=seed)
    info = simulate_cohort(args.out, args.samples, params, n_jobs=args.jobs)
    print(f"{info['n_samples']} samples, {sum(info['n_variants'].values())} variants "
          f"in {info['seconds']:.1f} s -> {args.out}.bed")


def _cmd_simulate_phenotypes(args):
    from vibank.simulate.phenotypes import check_traits, simulate_phenotypes

    cfg = _load_config(args.config)
    ph = _section(cfg, "phenotypes", path=args.config)
    traits = _section(ph, "traits", path=args.config)
    if not traits:
        raise VibankError(f"{args.config}: phenotypes.traits is empty")
    with _config_errors(args.config):
        check_traits(traits)
    effects = {t: f"{args.out_dir}/true_effects_{t}.tsv.gz" for t in traits}
    simulate_phenotypes(
        args.bfile, args.samples, traits, f"{args.out_dir}/phenotypes.tsv", effects,
        f"{args.out_dir}/traits.tsv", seed=cfg.get("seed", 1) if args.seed is None else args.seed,
        reference_population=_section(cfg, "splits", path=args.config).get("reference_population", "EUR"),
        covariate_variance=ph.get("covariate_variance", 0.05),
    )
    print(f"{len(traits)} traits -> {args.out_dir}/phenotypes.tsv")


def _cmd_ld(args):
    from vibank.ld import LDEstimator, build_ld_store

    window_cm = args.window_cm
    if args.estimator in ("windowed", "block") and None is window_cm is args.window_kb is args.window_variants:
        window_cm = "auto"  # windowed: 0.5-3 cM by the panel's size (ld.panel_window_cm)
    estimator = LDEstimator(
        name=args.estimator, window_cm=window_cm, window_kb=args.window_kb,
        window_variants=args.window_variants, blocks_file=args.blocks, cutoff=args.cutoff,
        max_dense_variants=args.max_dense_variants, block_min_variants=args.block_min_variants,
        block_max_variants=args.block_max_variants, taper=args.taper,
    )
    info = build_ld_store(
        args.bfile, args.out, chrom=args.chrom, keep=args.keep, estimator=estimator,
        dtype=args.dtype, compute_dtype=args.compute_dtype, n_threads=args.threads,
        bias_corrected_ld_score=args.bias_corrected_ld_score, genome_build=args.genome_build,
        eigenvalues=args.eigenvalues,
    )
    print(f"{info['n_variants']} variants, {info['n_pairs']} stored pairs in "
          f"{info['seconds']:.1f} s -> {args.out}")
    if info.get("note"):
        print(f"note: {info['note']}")


def _cmd_fit(args):
    from vibank.ld import LDMatrix
    from vibank.prs.spec import model_spec
    from vibank.stages.prs import fit_prs, tune_prs

    if len(args.sumstats) == 1 and len(args.ld) > 1:  # one genome-wide file, split by the stores
        args.sumstats = args.sumstats * len(args.ld)
    if len(args.sumstats) != len(args.ld):
        raise VibankError(f"--sumstats names {len(args.sumstats)} files but --ld {len(args.ld)}")
    entry = {key: getattr(args, key) for key in (
        "prior", "n_components", "alpha", "fit_alpha", "strategy", "metric", "grid_size",
        "bo_calls", "ld_noise", "pseudo_training_fraction", "dtype", "accelerate")
        if getattr(args, key) is not None}
    spec = model_spec(entry, max_iter=args.max_iter, grid_max_iter=args.grid_max_iter)
    sumstats_options = {"sumstats_format": args.format, "n": args.n,
                        "harmonise_options": {"keep_ambiguous": args.keep_ambiguous,
                                              "allow_low_overlap": args.allow_low_overlap,
                                              "strand": args.strand},
                        "mismatch_filter": {"seed": args.seed} if args.mismatch_filter else None}
    common = dict(spec=spec, trait=args.trait, model_name=args.model_name,
                  n_threads=args.threads, min_overlap=args.min_overlap,
                  sumstats_options=sumstats_options, audit_out=args.audit)

    def outputs(prefix):
        return {"effects": f"{prefix}.effects.tsv.gz", "json": f"{prefix}.json",
                "pgs": f"{prefix}.pgs.txt.gz", "score": f"{prefix}.score.tsv"}

    prefixes = ([args.out] if len(args.ld) == 1 and not spec.tuned else
                [f"{args.out}.chr{LDMatrix(path).attrs.get('chrom', i + 1)}"
                 for i, path in enumerate(args.ld)])
    if spec.tuned:  # all chromosomes in one search, files per chromosome
        if spec.metric == "validation" and not all((args.bfile, args.validation_keep, args.phenotypes)):
            raise VibankError(f"--strategy {spec.strategy} with --metric validation needs --bfile, "
                              "--validation-keep and --phenotypes")
        validation = ((args.bfile, args.validation_keep, args.phenotypes)
                      if spec.metric == "validation" else None)
        table = tune_prs(args.sumstats, args.ld, [outputs(p) for p in prefixes],
                         grid_out=f"{args.out}.grid.tsv", seed=args.seed,
                         validation=validation, **common)
        print(f"{spec.strategy}: {len(table)} fits -> {args.out}.grid.tsv, {args.out}.chr*.*")
        return
    # one chromosome, or several fitted jointly with shared hyperparameters
    model = fit_prs(args.sumstats, args.ld, [outputs(p) for p in prefixes], **common)
    written = f"{args.out}.*" if len(args.ld) == 1 else f"{args.out}.chr*.*"
    flagged = f" [flagged: {', '.join(model.flags_)}]" if model.flags_ else ""
    print(f"{model.result_.stop_reason} after {model.result_.n_iter} iterations: h2 = "
          f"{model.h2_:.4f}, pi = {model.pi_:.3g}{flagged} -> {written}")


def _cmd_qtl(args):
    from vibank.stages.qtl import fit_qtl_chunk

    if (args.chunks is None) != (args.chunk is None):
        raise VibankError("--chunks and --chunk go together (the chunk table and a chunk id)")
    if args.chunks is not None and any(v is not None for v in (args.extract, args.chrom,
                                                                 args.from_bp, args.to_bp)):
        raise VibankError("--chunks selects the variants: leave out --extract, --chrom, "
                          "--from-bp and --to-bp")
    if args.covariate_names is not None and args.covariates is None:
        raise VibankError("--covariate-names needs --covariates")
    anneal = (None if args.anneal == "none" else
              (QTL_ANNEAL_NAMES[args.anneal], args.anneal_t0,
               args.anneal_rungs))
    thinned = args.cavi != "full" if args.thinned_elbo is None else args.thinned_elbo
    options = {"p0": (args.p0_mean, args.p0_variance), "epsilon_scheme": args.epsilon_scheme,
               "alpha": args.alpha, "min_epsilon": args.min_epsilon,
               "start_partial": args.start_partial, "thinned_elbo": thinned, "anneal": anneal,
               "tol": args.tol, "max_iter": args.max_iter, "seed": args.seed}
    out = {name: f"{args.out}.{name}" for name in
           ("associations.tsv.gz", "calls.tsv", "hotspots.tsv", "json")}
    run = fit_qtl_chunk(
        args.bfile, args.proteins, out_table=out["associations.tsv.gz"], out_json=out["json"],
        out_calls=out["calls.tsv"], out_hotspots=out["hotspots.tsv"], chunk_table=args.chunks,
        chunk=args.chunk, extract=args.extract, chrom=args.chrom, from_bp=args.from_bp,
        to_bp=args.to_bp, covariates_path=args.covariates,
        covariate_names=args.covariate_names.split(",") if args.covariate_names else None,
        cavi=args.cavi, model_options=options, min_ppi=args.min_ppi,
        threshold=args.ppi_threshold, fdr_level=args.fdr_level, threads=args.threads)
    stop = "converged" if run["converged"] else f"stopped ({run['stop_reason']})"
    print(f"{stop} after {run['iterations']} iterations: n = {run['n']}, p = "
          f"{run['p_fitted']}, q = {run['q']}; {run['n_calls']} pairs called, {run['n_rows']} "
          f"with PPI >= {args.min_ppi:g} written -> {args.out}.*")
    for message in run["warnings"]:
        print(f"warning: {message}", file=sys.stderr)


def build_parser():
    parser = argparse.ArgumentParser(prog="vibank", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vibank {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="simulate a cohort or phenotypes")
    simsub = sim.add_subparsers(dest="what", required=True)

    c = simsub.add_parser("cohort", help="multi-ancestry cohort (msprime, OutOfAfrica_3G09)")
    c.add_argument("--out", required=True, help="output PLINK prefix")
    c.add_argument("--samples", required=True, help="output sample table (TSV)")
    c.add_argument("--config", help="study config (cohort.simulate and seed are read)")
    c.add_argument("--populations", help="e.g. EUR=6000,AFR=1000,EAS=1000")
    c.add_argument("--n-chromosomes", dest="n_chromosomes", type=int)
    c.add_argument("--chromosome-length", dest="chromosome_length", type=int)
    c.add_argument("--seed", type=int)
    c.add_argument("--jobs", type=int, default=1, help="chromosomes simulated in parallel")
    c.set_defaults(func=_cmd_simulate_cohort)

    p = simsub.add_parser("phenotypes", help="traits with known architecture on a bed file")
    p.add_argument("--bfile", required=True)
    p.add_argument("--samples", required=True, help="sample table (IID POP SEX AGE)")
    p.add_argument("--config", required=True, help="study config (phenotypes.traits is read)")
    p.add_argument("--out-dir", dest="out_dir", required=True)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=_cmd_simulate_phenotypes)

    ld = sub.add_parser("ld", help="compute one chromosome's LD matrix into a Zarr store")
    ld.add_argument("--bfile", required=True, help="PLINK prefix of the reference panel")
    ld.add_argument("--chrom", required=True)
    ld.add_argument("--out", required=True, help="output store (.zarr)")
    ld.add_argument("--keep", help="plink keep file of the panel samples (default: all)")
    ld.add_argument("--estimator", default="windowed",
                    choices=["sample", "windowed", "block", "shrinkage"])
    ld.add_argument("--window-cm", dest="window_cm", type=float,
                    help="windowed: cM window (when no window is given: 0.7 (n_ref / 378)^0.75 "
                         "between 0.5 and 3, e.g. 0.7 for 378 people; block finder: 3)")
    ld.add_argument("--window-kb", dest="window_kb", type=float)
    ld.add_argument("--window-variants", dest="window_variants", type=int)
    ld.add_argument("--taper", default="bartlett", choices=["none", "bartlett"],
                    help="windowed: weight each pair by max(0, 1 - distance / window), which "
                         "keeps the matrix positive semi-definite (default); none: a hard window")
    ld.add_argument("--blocks", help="BED-like LD block file (block estimator; default: "
                    "vibank's block finder on the --window-cm windowed matrix)")
    ld.add_argument("--block-min-variants", dest="block_min_variants", type=int, default=200)
    ld.add_argument("--block-max-variants", dest="block_max_variants", type=int, default=2000)
    ld.add_argument("--cutoff", type=float, default=1e-3, help="shrinkage: drop |r| below this")
    ld.add_argument("--max-dense-variants", dest="max_dense_variants", type=int, default=20000)
    ld.add_argument("--dtype", default="int16", choices=["float32", "float64", "int16", "int8"])
    ld.add_argument("--compute-dtype", dest="compute_dtype", default="float32",
                    choices=["float32", "float64"])
    ld.add_argument("--bias-corrected-ld-score", dest="bias_corrected_ld_score",
                    action="store_true")
    ld.add_argument("--genome-build", dest="genome_build", default="unknown")
    ld.add_argument("--eigenvalues", action="store_true",
                    help="also store each block's extremal eigenvalues (without them, a fit that "
                         "needs them computes the same values from the store: store them when "
                         "many fits will read it)")
    ld.add_argument("--threads", type=int, default=1)
    ld.set_defaults(func=_cmd_ld)

    fit = sub.add_parser("fit", help="fit a VIPRS model on one chromosome or several jointly")
    fit.add_argument("--sumstats", required=True, nargs="+",
                     help="canonical summary statistics (.tsv.gz), one file per chromosome")
    fit.add_argument("--ld", required=True, nargs="+",
                     help="LD store (.zarr) of each chromosome, in the order of --sumstats; "
                          "several chromosomes are fitted jointly with shared hyperparameters")
    fit.add_argument("--out", required=True,
                     help="output prefix (.effects.tsv.gz, .json, ...; .chr<N>.* for several)")
    # defaults: vibank.prs.spec.ModelSpec (None here means "the spec's default")
    fit.add_argument("--prior", choices=list(PRIOR_OPTIONS),
                     help=f"effect prior (default {ModelSpec.prior})")
    fit.add_argument("--n-components", dest="n_components", type=int,
                     help=f"slabs of the mixture prior (default {ModelSpec.n_components})")
    fit.add_argument("--alpha", type=float,
                     help=f"alpha of the alpha prior (default {ModelSpec.alpha})")
    fit.add_argument("--fit-alpha", dest="fit_alpha", action="store_true", default=None,
                     help="fit alpha in the M-step")
    fit.add_argument("--ld-noise", dest="ld_noise", choices=["auto", "none"],
                     help="LD-reference noise term: auto fits with the effective sample size "
                          "1/(1/N + h2_w/n_ref) given the LD panel's size; none with N as given "
                          f"(default {ModelSpec.ld_noise})")
    fit.add_argument("--accelerate", choices=["squarem", "none"],
                     help="squarem: extrapolate the VEM fixed point once the sweeps have settled "
                          "(fewer sweeps to the plain iterations' fixed point); none: plain "
                          f"iterations (default {ModelSpec.accelerate})")
    fit.add_argument("--dtype", choices=["float32", "float64"],
                     help="state type of a VEM fit (default float64; viprs fits in float32)")
    fit.add_argument("--model-name", dest="model_name", default="viprs")
    fit.add_argument("--strategy", choices=list(STRATEGIES),
                     help="hyperparameters: variational EM, grid search, model averaging or "
                          "Bayesian optimisation over pi (the last three fit all --ld together; "
                          f"default {ModelSpec.strategy})")
    fit.add_argument("--metric", choices=list(METRICS),
                     help="selection metric of gs and bo: validation genotypes (--bfile, "
                          "--validation-keep, --phenotypes), pseudo (a held-out share of the "
                          "summary statistics, no genotypes) or the ELBO "
                          f"(default {ModelSpec.metric})")
    fit.add_argument("--pseudo-training-fraction", dest="pseudo_training_fraction",
                     type=float, help="metric pseudo: share of the GWAS N the grid fits see "
                                      f"(default {ModelSpec.pseudo_training_fraction})")
    fit.add_argument("--grid-size", dest="grid_size", type=int,
                     help=f"values of pi in the grid (default {ModelSpec.grid_size})")
    fit.add_argument("--bo-calls", dest="bo_calls", type=int,
                     help=f"evaluations of bo (default {ModelSpec.bo_calls})")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--bfile", help="genotypes of the validation samples (PLINK prefix)")
    fit.add_argument("--validation-keep", dest="validation_keep",
                     help="plink --keep file of the validation samples")
    fit.add_argument("--phenotypes", help="phenotype table (FID IID <trait> ...)")
    fit.add_argument("--trait", default="trait")
    fit.add_argument("--threads", type=int, default=1)
    fit.add_argument("--min-overlap", dest="min_overlap", type=float, default=0.75)
    fit.add_argument("--max-iter", dest="max_iter", type=int,
                     help=f"maximum VEM iterations (default {ModelSpec.max_iter})")
    fit.add_argument("--format", default="auto", choices=["auto", *FORMATS],
                     help="summary-statistics format (auto: detected from the header)")
    fit.add_argument("--n", type=float, help="GWAS sample size where the file gives none")
    fit.add_argument("--audit", help="write the per-variant harmonisation audit here (TSV)")
    fit.add_argument("--keep-ambiguous", dest="keep_ambiguous", action="store_true",
                     help="orient A/T and C/G SNPs by allele frequency instead of dropping them")
    fit.add_argument("--strand", choices=["check", "same"], default="check",
                     help="check: alleles may be on the other strand (complements pair up, "
                          "A/T and C/G SNPs are dropped or oriented by frequency); same: the "
                          "GWAS was run on the LD panel's genotype files (alleles as they read, "
                          "A/T and C/G SNPs kept)")
    fit.add_argument("--allow-low-overlap", dest="allow_low_overlap", action="store_true",
                     help="warn instead of refusing when few variants match the LD panel")
    fit.add_argument("--mismatch-filter", dest="mismatch_filter", action="store_true",
                     help="remove variants whose z-score disagrees with the LD of their "
                          "neighbours before fitting (audited as ld_mismatch)")
    fit.add_argument("--grid-max-iter", dest="grid_max_iter", type=int,
                     help="maximum iterations of each fit of gs, bma and bo "
                          f"(default {ModelSpec.grid_max_iter})")
    fit.set_defaults(func=_cmd_fit)

    qtl = sub.add_parser(
        "qtl", help="map pQTLs of one chunk of variants against every protein (atlasQTL)",
        description="Fit atlasQTL (adaptive-focus CAVI by default) to one chunk of variants "
                    "(about 1,000 contiguous LD-pruned variants) against every protein; write "
                    "OUT.associations.tsv.gz (variant x protein pairs with PPI >= --min-ppi), "
                    "OUT.calls.tsv, OUT.hotspots.tsv and OUT.json. The workflow's rule "
                    "fit_qtl_chunk runs the same function.")
    qtl.add_argument("--bfile", "--pfile", dest="bfile", required=True,
                     help="PLINK prefix of the genotypes: .pgen/.pvar/.psam when the .pgen "
                          "exists (hard calls), else .bed/.bim/.fam; the counted allele is A1")
    qtl.add_argument("--proteins", required=True,
                     help="table FID IID <protein>... (FID optional; tab- or space-separated; "
                          "NA for a missing value); samples matched to the genotypes by IID")
    qtl.add_argument("--covariates", help="table FID IID <covariate>... the proteins are "
                                          "residualised on (with an intercept) before the fit")
    qtl.add_argument("--covariate-names", dest="covariate_names",
                     help="comma-separated columns of --covariates (default: all)")
    qtl.add_argument("--out", required=True, help="output prefix")
    chunk = qtl.add_argument_group("the chunk (default: every variant of the fileset)")
    chunk.add_argument("--chunks", help="chunk table (SNP ... CHUNK, as the workflow's "
                                        "results/qtl/chunks/chr<c>.tsv) ...")
    chunk.add_argument("--chunk", type=int, help="... and the chunk of it to fit")
    chunk.add_argument("--extract", help="file of variant IDs, one a line")
    chunk.add_argument("--chrom", help="variants of this chromosome ...")
    chunk.add_argument("--from-bp", dest="from_bp", type=int, help="... from this position")
    chunk.add_argument("--to-bp", dest="to_bp", type=int, help="... to this one (inclusive)")
    model = qtl.add_argument_group("model (defaults: vibank.qtl.AtlasQTL)")
    model.add_argument("--cavi", default="adaptive", choices=list(QTL_MODES),
                       help="adaptive focus, random focus or full CAVI (default adaptive)")
    model.add_argument("--thinned-elbo", dest="thinned_elbo",
                       action=argparse.BooleanOptionalAction,
                       help="thin the ELBO evaluations after --start-partial (default: yes for "
                            "adaptive and random, no for full)")
    model.add_argument("--p0-mean", dest="p0_mean", type=float, default=1.0,
                       help="prior mean number of variants per protein (default 1)")
    model.add_argument("--p0-variance", dest="p0_variance", type=float, default=4.0,
                       help="its prior variance (default 4)")
    model.add_argument("--epsilon-scheme", dest="epsilon_scheme", default="iteration",
                       choices=list(EPSILON_SCHEMES), help="exploration of adaptive focus")
    model.add_argument("--alpha", type=float, default=0.95,
                       help="geometric decay of epsilon (iteration scheme; default 0.95)")
    model.add_argument("--min-epsilon", dest="min_epsilon", type=float, default=0.01,
                       help="floor of epsilon (default 0.01)")
    model.add_argument("--start-partial", dest="start_partial", type=int, default=50,
                       help="first partial iteration of adaptive/random focus (default 50)")
    model.add_argument("--anneal", default="geometric",
                       choices=[*QTL_ANNEAL_NAMES, "none"], help="annealing ladder")
    model.add_argument("--anneal-t0", dest="anneal_t0", type=float, default=2.0,
                       help="initial temperature (default 2)")
    model.add_argument("--anneal-rungs", dest="anneal_rungs", type=int, default=10,
                       help="tempered iterations (default 10)")
    model.add_argument("--tol", type=float, default=0.01,
                       help="tolerance on the ELBO difference (default 0.01)")
    model.add_argument("--max-iter", dest="max_iter", type=int, default=3000)
    model.add_argument("--seed", type=int, default=0)
    model.add_argument("--threads", type=int, default=1, help="OpenMP threads of the core loop")
    calls = qtl.add_argument_group("outputs")
    calls.add_argument("--min-ppi", dest="min_ppi", type=float, default=0.0,
                       help="write only the pairs with PPI >= this to the associations table "
                            "(default 0: all p x q pairs; calls and hotspots always use them all)")
    calls.add_argument("--ppi-threshold", dest="ppi_threshold", type=float, default=0.5,
                       help="call the pairs with PPI >= this (default 0.5, the median "
                            "probability model) ...")
    calls.add_argument("--fdr-level", dest="fdr_level", type=float,
                       help="... or, when given, those with Bayesian FDR below this")
    qtl.set_defaults(func=_cmd_qtl)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args.func(args)
    except VibankError as err:
        print(f"vibank: error: {err}", file=sys.stderr)
        return 1
    except TypeError as err:  # unknown keys in a config section reach the dataclasses here
        if "unexpected keyword argument" in str(err):
            print(f"vibank: error: config: {err}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
