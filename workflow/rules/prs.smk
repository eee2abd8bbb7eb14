# PRS fits: one job per trait x fold fits every model of the trait (prs.jobs: per_trait, the
# default; the statistics, LD and validation genotypes are read once), or one job per model x
# trait x fold (per_model, for large fits on a cluster). Each job writes every model's files per
# chromosome; variational EM fits the chromosomes one after another (or, with prs.genome_wide,
# jointly with shared hyperparameters), the tuned strategies and baselines fit them jointly.
# The rules are made in a loop, one per group of fits (FIT_JOBS in prs_jobs_common.smk), because a
# rule's outputs are fixed: a trait's models are its own (prs.models.<name>.traits).


for _name, _models, _traits in FIT_JOBS:

    rule:
        name:
            _name
        input:
            unpack(fit_job_inputs(_models)),
        output:
            effects=fit_job_outputs(_models, "chr{chrom}.effects.tsv.gz"),
            json=fit_job_outputs(_models, "chr{chrom}.json"),
            pgs=fit_job_outputs(_models, "chr{chrom}.pgs.txt.gz"),
            score=fit_job_outputs(_models, "chr{chrom}.score.tsv"),
            audit=fit_job_outputs(_models, "chr{chrom}.audit.tsv.gz"),
            grid=fit_job_outputs(_models, "grid.tsv", grid_only=True),
            timing=f"results/prs/timing/{{trait}}/fold{{fold}}/{_name}.tsv",
        log:
            f"logs/{_name}/{{trait}}/fold{{fold}}.log",
        benchmark:
            f"benchmarks/{_name}/{{trait}}/fold{{fold}}.tsv"
        wildcard_constraints:
            trait=one_of(_traits),
        # jobs with more models first (the longest last would leave a core idle at the end)
        priority: len(_models)
        conda:
            "../envs/vibank.yaml"
        threads: config["prs"]["threads"]
        resources:
            mem_mb=mem_mb_for(2000, per_gb_input=3000),
            runtime=fit_job_runtime(_models),
        params:
            models=[(m, model_settings(m)) for m in _models],
            genome_wide=config["prs"]["genome_wide"],
            min_overlap=config["prs"]["min_overlap"],
            sumstats_options=get_sumstats_options,
            phenotype=get_phenotype,
            seed=config["seed"],
        script:
            "../scripts/fit_prs.py"
