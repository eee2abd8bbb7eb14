# Figures for the HTML report (snakemake --report), drawn from the evaluation tables.


FIGURES = "results/figures"
GS_MODELS = [
    m
    for m in TUNED_MODELS
    if _SPECS[m]["strategy"] == "gs" and _SPECS[m]["metric"] == "validation"
]


# figures of this config: h2 only for simulated traits, the grid only with validation-tuned
# grid searches, the LD comparison only with several LD panels
FIGURE_NAMES = [
    "accuracy",
    "runtime",
    "transfer",
    *(["h2_calibration"] if SIMULATED_PHENOTYPES else []),
    *(["grid_elbo"] if GS_MODELS else []),
    *(["ld_panels"] if len(LD_PANELS) > 1 else []),
]
FIGURE_OUTPUTS = [
    f"{FIGURES}/{n}.{ext}" for n in FIGURE_NAMES for ext in ("png", "pdf")
]
# (model, trait, fold) of every grid table drawn by plot_grid_elbo, and the tables
GRID_KEYS = [
    (m, t, f) for m in GS_MODELS for t in model_traits(m) for f in trait_folds(t)
]
GRID_TABLES = [f"results/prs/{m}/{t}/fold{f}/grid.tsv" for m, t, f in GRID_KEYS]
# compute_ld benchmarks of the panels vibank computes (precomputed stores have none)
LD_BENCHMARKS = expand(
    "benchmarks/compute_ld/{ld_panel}/chr{chrom}.tsv",
    ld_panel=COMPUTED_PANELS,
    chrom=CHROMS,
)


rule plot_accuracy:
    input:
        cv_summary="results/eval/cv_summary.tsv",
    output:
        png=report(
            f"{FIGURES}/accuracy.png",
            caption="../report/accuracy.rst",
            category="CV",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/accuracy.pdf",
    log:
        "logs/plot_accuracy/plot_accuracy.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        models=MODELS,
    script:
        "../scripts/plot_accuracy.py"


rule plot_runtime:
    input:
        runtime="results/eval/runtime.tsv",
    output:
        png=report(
            f"{FIGURES}/runtime.png",
            caption="../report/runtime.rst",
            category="PRS fit",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/runtime.pdf",
    log:
        "logs/plot_runtime/plot_runtime.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        models=MODELS,
    script:
        "../scripts/plot_runtime.py"


rule plot_transfer:
    input:
        transfer="results/eval/transfer.tsv",
    output:
        png=report(
            f"{FIGURES}/transfer.png",
            caption="../report/transfer.rst",
            category="transfer",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/transfer.pdf",
    log:
        "logs/plot_transfer/plot_transfer.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        models=MODELS,
    script:
        "../scripts/plot_transfer.py"


rule plot_h2_calibration:
    input:
        h2="results/eval/h2.tsv",
    output:
        png=report(
            f"{FIGURES}/h2_calibration.png",
            caption="../report/h2_calibration.rst",
            category="PRS fit",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/h2_calibration.pdf",
    log:
        "logs/plot_h2_calibration/plot_h2_calibration.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        models=MODELS,
        binary_traits=get_binary_fit_traits(),
    script:
        "../scripts/plot_h2_calibration.py"


rule plot_grid_elbo:
    input:
        grids=GRID_TABLES,
    output:
        png=report(
            f"{FIGURES}/grid_elbo.png",
            caption="../report/grid_elbo.rst",
            category="PRS fit",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/grid_elbo.pdf",
    log:
        "logs/plot_grid_elbo/plot_grid_elbo.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        grid_keys=GRID_KEYS,
        binary_traits=get_binary_fit_traits(),
    script:
        "../scripts/plot_grid_elbo.py"


rule plot_ld_panels:
    input:
        stores=get_ld_stores(),
        benchmarks=LD_BENCHMARKS,
    output:
        table=report(
            f"{FIGURES}/ld_panels.tsv",
            caption="../report/ld_panels_table.rst",
            category="LD",
            subcategory="tables",
        ),
        png=report(
            f"{FIGURES}/ld_panels.png",
            caption="../report/ld_panels.rst",
            category="LD",
            subcategory="figures",
        ),
        pdf=f"{FIGURES}/ld_panels.pdf",
    log:
        "logs/plot_ld_panels/plot_ld_panels.log",
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000),
        runtime=runtime_for(10),
    params:
        panels=LD_PANELS,
        computed=COMPUTED_PANELS,
        n_chroms=len(CHROMS),
    script:
        "../scripts/plot_ld_panels.py"
