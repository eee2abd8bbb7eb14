# Helpers of the PRS fit jobs (rules prs.smk): which models and traits each job fits, its
# inputs, outputs and wall-time request (prs.jobs: per_trait or per_model).


def fit_jobs():
    """(name, models, traits) of each PRS fit job kind, per trait with the models fitted to
    it (prs.jobs per_trait), or per model with the traits it is fitted to (per_model).
    """
    if config["prs"]["jobs"] == "per_model":
        return [(f"fit_prs_{m}", [m], model_traits(m)) for m in MODELS]
    return [
        (f"fit_prs_{t}", [m for m in MODELS if t in model_traits(m)], [t])
        for t in FIT_TRAITS
        if any(t in model_traits(m) for m in MODELS)
    ]


FIT_JOBS = fit_jobs()


def fit_job_name(model, trait):
    """The name of the fit job kind that fits ``model`` to ``trait``."""
    return next(n for n, ms, ts in FIT_JOBS if model in ms and trait in ts)


def fit_job_outputs(models, name, grid_only=False):
    """One output file ``name`` (with {chrom}: one per chromosome) of each model of a fit
    job; with grid_only, of its tuned and baseline models only."""
    if grid_only:
        models = [m for m in models if m not in VEM_MODELS]
    return expand(
        f"results/prs/{{model}}/{{{{trait}}}}/fold{{{{fold}}}}/{name}",
        model=models,
        chrom=CHROMS,
    )


def fit_job_runtime(models):
    """Wall-time request (minutes) of a fit job: the sum of its models' (variational EM 60,
    a tuned strategy or baseline 240, each more with the input size)."""
    minutes = sum(60 if m in VEM_MODELS else 240 for m in models)
    return runtime_for(minutes, per_gb_input=2 * minutes)


def fit_job_inputs(models):
    """Input function of a fit job: the statistics and LD of every chromosome, and the
    validation samples' genotypes, keep file and phenotypes when a model reads them (a tuned
    strategy with metric validation, a baseline), the LD panel's keep file for C+T."""
    specs = [config["prs"]["models"][m] for m in models]
    validation = STUDY and any(
        s["method"] != "viprs"
        or (s["strategy"] != "vem" and s["metric"] == "validation")
        for s in specs
    )
    clumping = any(s["method"] == "ct" for s in specs)

    def inputs(wildcards):
        paths = {
            "sumstats": get_prs_sumstats_all(wildcards),
            "ld": get_prs_ld_stores_all(wildcards),
        }
        if validation:
            paths.update(
                get_qc_genotypes(),
                validation=f"results/splits/fold{wildcards.fold}/validation.keep",
                phenotypes="results/phenotypes/phenotypes.tsv",
            )
        if clumping:
            paths["ld_panel"] = "results/splits/ld_panel.keep"
        return paths

    return inputs
