from vibank.genotypes.reference import prepare_reference
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    panel = snakemake.params.panel
    prepare_reference(
        snakemake.input.bed.removesuffix(".bed"),
        snakemake.output.bed.removesuffix(".bed"),
        snakemake.output.summary,
        snakemake.output.audit,
        target_bim=snakemake.input.target[0] if snakemake.input.target else None,
        keep=panel.get("keep"),
        sample_table=panel.get("sample_table"),
        population=panel.get("population"),
        qc=panel.get("qc"),
        gwas=snakemake.params.gwas,
        threads=snakemake.threads,
        memory_mb=snakemake.resources.mem_mb,
    )
