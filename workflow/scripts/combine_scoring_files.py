from vibank.workflow import snakemake_job

with snakemake_job(snakemake) as log:
    from vibank.io.score_files import combine_scoring_files

    table = combine_scoring_files(
        snakemake.input.pgs, snakemake.output.pgs, snakemake.output.score
    )
    log.info(
        "%d variants from %d chromosomes, %d with a non-zero weight",
        len(table),
        len(snakemake.input.pgs),
        int((table["effect_weight"] != 0).sum()),
    )
