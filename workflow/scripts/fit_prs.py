from pathlib import Path

from vibank.prs.spec import model_spec
from vibank.stages.prs import fit_models
from vibank.workflow import model_outputs, snakemake_job

with snakemake_job(snakemake):
    inp, params = snakemake.input, snakemake.params
    names = [name for name, _ in params.models]
    fit_models(
        [(name, model_spec(**settings)) for name, settings in params.models],
        list(inp.sumstats),
        list(inp.ld),
        model_outputs(snakemake.output, names),
        trait=snakemake.wildcards.trait,
        timing_out=snakemake.output.timing,
        # the validation samples' genotypes, when a model reads them (fit_job_inputs)
        validation=(
            (str(Path(inp.bed).with_suffix("")), inp.validation, inp.phenotypes)
            if "bed" in inp.keys()
            else None
        ),
        phenotype=params.phenotype,
        ld_panel_keep=inp.get("ld_panel"),
        seed=params.seed,
        n_threads=snakemake.threads,
        min_overlap=params.min_overlap,
        sumstats_options=params.sumstats_options,
        genome_wide=params.genome_wide,
        workdir=snakemake.resources.get("tmpdir"),
    )
