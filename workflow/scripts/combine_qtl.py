from vibank.stages.qtl import combine_qtl
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    calling = snakemake.params.calling
    combine_qtl(
        snakemake.input.tables,
        snakemake.input.jsons,
        protein_table=snakemake.input.genes or None,
        out_associations=snakemake.output.associations,
        out_calls=snakemake.output.calls,
        out_loci=snakemake.output.loci,
        out_hotspots=snakemake.output.hotspots,
        threshold=calling["ppi_threshold"],
        fdr_level=calling["fdr_level"],
        flank=calling["locus_flank_kb"] * 1000,
        cis_window=calling["cis_window_kb"] * 1000,
    )
