from vibank.simulate.phenotypes import simulate_phenotypes
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    p = snakemake.params
    effects = dict(zip(p.traits, snakemake.output.effects))
    simulate_phenotypes(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.samples,
        p.traits,
        snakemake.output.phenotypes,
        effects,
        snakemake.output.summary,
        seed=p.seed,
        reference_population=p.reference_population,
        covariate_variance=p.covariate_variance,
        n_threads=snakemake.threads,
    )
