from vibank.stages.external import write_external_demo
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    write_external_demo(
        list(snakemake.input.sumstats),
        snakemake.output.table,
        snakemake.output.changes,
        format=snakemake.params.format,
        **snakemake.params.options,
    )
