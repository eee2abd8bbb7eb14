# Helpers of the external summary statistics rules (rules/external.smk).


def get_external_file(wildcards):
    entry = EXTERNAL[wildcards.trait]
    if entry["simulate_from"]:
        return f"results/external/{wildcards.trait}/source.tsv.gz"
    return entry["file"]


def get_simulate_from_sumstats(wildcards):
    source = EXTERNAL[wildcards.trait]["simulate_from"]
    return [sumstats_path(source["trait"], str(source["fold"]), c) for c in CHROMS]


SIMULATED_EXTERNAL = [t for t, e in EXTERNAL.items() if e["simulate_from"]]


def get_agreement_pairs(wildcards):
    """Models fitted to both the external file and the study's GWAS it was made from, on the
    fold of that GWAS: their per-chromosome effect tables."""
    source = EXTERNAL[wildcards.trait]["simulate_from"]
    fold, own = str(source["fold"]), source["trait"]
    pairs = []
    for model in MODELS:
        if wildcards.trait not in model_traits(model) or own not in model_traits(model):
            continue
        if fold not in trait_folds(wildcards.trait):
            continue
        prefix = "results/prs/{}/{}/fold{}/chr{}.effects.tsv.gz"
        pairs.append(
            {
                "model": model,
                "external": wildcards.trait,
                "trait": own,
                "fold": fold,
                "external_effects": [
                    prefix.format(model, wildcards.trait, fold, c) for c in CHROMS
                ],
                "study_effects": [prefix.format(model, own, fold, c) for c in CHROMS],
            }
        )
    return pairs


def get_agreement_effects(wildcards):
    return [
        path
        for pair in get_agreement_pairs(wildcards)
        for path in pair["external_effects"] + pair["study_effects"]
    ]


def get_external_outputs():
    return [
        *(f"results/external/{t}/harmonisation.tsv" for t in EXTERNAL),
        *(f"results/external/{t}/agreement.tsv" for t in SIMULATED_EXTERNAL),
    ]


def get_external_harmonise_options(wildcards):
    """prs.harmonise with the external entry's keep_ambiguous, strands checked."""
    options = {**config["prs"]["harmonise"], "strand": "check"}
    if EXTERNAL[wildcards.trait]["keep_ambiguous"] is not None:
        options["keep_ambiguous"] = EXTERNAL[wildcards.trait]["keep_ambiguous"]
    return options
