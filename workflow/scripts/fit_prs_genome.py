from vibank.pipelines import fit_prs_genome
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_prs_genome(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        [
            {"effects": e, "json": j, "pgs": p, "score": s}
            for e, j, p, s in zip(out.effects, out.json, out.pgs, out.score)
        ],
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        prior=snakemake.params.prior,
        prior_options=snakemake.params.prior_options,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        max_iter=snakemake.params.max_iter,
    )
