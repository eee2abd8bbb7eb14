from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.plot import accuracy

    accuracy(
        snakemake.input.cv_summary,
        Path(snakemake.output.png).with_suffix(""),
        models=snakemake.params.models,
    )
