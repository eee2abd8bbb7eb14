from vibank.pipelines import fit_prs_chromosome
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_prs_chromosome(
        snakemake.input.sumstats,
        snakemake.input.ld,
        out_effects=out.effects,
        out_json=out.json,
        out_pgs=out.pgs,
        out_score=out.score,
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        prior=snakemake.params.prior,
        prior_options=snakemake.params.prior_options,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options={**snakemake.params.sumstats_options, "audit_out": out.audit},
        max_iter=snakemake.params.max_iter,
    )
