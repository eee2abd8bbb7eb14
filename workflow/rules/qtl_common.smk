# Config checks, wildcards and input functions of the pQTL rules (rules/qtl.smk): discovery
# samples, LD-pruned contiguous chunks per chromosome, proteins residualised on covariates, one
# atlasQTL fit per chunk and CAVI mode against all proteins, then calls, loci, hotspots,
# evaluation and figures (hotspots, heatmap, runtime, and full vs adaptive CAVI: modes).
QTL = config["qtl"]
QTL_MODES = list(QTL["model"]["cavi_modes"])
QTL_CHROMS = [str(c) for c in QTL["chromosomes"] or CHROMS]
QTL_SIMULATED = QTL["proteins"]["source"] == "simulate"
QTL_FIGURES = "results/figures/qtl"
QTL_FIGURE_NAMES = ["hotspots", "heatmap", "runtime", "modes"]
QTL_ANNEAL = {"geometric": 1, "harmonic": 2, "linear": 3}

if not set(QTL_CHROMS) <= set(CHROMS):
    raise WorkflowError(
        f"config error at qtl.chromosomes: {sorted(set(QTL_CHROMS) - set(CHROMS))[0]!r} "
        "is not a chromosome of the genotypes"
    )
if not QTL_SIMULATED and not QTL["proteins"]["file"]:
    raise WorkflowError(
        "config error at qtl.proteins.file: required when source is file"
    )


wildcard_constraints:
    cavi=one_of(QTL_MODES),
    chunk=r"\d+",


def get_qtl_covariate_names():
    """Covariate columns of results/phenotypes/covariates.tsv the proteins are regressed on."""
    names = []
    for item in QTL["covariates"]:
        if item == "PCS":
            names += [f"PC{k}" for k in range(1, config["pca"]["n_pcs"] + 1)]
        else:
            names.append(item)
    return names


def get_qtl_proteins():
    if QTL_SIMULATED:
        return "results/qtl/proteins/simulated.tsv"
    return QTL["proteins"]["file"]


def get_qtl_protein_table():
    """Gene positions of the proteins (cis/trans labels), if there are any."""
    if QTL_SIMULATED:
        return "results/qtl/proteins/genes.tsv"
    return QTL["proteins"]["protein_table"] or []


def get_qtl_truth():
    return "results/qtl/proteins/true_associations.tsv" if QTL_SIMULATED else []


def get_qtl_model_options(wildcards):
    """AtlasQTL keyword options of a CAVI mode; full CAVI evaluates the ELBO every iteration."""
    m = QTL["model"]
    anneal = m["anneal"]
    return {
        "p0": (m["p0_mean"], m["p0_variance"]),
        "epsilon_scheme": m["epsilon_scheme"],
        "alpha": m["alpha"],
        "min_epsilon": m["min_epsilon"],
        "start_partial": m["start_partial"],
        "thinned_elbo": m["thinned_elbo"] and wildcards.cavi != "full",
        "anneal": (
            (QTL_ANNEAL[anneal["type"]], anneal["t0"], anneal["rungs"])
            if anneal["enabled"]
            else None
        ),
        "tol": m["tol"],
        "max_iter": m["max_iter"],
        "seed": m["seed"],
    }


def get_qtl_chunks(chrom):
    """Chunk ids of a chromosome, read from its chunk table (a checkpoint output)."""
    table = checkpoints.chunk_qtl_variants.get(chrom=chrom).output.table
    return sorted(pd.read_csv(table, sep="\t", usecols=["CHUNK"])["CHUNK"].unique())


def get_qtl_chunk_fits(kind):
    """Per-chunk outputs ("tsv.gz" or "json") of one CAVI mode, every chromosome."""

    def fits(wildcards):
        return [
            f"results/qtl/fits/{wildcards.cavi}/chr{c}/chunk{k}.{kind}"
            for c in QTL_CHROMS
            for k in get_qtl_chunks(c)
        ]

    return fits


def get_qtl_all_jsons(wildcards):
    return [
        f"results/qtl/fits/{m}/chr{c}/chunk{k}.json"
        for m in QTL_MODES
        for c in QTL_CHROMS
        for k in get_qtl_chunks(c)
    ]


QTL_TABLES = ["associations.tsv.gz", "calls.tsv", "loci.tsv", "hotspots.tsv"]
QTL_OUTPUTS = (
    [
        *expand("results/qtl/{cavi}/{name}", cavi=QTL_MODES, name=QTL_TABLES),
        "results/qtl/eval/metrics.tsv",
        "results/qtl/eval/runtime.tsv",
        *expand(
            f"{QTL_FIGURES}/{{name}}.{{ext}}",
            name=QTL_FIGURE_NAMES,
            ext=["png", "pdf"],
        ),
    ]
    if QTL["enabled"] and STUDY
    else []
)


def qtl_chunk_mem_mb(wildcards, input, attempt):
    """Memory of one chunk fit: a 2 GB base and 5x the protein table, which the workflow writes
    tab-separated and the fit parses straight into float64 (5.87 GB peak for a 1.37 GB table at
    1,000 variants x 3,000 proteins x 50,000 samples, docs/benchmarks.md; each retry asks for
    more); not the genome-wide genotypes, of which it reads one chunk."""
    table = Path(input.proteins)
    size_mb = table.stat().st_size / 1e6 if table.exists() else 0.0
    return int((2000 + 5 * size_mb) * attempt)
