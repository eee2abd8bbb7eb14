from vibank.simulate.phenotypes import check_phenotype_file
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    check_phenotype_file(
        snakemake.input.phenotypes,
        snakemake.params.traits,
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.phenotypes,
    )
