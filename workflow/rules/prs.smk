rule fit_prs:
    input:
        sumstats="results/gwas/{trait}/fold{fold}/chr{chrom}.sumstats.tsv.gz",
        ld=get_prs_ld_store,
    output:
        effects="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.effects.tsv.gz",
        json="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.json",
        pgs="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.pgs.txt.gz",
        score="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.score.tsv",
    log:
        "logs/fit_prs/{model}/{trait}/fold{fold}/chr{chrom}.log",
    benchmark:
        "benchmarks/fit_prs/{model}/{trait}/fold{fold}/chr{chrom}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=3000),
        runtime=60,
    params:
        min_overlap=config["prs"]["min_overlap"],
        max_iter=config["prs"]["max_iter"],
    script:
        "../scripts/fit_prs.py"
