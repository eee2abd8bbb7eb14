from vibank.genotypes import QCParams, run_qc
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    run_qc(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.bed.removesuffix(".bed"),
        snakemake.output.summary,
        snakemake.output.removed,
        sample_table=snakemake.input.samples,
        params=QCParams(**snakemake.params.qc),
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
