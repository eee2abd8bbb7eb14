import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def validate_config(config):
    """Validate against the schema (filling defaults); report the first problem in one line."""
    try:
        validate(config, workflow.source_path("../schemas/config.schema.yaml"))
    except WorkflowError as err:
        cause = err.__context__  # the jsonschema ValidationError
        if not hasattr(cause, "absolute_path"):
            raise
        where = ".".join(str(p) for p in cause.absolute_path) or "top level"
        files = ", ".join(str(f) for f in workflow.configfiles)
        raise WorkflowError(
            f"{files}: config error at {where}: {cause.message}"
        ) from None


validate_config(config)

TRAITS = list(config["phenotypes"]["traits"])
FOLDS = [str(k) for k in range(1, config["splits"]["n_folds"] + 1)]
SIMULATED_COHORT = config["cohort"]["source"] == "simulate"
SIMULATED_PHENOTYPES = config["phenotypes"]["source"] == "simulate"
QC = "results/qc/qc"


def get_chromosomes():
    """Chromosomes of the study: 1..n for the simulation, else those in the input .bim."""
    if SIMULATED_COHORT:
        return [
            str(c) for c in range(1, config["cohort"]["simulate"]["n_chromosomes"] + 1)
        ]
    bim = pd.read_csv(
        config["cohort"]["bfile"] + ".bim", sep=r"\s+", header=None, usecols=[0]
    )
    return [str(c) for c in pd.unique(bim[0].astype(str))]


CHROMS = get_chromosomes()


LD_PANELS = list(config["ld"]["panels"])
if config["prs"]["ld_panel"] not in LD_PANELS:
    raise WorkflowError(
        f"config error at prs.ld_panel: {config['prs']['ld_panel']!r} is not one of ld.panels"
    )
MODELS = list(config["prs"]["models"])
for _model, _spec in config["prs"]["models"].items():
    _unknown = sorted(set(_spec.get("traits") or []) - set(TRAITS))
    if _unknown:
        raise WorkflowError(
            f"config error at prs.models.{_model}.traits: {_unknown[0]!r} is not one of "
            "phenotypes.traits"
        )
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


def one_of(names):
    """Wildcard constraint matching exactly these names (nothing when there are none: an
    empty constraint would match anything)."""
    return "|".join(names) or "(?!)"


wildcard_constraints:
    trait="|".join(TRAITS),
    ld_panel="|".join(LD_PANELS),
    model="|".join(MODELS),
    fold="|".join(FOLDS),
    chrom="|".join(CHROMS),


def get_raw_bfile():
    """PLINK prefix of the genotypes before QC."""
    return "results/cohort/raw" if SIMULATED_COHORT else config["cohort"]["bfile"]


def get_raw_genotypes(wildcards=None):
    prefix = get_raw_bfile()
    return {ext: f"{prefix}.{ext}" for ext in ("bed", "bim", "fam")}


def get_sample_table():
    if SIMULATED_COHORT:
        return "results/cohort/samples.tsv"
    return config["cohort"]["sample_table"]


def get_qc_genotypes(wildcards=None):
    return {ext: f"{QC}.{ext}" for ext in ("bed", "bim", "fam")}


def is_binary(trait):
    return config["phenotypes"]["traits"][trait]["type"] == "binary"


def get_binary_traits():
    return [t for t in TRAITS if is_binary(t)]


def get_covariate_names():
    """Covariate columns handed to plink2 --glm."""
    names = []
    for item in config["gwas"]["covariates"]:
        if item == "PCS":
            names += [f"PC{k}" for k in range(1, config["pca"]["n_pcs"] + 1)]
        else:
            names.append(item)
    return names


def mem_mb_for(base_mb, per_gb_input=0):
    """Memory request growing with input size and with each retry (attempt)."""

    def mem(wildcards, input, attempt):
        return int((base_mb + per_gb_input * input.size_mb / 1024) * attempt)

    return mem


def runtime_for(base_min, per_gb_input=0):
    """Wall-time request (minutes) growing with input size and with each retry (attempt)."""

    def runtime(wildcards, input, attempt):
        return int((base_min + per_gb_input * input.size_mb / 1024) * attempt)

    return runtime


def get_gwas_is_binary(wildcards):
    return is_binary(wildcards.trait)


def get_gwas_keys():
    """(trait, fold, chrom) of every GWAS, in the order of get_gwas_sumstats()."""
    return [(t, f, c) for t in TRAITS for f in FOLDS for c in CHROMS]


def get_gwas_sumstats(wildcards=None):
    return [
        f"results/gwas/{t}/fold{f}/chr{c}.sumstats.tsv.gz"
        for t, f, c in get_gwas_keys()
    ]


def get_ld_estimator(wildcards):
    return config["ld"]["panels"][wildcards.ld_panel]


def get_ld_stores(wildcards=None):
    return expand(
        "results/ld/{ld_panel}/chr{chrom}.zarr", ld_panel=LD_PANELS, chrom=CHROMS
    )


def get_prs_ld_store(wildcards):
    panel = config["prs"]["ld_panel"]
    return f"results/ld/{panel}/chr{wildcards.chrom}.zarr"


def get_prs_ld_stores_all(wildcards):
    panel = config["prs"]["ld_panel"]
    return [f"results/ld/{panel}/chr{chrom}.zarr" for chrom in CHROMS]


def get_prs_sumstats_all(wildcards):
    return [
        f"results/gwas/{wildcards.trait}/fold{wildcards.fold}/chr{chrom}.sumstats.tsv.gz"
        for chrom in CHROMS
    ]


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
    """The traits a model is fitted to (``traits`` in its config, default all)."""
    return config["prs"]["models"][model].get("traits") or TRAITS


def get_prs_fits(wildcards=None):
    return [
        f"results/prs/{model}/{trait}/fold{fold}/chr{chrom}.json"
        for model in MODELS
        for trait in model_traits(model)
        for fold in FOLDS
        for chrom in CHROMS
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
    return [(m, t, f) for m in MODELS for t in model_traits(m) for f in FOLDS]


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
    """Every scored set as a dict: model, trait, fold, target, sscore and json paths."""
    runs = []
    for m, t, f, s in get_score_keys():
        prefix = f"results/eval/scores/{m}/{t}/fold{f}/{s}"
        runs.append(
            dict(
                model=m,
                trait=t,
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


def get_final_outputs():
    return [
        *FIGURE_OUTPUTS,
        *EVAL_TABLES,
        *get_prs_fits(),
        *get_ld_stores(),
        "results/qc/qc_summary.tsv",
        "results/gwas/gwas_summary.tsv",
        *get_gwas_sumstats(),
        *QTL_OUTPUTS,
    ]
