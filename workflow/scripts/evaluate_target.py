from vibank.workflow import snakemake_job

with snakemake_job(snakemake) as log:
    from vibank.eval.tables import target_metrics
    from vibank.io.atomic import write_table

    table = target_metrics(
        snakemake.params.runs,
        phenotypes=snakemake.input.phenotypes,
        covariates=snakemake.params.covariates,
        groups=snakemake.params.groups,
    )
    write_table(table, snakemake.output.metrics, float_format="%.8g", na_rep="NaN")
    log.info("%d rows: %s", len(table), ", ".join(map(str, table["group"].unique())))
