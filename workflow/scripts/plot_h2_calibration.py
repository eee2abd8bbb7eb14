from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.plot import h2_calibration

    h2_calibration(
        snakemake.input.h2,
        Path(snakemake.output.png).with_suffix(""),
        models=snakemake.params.models,
        binary_traits=snakemake.params.binary_traits,
    )
