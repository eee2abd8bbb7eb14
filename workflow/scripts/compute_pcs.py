from vibank.genotypes import compute_pcs
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    pca = snakemake.params.pca
    prune = pca["prune"]
    compute_pcs(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.eigenvec,
        snakemake.output.eigenval,
        n_pcs=pca["n_pcs"],
        approx=pca["approx"],
        prune=(prune["window_kb"], prune["step"], prune["r2"]),
        seed=snakemake.params.seed,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
