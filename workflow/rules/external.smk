# External summary statistics (config external_gwas; paper section 2.6): each file is
# harmonised once to the PRS panel's LD stores, then fitted and evaluated like a trait of the
# study (sumstats_path in prs_common.smk points its fits here). For the demo, a file is made
# from the study's own GWAS (simulate_from) and the two fits are compared.


rule simulate_external_gwas:
    input:
        sumstats=get_simulate_from_sumstats,
    output:
        table="results/external/{trait}/source.tsv.gz",
        changes="results/external/{trait}/source_changes.tsv",
    log:
        "logs/simulate_external_gwas/{trait}.log",
    wildcard_constraints:
        trait=one_of(SIMULATED_EXTERNAL),
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=4000),
        runtime=runtime_for(10, per_gb_input=30),
    params:
        options=lambda wildcards: {
            k: v
            for k, v in EXTERNAL[wildcards.trait]["simulate_from"].items()
            if k not in ("trait", "fold")
        },
        format=lambda wildcards: EXTERNAL[wildcards.trait]["format"],
    script:
        "../scripts/simulate_external_gwas.py"


rule harmonise_external:
    input:
        sumstats=get_external_file,
        ld=get_prs_ld_stores_all,
    output:
        sumstats=expand(
            "results/external/{{trait}}/chr{chrom}.sumstats.tsv.gz", chrom=CHROMS
        ),
        audit="results/external/{trait}/audit.tsv.gz",
        summary=report(
            "results/external/{trait}/harmonisation.tsv",
            caption="../report/external_harmonisation.rst",
            category="external GWAS",
            labels={"file": "{trait} harmonisation"},
        ),
    log:
        "logs/harmonise_external/{trait}.log",
    wildcard_constraints:
        trait=one_of(list(EXTERNAL)),
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(2000, per_gb_input=6000),
        runtime=runtime_for(20, per_gb_input=60),
    params:
        entry=lambda wildcards: EXTERNAL[wildcards.trait],
        harmonise_options=get_external_harmonise_options,
        min_overlap=config["prs"]["min_overlap"],
    script:
        "../scripts/harmonise_external.py"


rule compare_external:
    input:
        effects=get_agreement_effects,
    output:
        table=report(
            "results/external/{trait}/agreement.tsv",
            caption="../report/external_agreement.rst",
            category="external GWAS",
            labels={"file": "{trait} vs the study's GWAS"},
        ),
    log:
        "logs/compare_external/{trait}.log",
    wildcard_constraints:
        trait=one_of(SIMULATED_EXTERNAL),
    conda:
        "../envs/vibank.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_for(1000, per_gb_input=2000),
        runtime=runtime_for(10),
    params:
        pairs=get_agreement_pairs,
    script:
        "../scripts/compare_external.py"
