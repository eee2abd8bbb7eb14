rule run_gwas:
    input:
        **get_qc_genotypes(),
        keep="results/splits/fold{fold}/train.keep",
        phenotypes="results/phenotypes/phenotypes.tsv",
        covariates="results/phenotypes/covariates.tsv",
    output:
        sumstats="results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz",
    params:
        binary=get_gwas_is_binary,
        covariate_names=get_covariate_names(),
        firth_fallback=config["gwas"]["firth_fallback"],
    log:
        "logs/run_gwas/{trait}/fold{fold}/chr{chrom}.log",
    benchmark:
        "benchmarks/run_gwas/{trait}/fold{fold}/chr{chrom}.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=500),
        runtime=30,
    conda:
        "../envs/vibank.yaml"
    script:
        "../scripts/run_gwas.py"


rule summarise_gwas:
    input:
        sumstats=get_gwas_sumstats(),
    params:
        gwas_keys=get_gwas_keys(),
    output:
        summary=report(
            "results/gwas/gwas_summary.tsv",
            category="GWAS",
            caption="../report/gwas_summary.rst",
        ),
    log:
        "logs/summarise_gwas/summarise_gwas.log",
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=10,
    conda:
        "../envs/vibank.yaml"
    script:
        "../scripts/summarise_gwas.py"
