from vibank.ld import LDEstimator, build_ld_store
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    spec = dict(snakemake.params.estimator)
    ld = snakemake.params.ld
    build_ld_store(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.store,
        chrom=snakemake.wildcards.chrom,
        keep=snakemake.input.get("keep"),
        estimator=LDEstimator(name=spec.pop("estimator"), **spec),
        dtype=ld["dtype"],
        compute_dtype=ld["compute_dtype"],
        n_threads=snakemake.threads,
        bias_corrected_ld_score=ld["bias_corrected_ld_score"],
        genome_build=ld["genome_build"],
        eigenvalues=ld["eigenvalues"],
    )
