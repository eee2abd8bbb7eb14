from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.plot.qtl import cavi_modes, hotspots, ppi_heatmap, runtime

    out = snakemake.output
    hotspots(snakemake.input.hotspots, Path(out.hotspots).with_suffix(""))
    ppi_heatmap(
        snakemake.input.associations[0],
        snakemake.input.hotspots,
        Path(out.heatmap).with_suffix(""),
    )
    runtime(
        snakemake.input.runtime,
        Path(out.runtime).with_suffix(""),
        modes=snakemake.params.modes,
        metrics=snakemake.input.metrics,
    )
    cavi_modes(
        snakemake.input.associations,
        Path(out.modes).with_suffix(""),
        modes=snakemake.params.modes,
        metrics=snakemake.input.metrics,
        threshold=snakemake.params.threshold,
    )
