import pandas as pd
from pathlib import Path
from snakemake.exceptions import WorkflowError

# a study has genotypes (cohort.source simulate or plink); without them (source: none) the
# workflow fits external summary statistics against an external or published LD reference
# and writes scoring files: no phenotypes, folds, evaluation or pQTL mapping
STUDY = config["cohort"]["source"] != "none"
TRAITS = list(config["phenotypes"]["traits"]) if STUDY else []
# external summary statistics (rules/external.smk) are fitted and evaluated like traits
EXTERNAL = config["external_gwas"]
for _entry in EXTERNAL.values():
    _entry.setdefault(
        "simulate_from", None
    )  # not a schema default (external.schema.yaml)
FIT_TRAITS = TRAITS + list(EXTERNAL)
# a summary-statistics-only study has one "fold": the whole GWAS
FOLDS = (
    [str(k) for k in range(1, config["splits"]["n_folds"] + 1)] if STUDY else ["all"]
)
SIMULATED_COHORT = config["cohort"]["source"] == "simulate"
SIMULATED_PHENOTYPES = STUDY and config["phenotypes"]["source"] == "simulate"
QC = "results/qc/qc"


def get_chromosomes():
    """Chromosomes of the study: 1..n for the simulation, those in the input .bim, or without
    a study those of the fits' LD reference (its .bim, or the stores that exist of 1-22, X).
    """
    if SIMULATED_COHORT:
        return [
            str(c) for c in range(1, config["cohort"]["simulate"]["n_chromosomes"] + 1)
        ]
    bfile = config["cohort"]["bfile"]
    if not STUDY:
        name = config["prs"]["ld_panel"]
        panel = config["ld"]["panels"].get(name, {})
        source = panel.get("source", "study")
        if source == "stores":
            pattern = panel.get("path") or ""
            found = [
                c
                for c in [*map(str, range(1, 23)), "X"]
                if Path(pattern.format(chrom=c)).exists()
            ]
            if not found:
                raise WorkflowError(
                    f"config error at ld.panels.{name}.path: no store {pattern!r} of "
                    "chromosome 1-22 or X exists"
                )
            return found
        if source != "plink":
            raise WorkflowError(
                f"config error at prs.ld_panel: {name!r} must be an ld.panels entry of "
                "source plink or stores when there is no study (cohort.source: none)"
            )
        bfile = panel.get("bfile") or ""
    if not Path(f"{bfile}.bim").exists():
        raise WorkflowError(f"config error: {bfile}.bim not found")
    bim = pd.read_csv(f"{bfile}.bim", sep=r"\s+", header=None, usecols=[0])
    return [str(c) for c in pd.unique(bim[0].astype(str))]


CHROMS = get_chromosomes()


def one_of(names):
    """Wildcard constraint matching exactly these names (nothing when there are none: an
    empty constraint would match anything)."""
    return "|".join(names) or "(?!)"


wildcard_constraints:
    trait="|".join(FIT_TRAITS),
    model="|".join(config["prs"]["models"]),
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


def plink_files(prefix):
    """A genotype fileset's files by extension: .pgen/.pvar/.psam when the .pgen exists (a
    PLINK 2 fileset), else .bed/.bim/.fam."""
    exts = (
        ("pgen", "pvar", "psam")
        if Path(f"{prefix}.pgen").exists()
        else ("bed", "bim", "fam")
    )
    return {ext: f"{prefix}.{ext}" for ext in exts}


def get_qc_genotypes(wildcards=None):
    return {ext: f"{QC}.{ext}" for ext in ("bed", "bim", "fam")}


def is_binary(trait):
    return config["phenotypes"]["traits"][trait]["type"] == "binary"


def get_binary_traits():
    return [t for t in TRAITS if is_binary(t)]


def get_covariate_names():
    """Covariate columns handed to plink2 --glm."""
    names = []
    n_pcs = config["gwas"]["n_pcs"] or config["pca"]["n_pcs"]
    if n_pcs > config["pca"]["n_pcs"]:
        raise WorkflowError(
            f"config error at gwas.n_pcs: {n_pcs} is more than pca.n_pcs "
            f"({config['pca']['n_pcs']} principal components are computed)"
        )
    for item in config["gwas"]["covariates"]:
        if item == "PCS":
            names += [f"PC{k}" for k in range(1, n_pcs + 1)]
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


# (trait, chromosome) of the files one fold's GWAS writes, in the order of its outputs
GWAS_FOLD_KEYS = [(t, c) for t in TRAITS for c in CHROMS]


def get_gwas_keys():
    """(trait, fold, chrom) of every GWAS, in the order of get_gwas_sumstats()."""
    return [(t, f, c) for t in TRAITS for f in FOLDS for c in CHROMS]


def get_gwas_sumstats(wildcards=None):
    return [
        f"results/gwas/{t}/fold{f}/chr{c}.sumstats.tsv.gz"
        for t, f, c in get_gwas_keys()
    ]


def get_final_outputs():
    if not STUDY:
        return [
            *get_prs_fits(),
            *get_scoring_files(),
            *[ld_store_path(p, c) for p in COMPUTED_PANELS for c in CHROMS],
            *get_external_outputs(),
            *get_target_outputs(),
        ]
    return [
        *FIGURE_OUTPUTS,
        *EVAL_TABLES,
        *get_prs_fits(),
        *get_ld_stores(),
        "results/qc/qc_summary.tsv",
        "results/gwas/gwas_summary.tsv",
        *get_gwas_sumstats(),
        *get_external_outputs(),
        *get_target_outputs(),
        *QTL_OUTPUTS,
    ]
