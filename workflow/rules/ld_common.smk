# Helpers of the LD panels (rules/ld.smk, and wherever LD stores are read): where each
# panel's LD comes from (ld.panels.<name>.source) and where its stores are.
LD_PANELS = list(config["ld"]["panels"])
if config["prs"]["ld_panel"] not in LD_PANELS:
    raise WorkflowError(
        f"config error at prs.ld_panel: {config['prs']['ld_panel']!r} is not one of ld.panels"
    )
# where each panel's LD comes from (ld.panels.<name>.source): the study's held-out samples,
# an external PLINK reference, or precomputed stores used as they are
LD_SOURCE = {
    p: spec.get("source", "study") for p, spec in config["ld"]["panels"].items()
}
COMPUTED_PANELS = [p for p in LD_PANELS if LD_SOURCE[p] != "stores"]
REFERENCE_PANELS = [p for p in LD_PANELS if LD_SOURCE[p] == "plink"]
# keys of an ld.panels entry that say where the panel comes from, not how LD is estimated
LD_SOURCE_KEYS = ("source", "bfile", "keep", "sample_table", "population", "qc", "path")


def check_ld_panels():
    """A one-line error for an ld.panels entry whose files are missing."""
    for name, spec in config["ld"]["panels"].items():
        where = f"config error at ld.panels.{name}"
        if LD_SOURCE[name] == "study" and not STUDY:
            raise WorkflowError(
                f"{where}: source study needs the study's genotypes (cohort.source is none); "
                "use source plink or stores"
            )
        if LD_SOURCE[name] == "plink":
            bfile = spec.get("bfile")
            if not bfile or not Path(f"{bfile}.bed").exists():
                raise WorkflowError(f"{where}.bfile: {bfile}.bed not found")
            for key in ("keep", "sample_table"):
                if spec.get(key) and not Path(spec[key]).exists():
                    raise WorkflowError(f"{where}.{key}: {spec[key]} not found")
            if spec.get("population") and not spec.get("sample_table"):
                raise WorkflowError(f"{where}: population needs a sample_table")
        elif LD_SOURCE[name] == "stores":
            pattern = spec.get("path") or ""
            if "{chrom}" not in pattern:
                raise WorkflowError(f"{where}.path: {pattern!r} must contain {{chrom}}")
            for chrom in CHROMS:
                if not Path(pattern.format(chrom=chrom)).exists():
                    raise WorkflowError(
                        f"{where}.path: {pattern.format(chrom=chrom)} not found "
                        f"(chromosome {chrom} of the study)"
                    )


check_ld_panels()


def ld_store_path(panel, chrom):
    """The LD store of a panel and chromosome: computed under results/ld, or the user's."""
    if LD_SOURCE[panel] == "stores":
        return config["ld"]["panels"][panel]["path"].format(chrom=chrom)
    return f"results/ld/{panel}/chr{chrom}.zarr"


def get_ld_genotypes(wildcards):
    """The genotypes (and, for the study's panel, the keep file) a panel's LD is computed on."""
    if LD_SOURCE[wildcards.ld_panel] == "plink":
        prefix = f"results/ld/{wildcards.ld_panel}/reference"
        return {ext: f"{prefix}.{ext}" for ext in ("bed", "bim", "fam")}
    return {**get_qc_genotypes(), "keep": "results/splits/ld_panel.keep"}


def get_reference_target():
    """What an external panel is matched to before LD: the study's QC'd .bim, or without a
    study the target biobank's .bim/.pvar (none without either)."""
    if STUDY:
        return [f"{QC}.bim"]
    prefix = config["target"]["genotypes"]
    if not prefix:
        return []
    files = plink_files(prefix)
    return [files.get("pvar", files.get("bim"))]


def get_reference_gwas():
    """Without a study, the external GWAS files (path, format, column_map) whose sites an
    external panel is restricted to before LD."""
    if STUDY:
        return []
    return [(e["file"], e["format"], e["column_map"]) for e in EXTERNAL.values()]


def get_reference_gwas_files():
    return [path for path, _, _ in get_reference_gwas()]


def get_ld_estimator(wildcards):
    """The estimator and its parameters of a panel (without where the panel comes from)."""
    spec = config["ld"]["panels"][wildcards.ld_panel]
    return {k: v for k, v in spec.items() if k not in LD_SOURCE_KEYS}


def get_ld_stores(wildcards=None):
    """Every panel's stores, panel by panel, in chromosome order."""
    return [ld_store_path(p, c) for p in LD_PANELS for c in CHROMS]
