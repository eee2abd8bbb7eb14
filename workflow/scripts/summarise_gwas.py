from vibank.genotypes.gwas import summarise_gwas
from vibank.io.atomic import write_table
from vibank.workflow import snakemake_job

with snakemake_job(snakemake) as log:
    summary = summarise_gwas(snakemake.input.sumstats, snakemake.params.gwas_keys)
    write_table(summary, snakemake.output.summary, float_format="%.5g")
    log.info("mean chi2 per trait:\n%s", summary.groupby("trait")["mean_chi2"].mean())
