# Every fit's genome-wide scoring files, and a target biobank (config target): the weights
# scored on its genotypes with plink2 --score (bed or pgen, all samples), and with phenotypes,
# accuracy per group (given, or assigned by projection onto a labelled reference's PCs).


rule combine_scoring_files:
    """One genome-wide PGS Catalog v2.0 file and plink2 --score file per fit."""
    input:
        pgs=expand(
            "results/prs/{{model}}/{{trait}}/fold{{fold}}/chr{chrom}.pgs.txt.gz",
            chrom=CHROMS,
        ),
    output:
        pgs="results/scoring/{model}/{trait}/fold{fold}.pgs.txt.gz",
        score="results/scoring/{model}/{trait}/fold{fold}.score.tsv",
    log:
        "logs/combine_scoring_files/{model}/{trait}/fold{fold}.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=4000),
        runtime=runtime_for(10, per_gb_input=30),
    script:
        "../scripts/combine_scoring_files.py"


rule score_target:
    input:
        unpack(get_target_genotypes),
        score="results/scoring/{model}/{trait}/fold{fold}.score.tsv",
    output:
        sscore="results/target/scores/{model}/{trait}/fold{fold}.sscore",
        vars="results/target/scores/{model}/{trait}/fold{fold}.sscore.vars",
        json="results/target/scores/{model}/{trait}/fold{fold}.json",
        audit="results/target/scores/{model}/{trait}/fold{fold}.unscored.tsv.gz",
    log:
        "logs/score_target/{model}/{trait}/fold{fold}.log",
    benchmark:
        "benchmarks/score_target/{model}/{trait}/fold{fold}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=200),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        prefix=config["target"]["genotypes"],
        min_overlap=config["target"]["min_overlap"],
    script:
        "../scripts/score_target.py"


rule evaluate_target:
    input:
        sscore=[
            f"results/target/scores/{m}/{t}/fold{f}.sscore"
            for m, t, f in get_fit_keys()
        ],
        json=[
            f"results/target/scores/{m}/{t}/fold{f}.json" for m, t, f in get_fit_keys()
        ],
        phenotypes=config["target"]["phenotypes"] or [],
        groups=[get_target_groups()] if get_target_groups() else [],
    output:
        metrics=report(
            "results/target/metrics.tsv",
            caption="../report/target_metrics.rst",
            category="target",
        ),
    log:
        "logs/evaluate_target/evaluate_target.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=2000),
        runtime=runtime_for(20, per_gb_input=20),
    params:
        runs=get_target_runs,
        covariates=config["target"]["covariates"],
        groups=get_target_groups(),
    script:
        "../scripts/evaluate_target.py"


rule assign_target_ancestry:
    input:
        unpack(get_target_genotypes),
        reference=get_ancestry_reference_files,
    output:
        groups=report(
            "results/target/ancestry.tsv",
            caption="../report/target_ancestry.rst",
            category="target",
        ),
    log:
        "logs/assign_target_ancestry/assign_target_ancestry.log",
    benchmark:
        "benchmarks/assign_target_ancestry.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=500),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        reference=get_ancestry_reference(),
        labels=get_ancestry_labels(),
        target=config["target"]["genotypes"],
        settings=config["target"]["ancestry"],
    script:
        "../scripts/assign_target_ancestry.py"
