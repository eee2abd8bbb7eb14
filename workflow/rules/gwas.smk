rule run_gwas:
    """One plink2 --glm per fold over every trait and chromosome."""
    input:
        **get_qc_genotypes(),
        keep="results/splits/fold{fold}/train.keep",
        phenotypes="results/phenotypes/phenotypes.tsv",
        covariates="results/phenotypes/covariates.tsv",
    output:
        sumstats=[
            f"results/gwas/{t}/fold{{fold}}/chr{c}.sumstats.tsv.gz"
            for t, c in GWAS_FOLD_KEYS
        ],
    log:
        "logs/run_gwas/fold{fold}.log",
    benchmark:
        "benchmarks/run_gwas/fold{fold}.tsv"
    # before the fits: every fit of a fold waits for its GWAS, and a two-thread job that comes
    # after them finds no two free cores while one-thread fits keep starting (on the demo the
    # last fold's GWAS waited 5 min, its fits then ran at the end one beside the other)
    priority: 50
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=500),
        runtime=runtime_for(30, per_gb_input=60),
    params:
        gwas_keys=GWAS_FOLD_KEYS,
        binary={t: is_binary(t) for t in TRAITS},
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
