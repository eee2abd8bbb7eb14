# one fit per chromosome, or (prs.genome_wide) one per trait x fold x model over all
# chromosomes with shared hyperparameters; both write the same per-chromosome files


if not config["prs"]["genome_wide"]:

    rule fit_prs:
        input:
            sumstats=get_prs_sumstats,
            ld=get_prs_ld_store,
        output:
            effects="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.effects.tsv.gz",
            json="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.json",
            pgs="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.pgs.txt.gz",
            score="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.score.tsv",
            audit="results/prs/{model}/{trait}/fold{fold}/chr{chrom}.audit.tsv.gz",
        log:
            "logs/fit_prs/{model}/{trait}/fold{fold}/chr{chrom}.log",
        benchmark:
            "benchmarks/fit_prs/{model}/{trait}/fold{fold}/chr{chrom}.tsv"
        wildcard_constraints:
            model=one_of(VEM_MODELS),
        conda:
            "../envs/vibank.yaml"
        threads: 2
        resources:
            mem_mb=mem_mb_for(1000, per_gb_input=3000),
            runtime=runtime_for(60, per_gb_input=60),
        params:
            min_overlap=config["prs"]["min_overlap"],
            sumstats_options=get_sumstats_options,
            model=get_model_settings,
        script:
            "../scripts/fit_prs.py"

else:

    rule fit_prs_genome:
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
            "logs/fit_prs_genome/{model}/{trait}/fold{fold}.log",
        benchmark:
            "benchmarks/fit_prs_genome/{model}/{trait}/fold{fold}.tsv"
        wildcard_constraints:
            model=one_of(VEM_MODELS),
        conda:
            "../envs/vibank.yaml"
        threads: 2
        resources:
            mem_mb=mem_mb_for(1000, per_gb_input=3000),
            runtime=runtime_for(120, per_gb_input=120),
        params:
            min_overlap=config["prs"]["min_overlap"],
            sumstats_options=get_sumstats_options,
            model=get_model_settings,
        script:
            "../scripts/fit_prs_genome.py"


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
