# Helpers of the PRS fits, scoring and evaluation (rules prs.smk, evaluate.smk, external.smk).
MODELS = list(config["prs"]["models"])


def config_error(where, message):
    return WorkflowError(f"config error at {where}: {message}")


for _model, _spec in config["prs"]["models"].items():
    _unknown = sorted(set(_spec.get("traits") or []) - set(FIT_TRAITS))
    if _unknown:
        raise config_error(
            f"prs.models.{_model}.traits",
            f"{_unknown[0]!r} is not one of phenotypes.traits or external_gwas",
        )
for _name, _ext in EXTERNAL.items():
    _where = f"external_gwas.{_name}"
    if _name in TRAITS:
        raise config_error(_where, "the name is already a phenotypes.traits entry")
    for _key, _value, _allowed in (
        ("phenotype", _ext["phenotype"], TRAITS),
        ("simulate_from.trait", (_ext["simulate_from"] or {}).get("trait"), TRAITS),
        *((("models", _m, MODELS) for _m in _ext["models"] or [])),
        *((("folds", str(_f), FOLDS) for _f in _ext["folds"] or [])),
        (
            "simulate_from.fold",
            str((_ext["simulate_from"] or {}).get("fold", 1)),
            FOLDS,
        ),
    ):
        if _value is not None and _value not in _allowed:
            raise config_error(
                f"{_where}.{_key}", f"{_value!r} is not one of {_allowed}"
            )
    if not _ext["file"] and not _ext["simulate_from"]:
        raise config_error(_where, "give file (or simulate_from for the demo)")
# variational EM fits one chromosome per job (or the genome when prs.genome_wide); the tuned
# strategies (gs, bma, bo) fit all chromosomes of a trait and fold in one job
# baselines (ldpred-inf, gibbs, ct) likewise fit a trait and fold in one job
_SPECS = config["prs"]["models"]
VEM_MODELS = [
    m for m, s in _SPECS.items() if s["method"] == "viprs" and s["strategy"] == "vem"
]
TUNED_MODELS = [
    m for m, s in _SPECS.items() if s["method"] == "viprs" and s["strategy"] != "vem"
]
BASELINE_MODELS = [m for m, s in _SPECS.items() if s["method"] != "viprs"]


def get_prs_ld_store(wildcards):
    panel = config["prs"]["ld_panel"]
    return f"results/ld/{panel}/chr{wildcards.chrom}.zarr"


def get_prs_ld_stores_all(wildcards):
    panel = config["prs"]["ld_panel"]
    return [f"results/ld/{panel}/chr{chrom}.zarr" for chrom in CHROMS]


def sumstats_path(trait, fold, chrom):
    """A fit's summary statistics: the study's GWAS of the fold, or an external file
    harmonised to the LD panel (by harmonise_external)."""
    if trait in EXTERNAL:
        return f"results/external/{trait}/chr{chrom}.sumstats.tsv.gz"
    return f"results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz"


def get_prs_sumstats(wildcards):
    return sumstats_path(wildcards.trait, wildcards.fold, wildcards.chrom)


def get_prs_sumstats_all(wildcards):
    return [sumstats_path(wildcards.trait, wildcards.fold, c) for c in CHROMS]


def phenotype_of(trait):
    """The study phenotype a fit trait is evaluated on (itself, or an external GWAS's)."""
    return EXTERNAL[trait]["phenotype"] if trait in EXTERNAL else trait


def get_phenotype(wildcards):
    return phenotype_of(wildcards.trait)


def get_binary_fit_traits():
    """Fit traits (phenotypes and external GWAS) whose phenotype is binary."""
    return [t for t in FIT_TRAITS if is_binary(phenotype_of(t))]


def get_sumstats_options(wildcards):
    """Harmonisation and LD-mismatch filter settings of a fit (prs.harmonise,
    prs.mismatch_filter, an external entry's mismatch_filter)."""
    filter_options = dict(config["prs"]["mismatch_filter"])
    enabled = filter_options.pop("enabled")
    if (
        wildcards.trait in EXTERNAL
        and EXTERNAL[wildcards.trait]["mismatch_filter"] is not None
    ):
        enabled = EXTERNAL[wildcards.trait]["mismatch_filter"]
    # the study's GWAS comes from the panel's own genotype files, and an external file was
    # harmonised to the panel (by harmonise_external): alleles are on the panel's strand
    return {
        "harmonise_options": {**config["prs"]["harmonise"], "strand": "same"},
        "mismatch_filter": filter_options if enabled else None,
    }


def get_external_harmonise_options(wildcards):
    """prs.harmonise with the external entry's keep_ambiguous, strands checked."""
    options = {**config["prs"]["harmonise"], "strand": "check"}
    if EXTERNAL[wildcards.trait]["keep_ambiguous"] is not None:
        options["keep_ambiguous"] = EXTERNAL[wildcards.trait]["keep_ambiguous"]
    return options


def get_prs_prior(wildcards):
    return config["prs"]["models"][wildcards.model]["prior"]


def get_prs_prior_options(wildcards):
    """VIPRS options of the model's prior (n_components, alpha, ...)."""
    spec = config["prs"]["models"][wildcards.model]
    if spec["prior"] == "mixture":
        keys = ("n_components", "update_components")
    elif spec["prior"] == "alpha":
        keys = ("alpha", "fit_alpha")
    else:
        keys = ()
    return {key: spec[key] for key in keys}


