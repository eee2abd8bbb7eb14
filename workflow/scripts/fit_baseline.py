from pathlib import Path

from vibank.pipelines import fit_baseline
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_baseline(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        [
            {"effects": e, "json": j, "pgs": p, "score": s}
            for e, j, p, s in zip(out.effects, out.json, out.pgs, out.score)
        ],
        grid_out=out.grid,
        method=snakemake.params.baseline["method"],
        options=snakemake.params.baseline["options"],
        bfile=str(Path(snakemake.input.bed).with_suffix("")),
        validation_keep=snakemake.input.validation,
        ld_panel_keep=snakemake.input.ld_panel,
        phenotypes=snakemake.input.phenotypes,
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        seed=snakemake.params.seed,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        workdir=snakemake.resources.get("tmpdir"),
    )
