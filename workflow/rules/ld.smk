rule compute_ld:
    input:
        **get_qc_genotypes(),
        keep="results/splits/ld_panel.keep",
    output:
        store=directory("results/ld/{ld_panel}/chr{chrom}.zarr"),
    log:
        "logs/compute_ld/{ld_panel}/chr{chrom}.log",
    benchmark:
        "benchmarks/compute_ld/{ld_panel}/chr{chrom}.tsv"
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=2000),
        runtime=runtime_for(60, per_gb_input=60),
    params:
        estimator=get_ld_estimator,
        ld=config["ld"],
    script:
        "../scripts/compute_ld.py"