def get_prs_strategy(wildcards):
    spec = config["prs"]["models"][wildcards.model]
    return {key: spec[key] for key in ("strategy", "metric", "grid_size", "bo_calls")}


def get_baseline(wildcards):
    """Method and settings of a baseline model."""
    spec = config["prs"]["models"][wildcards.model]
    keys = ("grid_size", "h2_multipliers", "n_burnin", "n_samples", "p_thresholds")
    return {
        "method": spec["method"],
        "options": {k: spec[k] for k in keys if k in spec},
    }


def model_traits(model):
    """The traits a model is fitted to: ``traits`` in its config (default all phenotypes and
    the external GWAS whose ``models`` name it or are unset)."""
    listed = config["prs"]["models"][model].get("traits")
    if listed:
        return listed
    return TRAITS + [t for t, e in EXTERNAL.items() if model in (e["models"] or MODELS)]


def trait_folds(trait):
    """The folds a trait is fitted and evaluated on (an external GWAS's ``folds``)."""
    folds = EXTERNAL[trait]["folds"] if trait in EXTERNAL else None
    return [str(f) for f in folds] if folds else FOLDS


def get_prs_fits(wildcards=None):
    return [
        f"results/prs/{m}/{t}/fold{f}/chr{c}.json"
        for m, t, f in get_fit_keys()
        for c in CHROMS
    ]


# -- evaluation (rules/evaluate.smk) --------------------------------------------------------
TARGET_POPULATIONS = list(config["splits"]["target_populations"])
EVAL_TARGETS = ["test", "validation", *TARGET_POPULATIONS]
EVAL_TABLES = [
    f"results/eval/{name}.tsv"
    for name in ("metrics", "cv_summary", "transfer", "h2", "runtime")
]


def get_fit_keys():
    """(model, trait, fold) of every PRS fit."""
    return [(m, t, f) for m in MODELS for t in model_traits(m) for f in trait_folds(t)]


def get_score_keys():
    """(model, trait, fold, target) of every scored sample set."""
    return [(m, t, f, s) for m, t, f in get_fit_keys() for s in EVAL_TARGETS]


def get_prs_score_files(wildcards):
    prefix = f"results/prs/{wildcards.model}/{wildcards.trait}/fold{wildcards.fold}"
    return [f"{prefix}/chr{chrom}.score.tsv" for chrom in CHROMS]


def get_target_keeps_of_fold(wildcards):
    """Keep files of the scored sets of a fold, in EVAL_TARGETS order: the fold's test and
    validation samples, then the target populations."""
    fold = f"results/splits/fold{wildcards.fold}"
    return [
        (
            f"{fold}/{s}.keep"
            if s in ("test", "validation")
            else f"results/splits/target_{s}.keep"
        )
        for s in EVAL_TARGETS
    ]


def get_eval_runs():
    """Every scored set as a dict: model, trait, phenotype, fold, target, sscore and json
    paths."""
    runs = []
    for m, t, f, s in get_score_keys():
        prefix = f"results/eval/scores/{m}/{t}/fold{f}/{s}"
        runs.append(
            dict(
                model=m,
                trait=t,
                phenotype=phenotype_of(t),
                fold=f,
                target=s,
                sscore=f"{prefix}.sscore",
                json=f"{prefix}.json",
            )
        )
    return runs


def get_eval_scores(kind):
    """Paths of kind "sscore" (score tables) or "json" (overlap summaries) of get_eval_runs()."""
    return [run[kind] for run in get_eval_runs()]


def get_fit_entries():
    """Every fit as a dict: model, trait, fold, json (per-chromosome fit JSONs), rule and
    benchmark paths (one per chromosome for per-chromosome fits)."""
    entries = []
    for m, t, f in get_fit_keys():
        if m not in VEM_MODELS:
            producer = "tune_prs" if m in TUNED_MODELS else "fit_baseline"
        else:
            producer = "fit_prs_genome" if config["prs"]["genome_wide"] else "fit_prs"
        if producer == "fit_prs":
            paths = [f"benchmarks/fit_prs/{m}/{t}/fold{f}/chr{c}.tsv" for c in CHROMS]
        else:
            paths = [f"benchmarks/{producer}/{m}/{t}/fold{f}.tsv"]
        jsons = [f"results/prs/{m}/{t}/fold{f}/chr{c}.json" for c in CHROMS]
        entries.append(
            {
                "model": m,
                "trait": t,
                "phenotype": phenotype_of(t),
                "fold": f,
                "json": jsons,
                "rule": producer,
                "paths": paths,
            }
        )
    return entries


def get_fit_benchmarks(wildcards=None):
    return [path for entry in get_fit_entries() for path in entry["paths"]]


def get_fold_keeps(role):
    """{fold: keep file} of the folds' train, validation or test samples."""
    return {f: f"results/splits/fold{f}/{role}.keep" for f in FOLDS}


def get_target_keeps():
    """{population: keep file} of the ancestry-transfer targets."""
    return {p: f"results/splits/target_{p}.keep" for p in TARGET_POPULATIONS}


def get_traits_summary():
    """The simulation's true h2 and pi per trait (none for phenotypes from a file)."""
    return "results/phenotypes/traits.tsv" if SIMULATED_PHENOTYPES else []
