from vibank.stages.qtl import fit_qtl_chunk
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    fit_qtl_chunk(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.chunks,
        snakemake.input.proteins,
        chunk=snakemake.wildcards.chunk,
        out_table=snakemake.output.table,
        out_json=snakemake.output.json,
        cavi=snakemake.wildcards.cavi,
        model_options=snakemake.params.model_options,
        threads=snakemake.threads,
    )
