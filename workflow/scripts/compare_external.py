from vibank.stages.external import compare_fits
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    compare_fits(snakemake.params.pairs, snakemake.output.table)
