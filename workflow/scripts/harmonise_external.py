from vibank.stages.external import harmonise_external
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    entry = snakemake.params.entry
    harmonise_external(
        snakemake.input.sumstats,
        list(snakemake.input.ld),
        list(snakemake.output.sumstats),
        out_audit=snakemake.output.audit,
        out_summary=snakemake.output.summary,
        name=snakemake.wildcards.trait,
        sumstats_format=entry["format"],
        n=entry["n"],
        column_map=entry["column_map"] or None,
        harmonise_options=snakemake.params.harmonise_options,
        min_overlap=snakemake.params.min_overlap,
    )
