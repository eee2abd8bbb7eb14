from vibank.eval import score_samples
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    score_samples(
        list(snakemake.input.score),
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.keep,
        out_sscore=out.sscore,
        out_vars=out.variants,
        out_json=out.json,
        min_overlap=snakemake.params.min_overlap,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
