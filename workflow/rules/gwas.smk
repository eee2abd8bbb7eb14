rule run_gwas:
    input:
        **get_qc_genotypes(),
        keep="results/splits/fold{fold}/train.keep",
        phenotypes="results/phenotypes/phenotypes.tsv",
        covariates="results/phenotypes/covariates.tsv",
    output:
        sumstats="results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz",
    log:
        "logs/run_gwas/{trait}/fold{fold}/chr{chrom}.log",
    benchmark:
        "benchmarks/run_gwas/{trait}/fold{fold}/chr{chrom}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=500),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        binary=get_gwas_is_binary,
        covariate_names=get_covariate_names(),
        firth_fallback=config["gwas"]["firth_fallback"],
    script:
        "../scripts/run_gwas.py"


rule summarise_gwas:
    input:
        sumstats=get_gwas_sumstats(),
    output:
        summary=report(
            "results/gwas/gwas_summary.tsv",
            category="GWAS",
            caption="../report/gwas_summary.rst",
        ),
    log:
        "logs/summarise_gwas/summarise_gwas.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        gwas_keys=get_gwas_keys(),
    script:
        "../scripts/summarise_gwas.py"
