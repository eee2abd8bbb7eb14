from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    from vibank.eval.scoring import score_samples

    out = snakemake.output
    score_samples(
        [snakemake.input.score],
        snakemake.params.prefix,
        None,
        out_sscore=out.sscore,
        out_vars=out.vars,
        out_json=out.json,
        audit_out=out.audit,
        min_overlap=snakemake.params.min_overlap,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
