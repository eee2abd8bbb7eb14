from pathlib import Path

from vibank.prs.spec import model_spec
from vibank.stages.prs import tune_prs
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    inp = snakemake.input
    tune_prs(
        list(inp.sumstats),
        list(inp.ld),
        chromosome_outputs(snakemake.output),
        grid_out=snakemake.output.grid,
        spec=model_spec(**snakemake.params.model),
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        # absent unless the metric reads validation genotypes (get_tune_validation)
        validation=(
            (str(Path(inp.bed).with_suffix("")), inp.validation, inp.phenotypes)
            if "bed" in inp.keys()
            else None
        ),
        phenotype=snakemake.params.phenotype,
        seed=snakemake.params.seed,
        n_threads=snakemake.threads,
        min_overlap=snakemake.params.min_overlap,
        sumstats_options=snakemake.params.sumstats_options,
    )
