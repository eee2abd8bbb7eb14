if SIMULATED_COHORT:

    rule simulate_cohort:
        output:
            bed="results/cohort/raw.bed",
            bim="results/cohort/raw.bim",
            fam="results/cohort/raw.fam",
            samples="results/cohort/samples.tsv",
        params:
            simulate=config["cohort"]["simulate"],
            seed=config["seed"],
        log:
            "logs/simulate_cohort/simulate_cohort.log",
        benchmark:
            "benchmarks/simulate_cohort.tsv"
        threads: 2
        resources:
            mem_mb=mem_mb_for(6000),
            runtime=30,
        conda:
            "../envs/vibank.yaml"
        script:
            "../scripts/simulate_cohort.py"


if SIMULATED_PHENOTYPES:

    rule simulate_phenotypes:
        input:
            unpack(get_qc_genotypes),
            samples=get_sample_table(),
        output:
            phenotypes="results/phenotypes/phenotypes.tsv",
            summary="results/phenotypes/traits.tsv",
            effects=expand("results/phenotypes/true_effects/{trait}.tsv.gz", trait=TRAITS),
        params:
            traits=config["phenotypes"]["traits"],
            covariate_variance=config["phenotypes"]["covariate_variance"],
            reference_population=config["splits"]["reference_population"],
            seed=config["seed"],
        log:
            "logs/simulate_phenotypes/simulate_phenotypes.log",
        benchmark:
            "benchmarks/simulate_phenotypes.tsv"
        threads: 1
        resources:
            mem_mb=mem_mb_for(2000, per_gb_input=4000),
            runtime=30,
        conda:
            "../envs/vibank.yaml"
        script:
            "../scripts/simulate_phenotypes.py"

else:

    rule prepare_phenotypes:
        input:
            unpack(get_qc_genotypes),
            phenotypes=config["phenotypes"]["file"] or [],
        output:
            phenotypes="results/phenotypes/phenotypes.tsv",
        params:
            traits=config["phenotypes"]["traits"],
        log:
            "logs/prepare_phenotypes/prepare_phenotypes.log",
        threads: 1
        resources:
            mem_mb=mem_mb_for(1000),
            runtime=10,
        conda:
            "../envs/vibank.yaml"
        script:
            "../scripts/prepare_phenotypes.py"
