from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.plot import grid_elbo

    # grid tables in the order of params.grid_keys: (model, trait, fold)
    grids = dict(zip(map(tuple, snakemake.params.grid_keys), snakemake.input.grids))
    grid_elbo(
        grids,
        Path(snakemake.output.png).with_suffix(""),
        binary_traits=snakemake.params.binary_traits,
    )
