# Helpers of the scoring-file and target-biobank rules (rules/target.smk).
TARGET = config["target"]


def get_target_genotypes(wildcards=None):
    """The target biobank's genotype files (bed/bim/fam or pgen/pvar/psam)."""
    return plink_files(TARGET["genotypes"])


def target_phenotype(trait):
    """The target phenotypes column a fit trait is evaluated on."""
    if trait in TARGET["phenotype_columns"]:
        return TARGET["phenotype_columns"][trait]
    if trait in EXTERNAL and EXTERNAL[trait]["phenotype"]:
        return EXTERNAL[trait]["phenotype"]
    return trait


def get_target_runs(wildcards=None):
    """What evaluate_target reads for each fit: its keys, phenotype column and score files."""
    runs = []
    for m, t, f in get_fit_keys():
        prefix = f"results/target/scores/{m}/{t}/fold{f}"
        runs.append(
            {
                "model": m,
                "trait": t,
                "fold": f,
                "phenotype": target_phenotype(t),
                "sscore": f"{prefix}.sscore",
                "json": f"{prefix}.json",
            }
        )
    return runs


def get_ancestry_reference():
    """The labelled reference of the target's ancestry assignment (None: no assignment)."""
    reference = TARGET["ancestry"]["reference"]
    if reference == "study":
        return QC
    return reference


def get_ancestry_labels():
    if TARGET["ancestry"]["reference"] == "study":
        return TARGET["ancestry"]["labels"] or get_sample_table()
    return TARGET["ancestry"]["labels"]


def get_ancestry_reference_files(wildcards=None):
    return list(plink_files(get_ancestry_reference()).values())


def get_target_groups():
    """The target's group table: given, assigned by projection, or none."""
    if TARGET["groups"]:
        return TARGET["groups"]
    if TARGET["ancestry"]["reference"]:
        return "results/target/ancestry.tsv"
    return None


def get_target_outputs():
    """Target scores of every fit, and their metrics when the target has phenotypes."""
    if not TARGET["genotypes"]:
        return []
    scores = [
        f"results/target/scores/{m}/{t}/fold{f}.sscore" for m, t, f in get_fit_keys()
    ]
    return scores + (["results/target/metrics.tsv"] if TARGET["phenotypes"] else [])


if TARGET["genotypes"]:
    _files = get_target_genotypes()
    for _ext, _path in _files.items():
        if not Path(_path).exists():
            raise config_error("target.genotypes", f"{_path} not found")
    for _key in ("phenotypes", "covariates", "groups"):
        if TARGET[_key] and not Path(TARGET[_key]).exists():
            raise config_error(f"target.{_key}", f"{TARGET[_key]} not found")
    _ancestry = TARGET["ancestry"]
    if _ancestry["reference"] == "study" and not STUDY:
        raise config_error(
            "target.ancestry.reference", "study needs the study's genotypes"
        )
    if _ancestry["reference"] not in (None, "study"):
        if not any(
            Path(f"{_ancestry['reference']}.{e}").exists() for e in ("bed", "pgen")
        ):
            raise config_error(
                "target.ancestry.reference",
                f"{_ancestry['reference']}.bed/.pgen not found",
            )
        if not _ancestry["labels"] or not Path(_ancestry["labels"]).exists():
            raise config_error(
                "target.ancestry.labels",
                f"{_ancestry['labels']} not found (IID POP table)",
            )
