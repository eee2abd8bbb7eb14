# pQTL mapping (pqtl_afcavi.md (i)); the stages are described in qtl_common.smk, with the helpers.


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
        runtime=runtime_for(20),
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
        runtime=runtime_for(20),
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
        runtime=runtime_for(20),
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
    threads: config["qtl"]["threads"]
    resources:
        mem_mb=qtl_chunk_mem_mb,
        runtime=runtime_for(120),
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
        runtime=runtime_for(30),
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
        runtime=runtime_for(20),
    params:
        modes=QTL_MODES,
        threshold=QTL["calling"]["ppi_threshold"],
    script:
        "../scripts/evaluate_qtl.py"


rule plot_qtl:
    input:
        associations=expand("results/qtl/{cavi}/associations.tsv.gz", cavi=QTL_MODES),
        hotspots=f"results/qtl/{QTL_MODES[0]}/hotspots.tsv",
        runtime="results/qtl/eval/runtime.tsv",
        metrics="results/qtl/eval/metrics.tsv",
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
        modes=report(
            f"{QTL_FIGURES}/modes.png",
            caption="../report/qtl_modes.rst",
            category="pQTL",
            subcategory="figures",
        ),
        pdf=expand(f"{QTL_FIGURES}/{{name}}.pdf", name=QTL_FIGURE_NAMES),
    log:
        "logs/plot_qtl/plot_qtl.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=2000),
        runtime=runtime_for(10),
    params:
        modes=QTL_MODES,
        threshold=QTL["calling"]["ppi_threshold"],
    script:
        "../scripts/plot_qtl.py"
