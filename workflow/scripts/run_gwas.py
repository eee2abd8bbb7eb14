from vibank.genotypes import run_gwas_many
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out_paths = {}
    for (trait, chrom), path in zip(
        snakemake.params.gwas_keys, snakemake.output.sumstats, strict=True
    ):
        out_paths.setdefault(trait, {})[chrom] = path
    run_gwas_many(
        snakemake.input.bed.removesuffix(".bed"),
        out_paths,
        keep=snakemake.input.keep,
        phenotypes=snakemake.input.phenotypes,
        binary=snakemake.params.binary,
        covariates=snakemake.input.covariates,
        covariate_names=snakemake.params.covariate_names,
        firth_fallback=snakemake.params.firth_fallback,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
