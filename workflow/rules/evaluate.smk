rule score_prs:
    """Scores of every fit of a fold for every scored set (test, validation, target
    populations): one plink2 --score per set with a column per fit."""
    input:
        **get_qc_genotypes(),
        score=get_fold_score_files,
        keep=get_target_keeps_of_fold,
    output:
        sscore=expand(
            "results/eval/scores/fold{{fold}}/{target}.sscore", target=EVAL_TARGETS
        ),
        variants=expand(
            "results/eval/scores/fold{{fold}}/{target}.sscore.vars",
            target=EVAL_TARGETS,
        ),
        json=expand(
            "results/eval/scores/fold{{fold}}/{target}.json", target=EVAL_TARGETS
        ),
    log:
        "logs/score_prs/fold{fold}.log",
    benchmark:
        "benchmarks/score_prs/fold{fold}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=500),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        score_sets=get_fold_score_sets,
        min_overlap=config["prs"]["min_overlap"],
    script:
        "../scripts/score_prs.py"


rule evaluate_prs:
    input:
        sscore=get_eval_scores("sscore"),
        json=get_eval_scores("json"),
        phenotypes="results/phenotypes/phenotypes.tsv",
        covariates="results/phenotypes/covariates.tsv",
        eigenvec="results/qc/pca.eigenvec",
        eigenval="results/qc/pca.eigenval",
        train=list(get_fold_keeps("train").values()),
        test=list(get_fold_keeps("test").values()),
        targets=list(get_target_keeps().values()),
    output:
        metrics=report(
            "results/eval/metrics.tsv",
            caption="../report/metrics.rst",
            category="CV",
            subcategory="tables",
        ),
        cv_summary=report(
            "results/eval/cv_summary.tsv",
            caption="../report/cv_summary.rst",
            category="CV",
            subcategory="tables",
        ),
        transfer=report(
            "results/eval/transfer.tsv",
            caption="../report/transfer_table.rst",
            category="transfer",
            subcategory="tables",
        ),
    log:
        "logs/evaluate_prs/evaluate_prs.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(30),
    params:
        runs=get_eval_runs(),
        covariate_names=get_covariate_names(),
        binary_traits=get_binary_traits(),
        train_keeps=get_fold_keeps("train"),
        test_keeps=get_fold_keeps("test"),
        target_keeps=get_target_keeps(),
        reference_population=config["splits"]["reference_population"],
    script:
        "../scripts/evaluate_prs.py"


rule summarise_fits:
    input:
        fits=get_prs_fits(),
        timings=get_fit_timings(),
        traits=get_traits_summary(),
    output:
        h2=report(
            "results/eval/h2.tsv",
            caption="../report/h2_table.rst",
            category="PRS fit",
            subcategory="tables",
        ),
        runtime=report(
            "results/eval/runtime.tsv",
            caption="../report/runtime_table.rst",
            category="PRS fit",
            subcategory="tables",
        ),
    log:
        "logs/summarise_fits/summarise_fits.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        fits=get_fit_entries(),
    script:
        "../scripts/summarise_fits.py"
