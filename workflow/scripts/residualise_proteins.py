from vibank.stages.qtl import residualise_proteins
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    residualise_proteins(
        snakemake.input.proteins,
        snakemake.input.covariates,
        snakemake.input.splits,
        snakemake.output.proteins,
        covariates=snakemake.params.covariates,
    )
