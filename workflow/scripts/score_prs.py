from vibank.eval import score_samples_many
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    for keep, sscore, variants, summary in zip(
        snakemake.input.keep, out.sscore, out.variants, out.json, strict=True
    ):
        score_samples_many(
            snakemake.params.score_sets,
            snakemake.input.bed.removesuffix(".bed"),
            keep,
            out_sscore=sscore,
            out_vars=variants,
            out_json=summary,
            min_overlap=snakemake.params.min_overlap,
            threads=snakemake.threads,
            memory_mb=snakemake.resources.mem_mb,
        )
