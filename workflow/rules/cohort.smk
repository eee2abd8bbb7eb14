if SIMULATED_COHORT:

    rule simulate_cohort:
        output:
            bed="results/cohort/raw.bed",
            bim="results/cohort/raw.bim",
            fam="results/cohort/raw.fam",
            samples="results/cohort/samples.tsv",
        log:
            "logs/simulate_cohort/simulate_cohort.log",
        benchmark:
            "benchmarks/simulate_cohort.tsv"
        conda:
            "../envs/vibank.yaml"
        threads: 2
        resources:
            mem_mb=mem_mb_for(6000),
            runtime=runtime_for(30),
        params:
            simulate=config["cohort"]["simulate"],
            seed=config["seed"],
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
            effects=expand(
                "results/phenotypes/true_effects/{trait}.tsv.gz", trait=TRAITS
            ),
        log:
            "logs/simulate_phenotypes/simulate_phenotypes.log",
        benchmark:
            "benchmarks/simulate_phenotypes.tsv"
        conda:
            "../envs/vibank.yaml"
        threads: 1
        resources:
            mem_mb=mem_mb_for(2000, per_gb_input=4000),
            runtime=runtime_for(30),
        params:
            traits=config["phenotypes"]["traits"],
            covariate_variance=config["phenotypes"]["covariate_variance"],
            reference_population=config["splits"]["reference_population"],
            seed=config["seed"],
        script:
            "../scripts/simulate_phenotypes.py"

else:

    rule prepare_phenotypes:
        input:
            unpack(get_qc_genotypes),
            phenotypes=config["phenotypes"]["file"] or [],
        output:
            phenotypes="results/phenotypes/phenotypes.tsv",
        log:
            "logs/prepare_phenotypes/prepare_phenotypes.log",
        conda:
            "../envs/vibank.yaml"
        threads: 1
        resources:
            mem_mb=mem_mb_for(1000),
            runtime=runtime_for(10),
        params:
            traits=config["phenotypes"]["traits"],
        script:
            "../scripts/prepare_phenotypes.py"
