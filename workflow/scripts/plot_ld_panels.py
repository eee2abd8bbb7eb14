from pathlib import Path

from vibank.workflow import snakemake_job

with snakemake_job(snakemake) as log:
    from vibank.io.atomic import write_table
    from vibank.plot import ld_panels, ld_summary_table

    # stores and benchmarks are listed panel by panel, n_chroms each
    n = snakemake.params.n_chroms
    panels = snakemake.params.panels
    stores = {p: snakemake.input.stores[i * n : (i + 1) * n] for i, p in enumerate(panels)}
    # benchmarks only for the panels vibank computed (not for precomputed stores)
    benchmarks = {
        p: snakemake.input.benchmarks[i * n : (i + 1) * n]
        for i, p in enumerate(snakemake.params.computed)
    }
    table = ld_summary_table(stores, benchmarks)
    write_table(table, snakemake.output.table, float_format="%.6g")
    ld_panels(table, Path(snakemake.output.png).with_suffix(""))
    log.info("LD panels compared: %s", ", ".join(panels))
