from pathlib import Path

from vibank.pipelines import fit_baseline
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    fit_baseline(
        list(snakemake.input.sumstats),
        list(snakemake.input.ld),
        chromosome_outputs(out),
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
        sumstats_options={**snakemake.params.sumstats_options, "audit_out": list(out.audit)},
        phenotype=snakemake.params.phenotype,
        workdir=snakemake.resources.get("tmpdir"),
    )
