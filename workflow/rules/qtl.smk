# pQTL mapping (pqtl_afcavi.md (i)): discovery samples, LD-pruned contiguous chunks per
# chromosome, proteins residualised on covariates, one atlasQTL fit per chunk and CAVI mode
# against all proteins, then calls, loci, hotspots, evaluation and figures.
QTL = config["qtl"]
QTL_MODES = list(QTL["model"]["cavi_modes"])
QTL_CHROMS = [str(c) for c in QTL["chromosomes"] or CHROMS]
QTL_SIMULATED = QTL["proteins"]["source"] == "simulate"
QTL_FIGURES = "results/figures/qtl"
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
            name=["hotspots", "heatmap", "runtime"],
            ext=["png", "pdf"],
        ),
    ]
    if QTL["enabled"]
    else []
)


checkpoint chunk_qtl_variants:
    input:
        **get_qc_genotypes(),
        splits="results/splits/splits.tsv",
    output:
        table="results/qtl/chunks/chr{chrom}.tsv",
    log:
        "logs/chunk_qtl_variants/chr{chrom}.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=500),
        runtime=20,
    params:
        chunks=QTL["chunks"],
    script:
        "../scripts/chunk_qtl_variants.py"


rule simulate_proteins:
    input:
        **get_qc_genotypes(),
        splits="results/splits/splits.tsv",
        chunks=expand("results/qtl/chunks/chr{chrom}.tsv", chrom=QTL_CHROMS),
    output:
        proteins="results/qtl/proteins/simulated.tsv",
        genes="results/qtl/proteins/genes.tsv",
        truth="results/qtl/proteins/true_associations.tsv",
    log:
        "logs/simulate_proteins/simulate_proteins.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=1000),
        runtime=20,
    params:
        simulate=QTL["simulate"],
        cis_window=QTL["calling"]["cis_window_kb"] * 1000,
    script:
        "../scripts/simulate_proteins.py"


rule residualise_proteins:
    input:
        proteins=get_qtl_proteins(),
        covariates="results/phenotypes/covariates.tsv",
        splits="results/splits/splits.tsv",
    output:
        proteins="results/qtl/proteins/residualised.tsv",
    log:
        "logs/residualise_proteins/residualise_proteins.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=3000),
        runtime=20,
    params:
        covariates=get_qtl_covariate_names(),
    script:
        "../scripts/residualise_proteins.py"


rule fit_qtl_chunk:
    input:
        **get_qc_genotypes(),
        chunks="results/qtl/chunks/chr{chrom}.tsv",
        proteins="results/qtl/proteins/residualised.tsv",
    output:
        table="results/qtl/fits/{cavi}/chr{chrom}/chunk{chunk}.tsv.gz",
        json="results/qtl/fits/{cavi}/chr{chrom}/chunk{chunk}.json",
    log:
        "logs/fit_qtl_chunk/{cavi}/chr{chrom}/chunk{chunk}.log",
    benchmark:
        "benchmarks/fit_qtl_chunk/{cavi}/chr{chrom}/chunk{chunk}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=2000),
        runtime=120,
    params:
        model_options=get_qtl_model_options,
    script:
        "../scripts/fit_qtl_chunk.py"


rule combine_qtl:
    input:
        tables=get_qtl_chunk_fits("tsv.gz"),
        jsons=get_qtl_chunk_fits("json"),
        genes=get_qtl_protein_table(),
    output:
        associations="results/qtl/{cavi}/associations.tsv.gz",
        calls=report(
            "results/qtl/{cavi}/calls.tsv",
            caption="../report/qtl_calls.rst",
            category="pQTL",
            subcategory="tables",
        ),
        loci=report(
            "results/qtl/{cavi}/loci.tsv",
            caption="../report/qtl_loci.rst",
            category="pQTL",
            subcategory="tables",
        ),
        hotspots="results/qtl/{cavi}/hotspots.tsv",
    log:
        "logs/combine_qtl/{cavi}.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=4000),
        runtime=30,
    params:
        calling=QTL["calling"],
    script:
        "../scripts/combine_qtl.py"


rule evaluate_qtl:
    input:
        associations=expand("results/qtl/{cavi}/associations.tsv.gz", cavi=QTL_MODES),
        hotspots=expand("results/qtl/{cavi}/hotspots.tsv", cavi=QTL_MODES),
        jsons=get_qtl_all_jsons,
        truth=get_qtl_truth(),
    output:
        metrics=report(
            "results/qtl/eval/metrics.tsv",
            caption="../report/qtl_metrics.rst",
            category="pQTL",
            subcategory="tables",
        ),
        runtime="results/qtl/eval/runtime.tsv",
    log:
        "logs/evaluate_qtl/evaluate_qtl.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=4000),
        runtime=20,
    params:
        modes=QTL_MODES,
        threshold=QTL["calling"]["ppi_threshold"],
    script:
        "../scripts/evaluate_qtl.py"


rule plot_qtl:
    input:
        associations=f"results/qtl/{QTL_MODES[0]}/associations.tsv.gz",
        hotspots=f"results/qtl/{QTL_MODES[0]}/hotspots.tsv",
        runtime="results/qtl/eval/runtime.tsv",
    output:
        hotspots=report(
            f"{QTL_FIGURES}/hotspots.png",
            caption="../report/qtl_hotspots.rst",
            category="pQTL",
            subcategory="figures",
        ),
        heatmap=report(
            f"{QTL_FIGURES}/heatmap.png",
            caption="../report/qtl_heatmap.rst",
            category="pQTL",
            subcategory="figures",
        ),
        runtime=report(
            f"{QTL_FIGURES}/runtime.png",
            caption="../report/qtl_runtime.rst",
            category="pQTL",
            subcategory="figures",
        ),
        pdf=expand(
            f"{QTL_FIGURES}/{{name}}.pdf", name=["hotspots", "heatmap", "runtime"]
        ),
    log:
        "logs/plot_qtl/plot_qtl.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=2000),
        runtime=10,
    params:
        modes=QTL_MODES,
    script:
        "../scripts/plot_qtl.py"
