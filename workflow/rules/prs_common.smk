# Helpers of the PRS fits (rules prs.smk, external.smk): models, inputs, options.
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
if not STUDY:
    for _model, _spec in config["prs"]["models"].items():
        if _spec["method"] != "viprs" or (
            _spec["strategy"] in ("gs", "bo") and _spec["metric"] == "validation"
        ):
            raise config_error(
                f"prs.models.{_model}",
                "a study without genotypes (cohort.source: none) fits VIPRS only, and selects "
                "with metric pseudo or elbo: validation and the baselines need the study's "
                "genotypes",
            )
    if not EXTERNAL:
        raise config_error(
            "external_gwas", "a study without genotypes needs a GWAS file"
        )
for _name, _ext in EXTERNAL.items():
    _where = f"external_gwas.{_name}"
    if not STUDY:
        for _key in ("phenotype", "simulate_from", "folds"):
            if _ext[_key]:
                raise config_error(
                    f"{_where}.{_key}",
                    "needs the study's genotypes (cohort.source is none)",
                )
        if not _ext["file"]:
            raise config_error(f"{_where}.file", "give the path of the GWAS file")
        continue
    if _name in TRAITS:
        raise config_error(_where, "the name is already a phenotypes.traits entry")
    if not _ext["phenotype"]:
        raise config_error(
            f"{_where}.phenotype", "name the phenotypes.traits entry it is"
        )
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
# the models by kind: variational EM, the tuned strategies gs, bma, bo, and the baselines
_SPECS = config["prs"]["models"]
VEM_MODELS = [
    m for m, s in _SPECS.items() if s["method"] == "viprs" and s["strategy"] == "vem"
]
TUNED_MODELS = [
    m for m, s in _SPECS.items() if s["method"] == "viprs" and s["strategy"] != "vem"
]
BASELINE_MODELS = [m for m, s in _SPECS.items() if s["method"] != "viprs"]


def get_prs_ld_stores_all(wildcards):
    return [ld_store_path(config["prs"]["ld_panel"], chrom) for chrom in CHROMS]


def sumstats_path(trait, fold, chrom):
    """A fit's summary statistics: the study's GWAS of the fold, or an external file
    harmonised to the LD panel (by harmonise_external)."""
    if trait in EXTERNAL:
        return f"results/external/{trait}/chr{chrom}.sumstats.tsv.gz"
    return f"results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz"


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


def model_settings(model):
    """The model's config entry with prs.grid and the iteration limits: the arguments of
    ``vibank.prs.spec.model_spec``, which the fit script calls (the defaults live there).
    """
    return {
        "entry": config["prs"]["models"][model],
        "grid": config["prs"]["grid"],
        "max_iter": config["prs"]["max_iter"],
        "grid_max_iter": config["prs"]["grid_max_iter"],
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


def get_scoring_files():
    """Genome-wide PGS Catalog and plink2 --score files of every fit."""
    return [
        f"results/scoring/{m}/{t}/fold{f}.{ext}"
        for m, t, f in get_fit_keys()
        for ext in ("pgs.txt.gz", "score.tsv")
    ]
