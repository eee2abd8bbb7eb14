from vibank.eval import summarise_fits
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    summarise_fits(
        snakemake.params.fits,
        traits_summary=snakemake.input.traits or None,
        out_h2=snakemake.output.h2,
        out_runtime=snakemake.output.runtime,
    )
