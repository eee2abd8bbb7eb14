from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.plot import transfer

    transfer(
        snakemake.input.transfer,
        Path(snakemake.output.png).with_suffix(""),
        models=snakemake.params.models,
    )
