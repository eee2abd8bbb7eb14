rule qc_genotypes:
    input:
        unpack(get_raw_genotypes),
        samples=get_sample_table(),
    output:
        bed=f"{QC}.bed",
        bim=f"{QC}.bim",
        fam=f"{QC}.fam",
        summary=report(
            "results/qc/qc_summary.tsv",
            category="QC",
            caption="../report/qc_summary.rst",
        ),
        removed="results/qc/qc_removed.tsv.gz",
    log:
        "logs/qc_genotypes/qc_genotypes.log",
    benchmark:
        "benchmarks/qc_genotypes.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=1000),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        qc=config["qc"],
    script:
        "../scripts/qc_genotypes.py"


rule compute_pcs:
    input:
        **get_qc_genotypes(),
    output:
        eigenvec="results/qc/pca.eigenvec",
        eigenval="results/qc/pca.eigenval",
    log:
        "logs/compute_pcs/compute_pcs.log",
    benchmark:
        "benchmarks/compute_pcs.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=2000),
        runtime=runtime_for(60, per_gb_input=30),
    params:
        pca=config["pca"],
        seed=config["seed"],
    script:
        "../scripts/compute_pcs.py"


rule make_covariates:
    input:
        eigenvec="results/qc/pca.eigenvec",
        samples=get_sample_table(),
    output:
        covariates="results/phenotypes/covariates.tsv",
    log:
        "logs/make_covariates/make_covariates.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    script:
        "../scripts/make_covariates.py"


rule make_splits:
    input:
        **get_qc_genotypes(),
        samples=get_sample_table(),
        phenotypes="results/phenotypes/phenotypes.tsv",
    output:
        table="results/splits/splits.tsv",
        ld_panel="results/splits/ld_panel.keep",
        targets=expand(
            "results/splits/target_{pop}.keep",
            pop=config["splits"]["target_populations"],
        ),
        folds=expand(
            "results/splits/fold{fold}/{role}.keep",
            fold=FOLDS,
            role=["train", "validation", "test"],
        ),
    log:
        "logs/make_splits/make_splits.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        splits=config["splits"],
        binary_traits=get_binary_traits(),
        seed=config["seed"],
    script:
        "../scripts/make_splits.py"
