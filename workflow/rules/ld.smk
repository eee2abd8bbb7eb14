# LD stores per panel and chromosome (config ld.panels). A panel's genotypes are the study's
# held-out LD panel samples (source: study) or an external reference (source: plink), which is
# first restricted to one population and to the study's variants, build-checked and QC'd
# (vibank.genotypes.reference); precomputed stores (source: stores) are read where they are.


rule prepare_reference:
    input:
        bed=lambda wildcards: f"{config['ld']['panels'][wildcards.ld_panel]['bfile']}.bed",
        # the variants of the study's genotypes, or without a study of the target biobank
        target=get_reference_target(),
        gwas=get_reference_gwas_files(),
    output:
        bed="results/ld/{ld_panel}/reference.bed",
        bim="results/ld/{ld_panel}/reference.bim",
        fam="results/ld/{ld_panel}/reference.fam",
        summary=report(
            "results/ld/{ld_panel}/reference_qc.tsv",
            caption="../report/reference_qc.rst",
            category="LD",
            subcategory="tables",
            labels={"file": "{ld_panel} reference QC"},
        ),
        audit="results/ld/{ld_panel}/reference_removed.tsv.gz",
    log:
        "logs/prepare_reference/{ld_panel}.log",
    benchmark:
        "benchmarks/prepare_reference/{ld_panel}.tsv"
    wildcard_constraints:
        ld_panel=one_of(REFERENCE_PANELS),
    conda:
        "../envs/vibank.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=1000),
        runtime=runtime_for(30, per_gb_input=30),
    params:
        panel=lambda wildcards: config["ld"]["panels"][wildcards.ld_panel],
        gwas=get_reference_gwas(),
    script:
        "../scripts/prepare_reference.py"


rule compute_ld:
    input:
        unpack(get_ld_genotypes),
    output:
        store=directory("results/ld/{ld_panel}/chr{chrom}.zarr"),
    log:
        "logs/compute_ld/{ld_panel}/chr{chrom}.log",
    benchmark:
        "benchmarks/compute_ld/{ld_panel}/chr{chrom}.tsv"
    wildcard_constraints:
        ld_panel=one_of(COMPUTED_PANELS),
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
