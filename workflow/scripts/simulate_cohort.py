from vibank.simulate import CohortParams, simulate_cohort
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    out = snakemake.output
    params = CohortParams(**snakemake.params.simulate, seed=snakemake.params.seed)
    simulate_cohort(
        out.bed.removesuffix(".bed"), out.samples, params, n_jobs=snakemake.threads
    )
