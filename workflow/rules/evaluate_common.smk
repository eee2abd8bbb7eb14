# Helpers of the scoring and evaluation of the PRS fits (rules/evaluate.smk, summaries).
TARGET_POPULATIONS = list(config["splits"]["target_populations"])
EVAL_TARGETS = ["test", "validation", *TARGET_POPULATIONS]
EVAL_TABLES = [
    f"results/eval/{name}.tsv"
    for name in ("metrics", "cv_summary", "transfer", "h2", "runtime")
]


def get_fit_keys():
    """(model, trait, fold) of every PRS fit."""
    return [(m, t, f) for m in MODELS for t in model_traits(m) for f in trait_folds(t)]


def get_score_keys():
    """(model, trait, fold, target) of every scored sample set."""
    return [(m, t, f, s) for m, t, f in get_fit_keys() for s in EVAL_TARGETS]


def get_fold_score_sets(wildcards):
    """{"<model>/<trait>": per-chromosome plink2 score files} of every fit of a fold."""
    return {
        f"{m}/{t}": [f"results/prs/{m}/{t}/fold{f}/chr{c}.score.tsv" for c in CHROMS]
        for m, t, f in get_fit_keys()
        if f == wildcards.fold
    }


def get_fold_score_files(wildcards):
    return [path for paths in get_fold_score_sets(wildcards).values() for path in paths]


def get_target_keeps_of_fold(wildcards):
    """Keep files of the scored sets of a fold, in EVAL_TARGETS order: the fold's test and
    validation samples, then the target populations."""
    fold = f"results/splits/fold{wildcards.fold}"
    return [
        (
            f"{fold}/{s}.keep"
            if s in ("test", "validation")
            else f"results/splits/target_{s}.keep"
        )
        for s in EVAL_TARGETS
    ]


def get_eval_runs():
    """Every scored set as a dict: model, trait, phenotype, fold, target, the sscore and json
    paths of the fold's scoring (rule score_prs) and its score column "<model>/<trait>".
    """
    runs = []
    for m, t, f, s in get_score_keys():
        prefix = f"results/eval/scores/fold{f}/{s}"
        runs.append(
            dict(
                model=m,
                trait=t,
                phenotype=phenotype_of(t),
                fold=f,
                target=s,
                sscore=f"{prefix}.sscore",
                json=f"{prefix}.json",
                score=f"{m}/{t}",
            )
        )
    return runs


def get_eval_scores(kind):
    """Paths of kind "sscore" (score tables) or "json" (overlap summaries) of get_eval_runs(),
    each once."""
    return list(dict.fromkeys(run[kind] for run in get_eval_runs()))


def get_fit_entries():
    """Every fit as a dict: model, trait, fold, json (per-chromosome fit JSONs), rule (the fit
    job's) and timing (the job's table of each model's seconds)."""
    entries = []
    for m, t, f in get_fit_keys():
        job = fit_job_name(m, t)
        entries.append(
            {
                "model": m,
                "trait": t,
                "phenotype": phenotype_of(t),
                "fold": f,
                "json": [f"results/prs/{m}/{t}/fold{f}/chr{c}.json" for c in CHROMS],
                "rule": job,
                "timing": f"results/prs/timing/{t}/fold{f}/{job}.tsv",
            }
        )
    return entries


def get_fit_timings(wildcards=None):
    return list(dict.fromkeys(entry["timing"] for entry in get_fit_entries()))


def get_fold_keeps(role):
    """{fold: keep file} of the folds' train, validation or test samples."""
    return {f: f"results/splits/fold{f}/{role}.keep" for f in FOLDS}


def get_target_keeps():
    """{population: keep file} of the ancestry-transfer targets."""
    return {p: f"results/splits/target_{p}.keep" for p in TARGET_POPULATIONS}


def get_traits_summary():
    """The simulation's true h2 and pi per trait (none for phenotypes from a file)."""
    return "results/phenotypes/traits.tsv" if SIMULATED_PHENOTYPES else []
