from pathlib import Path

from vibank.genotypes import SplitParams, make_splits
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    make_splits(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.samples,
        snakemake.input.phenotypes,
        snakemake.params.binary_traits,
        Path(snakemake.output.table).parent,
        params=SplitParams(**snakemake.params.splits),
        seed=snakemake.params.seed,
    )
