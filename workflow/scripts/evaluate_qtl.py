from vibank.stages.qtl import evaluate_qtl
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    evaluate_qtl(
        snakemake.params.modes,
        snakemake.input.associations,
        snakemake.input.hotspots,
        snakemake.input.jsons,
        truth=snakemake.input.truth or None,
        threshold=snakemake.params.threshold,
        out_metrics=snakemake.output.metrics,
        out_runtime=snakemake.output.runtime,
    )
