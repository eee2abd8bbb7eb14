from vibank.prs.spec import model_spec
from vibank.stages.prs import fit_prs
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    fit_prs(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        chromosome_outputs(snakemake.output),
        spec=model_spec(**snakemake.params.model),
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options=snakemake.params.sumstats_options,
        genome_wide=True,
    )
