from vibank.prs.spec import model_spec
from vibank.stages.prs import fit_prs
from vibank.workflow import chromosome_outputs, snakemake_job

with snakemake_job(snakemake):
    inputs, params = snakemake.input, snakemake.params
    options = dict(
        spec=model_spec(**params.model),
        trait=snakemake.wildcards.trait,
        model_name=snakemake.wildcards.model,
        n_threads=snakemake.threads,
        min_overlap=params.min_overlap,
        sumstats_options=params.sumstats_options,
    )
    outputs = chromosome_outputs(snakemake.output)
    if params.genome_wide:
        # one fit over all chromosomes: shared hyperparameters
        fit_prs(list(inputs.sumstats), list(inputs.ld), outputs, genome_wide=True, **options)
    else:
        # each chromosome fitted on its own, in one process
        for sumstats, ld, output in zip(inputs.sumstats, inputs.ld, outputs, strict=True):
            fit_prs([sumstats], [ld], [output], **options)
