from vibank.stages.qtl import simulate_qtl_proteins
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    sim = snakemake.params.simulate
    simulate_qtl_proteins(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.input.splits,
        snakemake.input.chunks,
        out_proteins=snakemake.output.proteins,
        out_protein_table=snakemake.output.genes,
        out_truth=snakemake.output.truth,
        n_proteins=sim["n_proteins"],
        n_active_variants=sim["n_active_variants"],
        active_protein_fraction=sim["active_protein_fraction"],
        mean_pve=sim["mean_pve"],
        block_size=sim["block_size"],
        max_block_rho=sim["max_block_rho"],
        cis_fraction=sim["cis_fraction"],
        cis_window=snakemake.params.cis_window,
        seed=sim["seed"],
    )
