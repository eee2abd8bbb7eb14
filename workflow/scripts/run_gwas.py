from vibank.genotypes import run_gwas
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    run_gwas(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.sumstats,
        chrom=snakemake.wildcards.chrom,
        keep=snakemake.input.keep,
        phenotypes=snakemake.input.phenotypes,
        trait=snakemake.wildcards.trait,
        binary=snakemake.params.binary,
        covariates=snakemake.input.covariates,
        covariate_names=snakemake.params.covariate_names,
        firth_fallback=snakemake.params.firth_fallback,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
