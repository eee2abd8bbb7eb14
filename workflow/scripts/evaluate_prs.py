from vibank.eval import evaluate_prs
from vibank.workflow import snakemake_job

with snakemake_job(snakemake):
    params, out = snakemake.params, snakemake.output
    evaluate_prs(
        params.runs,
        phenotypes=snakemake.input.phenotypes,
        covariates=snakemake.input.covariates,
        covariate_names=params.covariate_names,
        binary_traits=params.binary_traits,
        eigenvec=snakemake.input.eigenvec,
        # None: the pca.eigenval that compute_pcs writes next to the .eigenvec
        eigenval=snakemake.input.get("eigenval"),
        train_keeps=params.train_keeps,
        test_keeps=params.test_keeps,
        target_keeps=params.target_keeps,
        reference_population=params.reference_population,
        out_metrics=out.metrics,
        out_cv_summary=out.cv_summary,
        out_transfer=out.transfer,
    )
