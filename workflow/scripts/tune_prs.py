from pathlib import Path

from vibank.pipelines import tune_prs
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    strategy = snakemake.params.strategy
    tune_prs(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        chromosome_outputs(out),
        grid_out=out.grid,
        bfile=str(Path(snakemake.input.bed).with_suffix("")),
        validation_keep=snakemake.input.validation,
        phenotypes=snakemake.input.phenotypes,
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        strategy=strategy["strategy"],
        metric=strategy["metric"],
        grid_size=strategy["grid_size"],
        bo_calls=strategy["bo_calls"],
        seed=snakemake.params.seed,
        prior=snakemake.params.prior,
        prior_options=snakemake.params.prior_options,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options={**snakemake.params.sumstats_options, "audit_out": list(out.audit)},
        phenotype=snakemake.params.phenotype,
        max_iter=snakemake.params.max_iter,
        grid_options=snakemake.params.grid_options,
    )
