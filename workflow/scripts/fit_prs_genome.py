from vibank.pipelines import fit_prs_genome
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_prs_genome(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        chromosome_outputs(out),
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        prior=snakemake.params.prior,
        prior_options=snakemake.params.prior_options,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options={**snakemake.params.sumstats_options, "audit_out": list(out.audit)},
        max_iter=snakemake.params.max_iter,
    )
