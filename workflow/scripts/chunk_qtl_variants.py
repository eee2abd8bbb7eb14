from vibank.stages.qtl import chunk_variants
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    chunks = snakemake.params.chunks
    chunk_variants(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.splits,
        snakemake.output.table,
        chrom=snakemake.wildcards.chrom,
        window_kb=chunks["window_kb"],
        step=chunks["step"],
        r2=chunks["r2"],
        min_maf=chunks["min_maf"],
        variants_per_chunk=chunks["variants_per_chunk"],
        threads=snakemake.threads,
        memory_mb=snakemake.resources.get("mem_mb"),
    )
