from vibank.genotypes import make_covariates
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    make_covariates(
        snakemake.input.eigenvec, snakemake.input.samples, snakemake.output.covariates
    )
