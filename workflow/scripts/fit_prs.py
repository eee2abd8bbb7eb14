from vibank.prs.spec import model_spec
from vibank.stages.prs import fit_prs
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_prs(
        [snakemake.input.sumstats],
        [snakemake.input.ld],
        [{"effects": out.effects, "json": out.json, "pgs": out.pgs, "score": out.score,
          "audit": out.audit}],
        spec=model_spec(**snakemake.params.model),
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options=snakemake.params.sumstats_options,
    )
