from vibank.stages.qtl import fit_qtl_chunk
from vibank.workflow import snakemake_job

# the same library call as `vibank qtl`; every pair is kept (min_ppi 0) for combine_qtl and
# the evaluation against the simulated truth
with snakemake_job(snakemake):
    fit_qtl_chunk(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.proteins,
        chunk_table=snakemake.input.chunks,
        chunk=snakemake.wildcards.chunk,
        out_table=snakemake.output.table,
        out_json=snakemake.output.json,
        cavi=snakemake.wildcards.cavi,
        model_options=snakemake.params.model_options,
        threads=snakemake.threads,
    )
