from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.genotypes.ancestry import assign_ancestry

    settings = snakemake.params.settings
    assign_ancestry(
        snakemake.params.reference,
        snakemake.params.labels,
        snakemake.params.target,
        snakemake.output.groups,
        n_pcs=settings["n_pcs"],
        alpha=settings["alpha"],
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
