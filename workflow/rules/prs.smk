# every fit is one job per model x trait x fold writing each chromosome's files; variational
# EM fits the chromosomes one after another (or, with prs.genome_wide, jointly with shared
# hyperparameters)


rule fit_prs:
    input:
        sumstats=get_prs_sumstats_all,
        ld=get_prs_ld_stores_all,
    output:
        effects=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.effects.tsv.gz",
            chrom=CHROMS,
        ),
        json=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.json",
            chrom=CHROMS,
        ),
        pgs=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.pgs.txt.gz",
            chrom=CHROMS,
        ),
        score=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.score.tsv",
            chrom=CHROMS,
        ),
        audit=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.audit.tsv.gz",
            chrom=CHROMS,
        ),
    log:
        "logs/fit_prs/{model}/{trait}/fold{fold}.log",
    benchmark:
        "benchmarks/fit_prs/{model}/{trait}/fold{fold}.tsv"
    wildcard_constraints:
        model=one_of(VEM_MODELS),
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=3000),
        runtime=runtime_for(60, per_gb_input=120),
    params:
        genome_wide=config["prs"]["genome_wide"],
        min_overlap=config["prs"]["min_overlap"],
        sumstats_options=get_sumstats_options,
        model=get_model_settings,
    script:
        "../scripts/fit_prs.py"


rule tune_prs:
    input:
        unpack(get_tune_validation),
        sumstats=get_prs_sumstats_all,
        ld=get_prs_ld_stores_all,
    output:
        effects=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.effects.tsv.gz",
            chrom=CHROMS,
        ),
        json=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.json",
            chrom=CHROMS,
        ),
        pgs=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.pgs.txt.gz",
            chrom=CHROMS,
        ),
        score=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.score.tsv",
            chrom=CHROMS,
        ),
        audit=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.audit.tsv.gz",
            chrom=CHROMS,
        ),
        grid="results/prs/{model}/{trait}/fold{fold}/grid.tsv",
    log:
        "logs/tune_prs/{model}/{trait}/fold{fold}.log",
    benchmark:
        "benchmarks/tune_prs/{model}/{trait}/fold{fold}.tsv"
    wildcard_constraints:
        model=one_of(TUNED_MODELS),
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=3000),
        runtime=runtime_for(240, per_gb_input=240),
    params:
        min_overlap=config["prs"]["min_overlap"],
        sumstats_options=get_sumstats_options,
        phenotype=get_phenotype,
        model=get_model_settings,
        seed=config["seed"],
    script:
        "../scripts/tune_prs.py"


rule fit_baseline:
    input:
        sumstats=get_prs_sumstats_all,
        ld=get_prs_ld_stores_all,
        bed="results/qc/qc.bed",
        bim="results/qc/qc.bim",
        fam="results/qc/qc.fam",
        validation="results/splits/fold{fold}/validation.keep",
        ld_panel="results/splits/ld_panel.keep",
        phenotypes="results/phenotypes/phenotypes.tsv",
    output:
        effects=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.effects.tsv.gz",
            chrom=CHROMS,
        ),
        json=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.json",
            chrom=CHROMS,
        ),
        pgs=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.pgs.txt.gz",
            chrom=CHROMS,
        ),
        score=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.score.tsv",
            chrom=CHROMS,
        ),
        audit=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.audit.tsv.gz",
            chrom=CHROMS,
        ),
        grid="results/prs/{model}/{trait}/fold{fold}/grid.tsv",
    log:
        "logs/fit_baseline/{model}/{trait}/fold{fold}.log",
    benchmark:
        "benchmarks/fit_baseline/{model}/{trait}/fold{fold}.tsv"
    wildcard_constraints:
        model=one_of(BASELINE_MODELS),
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=3000),
        runtime=runtime_for(240, per_gb_input=240),
    params:
        min_overlap=config["prs"]["min_overlap"],
        sumstats_options=get_sumstats_options,
        phenotype=get_phenotype,
        model=get_model_settings,
        seed=config["seed"],
    script:
        "../scripts/fit_baseline.py"
