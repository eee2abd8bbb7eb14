"""Evaluation tables built from saved result files (scores, fit JSONs, benchmarks).

The tables are the contract with ``vibank.plot`` and the report; their columns are fixed:

``metrics.tsv``
    model, trait, fold, target, n, overlap, r2, incremental_r2, incremental_r2_se, auprc, auroc.
    One row per scored set: ``target`` is test or validation (the fold's reference-population
    samples) or a target population (AFR, EAS). ``n`` samples with a phenotype and covariates;
    ``overlap`` scored / weighted variants; ``r2`` = R^2(pheno ~ PRS); ``incremental_r2`` =
    R^2(pheno ~ PRS + covariates) - R^2(pheno ~ covariates) with its delta-method SE (see
    :func:`vibank.eval.metrics.incremental_r2`); binary traits are coded 0/1 for the R^2s;
    ``auprc`` (average precision) and ``auroc`` of the PRS alone, NaN for quantitative traits.
``cv_summary.tsv``
    model, trait, target, n_folds, incremental_r2_mean, incremental_r2_se, auprc_mean,
    auprc_se: mean over folds and its standard error sd / sqrt(n_folds) (ddof 1).
``transfer.tsv``
    model, trait, fold, population, r2_target, r2_eur_test_best, relative_r2, pc_distance.
    r2_target is the incremental R^2 in the population's set (the reference population's row
    uses the fold's test samples); r2_eur_test_best the highest incremental R^2 of any model
    for the trait on that fold's test samples; relative_r2 their ratio. pc_distance is the
    Euclidean distance between the centroids of the fold's training samples and of the set, in
    the PC scores of all QC'd samples: every PC of ``pca.eigenvec`` times the square root of
    its eigenvalue in ``pca.eigenval`` (see :func:`pc_distance_table`).
``h2.tsv``
    model, trait, fold, h2_estimated, h2_true, pi_estimated, pi_true, flags, prevalence,
    h2_liability. h2_estimated sums the fits' per-chromosome ``h2`` (NaN when a chromosome has
    none, e.g. baselines, model averages); pi_estimated is the variant-weighted mean of the
    per-chromosome ``pi``; the true values come from the simulation's traits.tsv (NaN for
    phenotypes from a file). A binary trait's h2_estimated is on the observed 0/1 scale and its
    h2_true on the liability scale: prevalence is the simulated population prevalence K (NaN
    for quantitative traits) and h2_liability the estimate converted to the liability scale
    (:func:`vibank.eval.metrics.observed_to_liability_h2`, Lee et al. 2011) with the sample
    prevalence P of the fit's dict, else P = K (NaN without a prevalence).
``runtime.tsv``
    model, trait, fold, rule, seconds, max_rss_mb: wall-clock seconds summed over a fit's
    benchmark files (one per chromosome for per-chromosome fits) and the largest peak RSS.
"""

import json
import logging

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.eval.metrics import (binary_metrics, centroid_distance, incremental_r2,
                                 observed_to_liability_h2, relative_r2)
from vibank.eval.scoring import read_scores
from vibank.io.atomic import write_table
from vibank.io.plink import read_keep

log = logging.getLogger(__name__)

METRICS_COLUMNS = ["model", "trait", "fold", "target", "n", "overlap", "r2", "incremental_r2",
                   "incremental_r2_se", "auprc", "auroc"]
CV_COLUMNS = ["model", "trait", "target", "n_folds", "incremental_r2_mean", "incremental_r2_se",
              "auprc_mean", "auprc_se"]
TRANSFER_COLUMNS = ["model", "trait", "fold", "population", "r2_target", "r2_eur_test_best",
                    "relative_r2", "pc_distance"]
H2_COLUMNS = ["model", "trait", "fold", "h2_estimated", "h2_true", "pi_estimated", "pi_true",
              "flags", "prevalence", "h2_liability"]
RUNTIME_COLUMNS = ["model", "trait", "fold", "rule", "seconds", "max_rss_mb"]
#: score sets drawn from the reference population; any other target is a population
REFERENCE_TARGETS = ("test", "validation")


def _write(table, path):
    """TSV with 8 significant digits and NaN spelled out (not an empty field)."""
    write_table(table, path, float_format="%.8g", na_rep="NaN")


def read_phenotype(path, trait, *, binary):
    """Phenotype ``trait`` as a Series IID -> value without missing values (-9, NA); binary
    traits coded 1/2 (plink) become 0/1."""
    table = pd.read_csv(path, sep="\t", dtype={col.FID: str, col.IID: str})
    if trait not in table.columns:
        raise VibankError(f"{path}: no column {trait}")
    y = pd.Series(table[trait].to_numpy(np.float64), index=table[col.IID]).replace(-9, np.nan)
    y = y.dropna()
    if binary:
        if not y.isin((1, 2)).all():
            raise VibankError(f"{path}: binary trait {trait} has values other than 1, 2")
        y = y - 1
    return y


def score_metrics(scores, y, covariates, *, binary):
    """Metrics of one score set: n, r2, incremental_r2 (+ SE), auprc, auroc.

    ``scores``, ``y`` and ``covariates`` are indexed by IID; samples lacking any are left out.
    """
    data = pd.concat([scores.rename("PRS"), y.rename("Y"), covariates], axis=1,
                     join="inner").dropna()
    if len(data) < len(covariates.columns) + 3:
        log.warning("%d samples with a phenotype and covariates: metrics left undefined", len(data))
        return {"n": len(data), "r2": np.nan, "incremental_r2": np.nan,
                "incremental_r2_se": np.nan, "auprc": np.nan, "auroc": np.nan}
    prs, pheno = data["PRS"].to_numpy(), data["Y"].to_numpy()
    c = data[covariates.columns].to_numpy(np.float64)
    r2, _ = incremental_r2(pheno, prs)
    delta, se = incremental_r2(pheno, prs, c)
    auprc, auroc = binary_metrics(pheno, prs) if binary else (np.nan, np.nan)
    return {"n": len(data), "r2": r2, "incremental_r2": delta, "incremental_r2_se": se,
            "auprc": auprc, "auroc": auroc}


def metrics_table(runs, *, phenotypes, covariates, covariate_names, binary_traits):
    """The metrics table (see the module docstring) of scored sets.

    Parameters
    ----------
    runs : iterable of dicts with model, trait, fold, target, sscore (score table of
        :func:`vibank.eval.scoring.score_samples`), json (its overlap summary) and optionally
        phenotype (the column scored against; default: trait, e.g. an external GWAS's trait)
        and score (the column of a :func:`~vibank.eval.scoring.score_samples_many` table,
        whose json holds one summary per column)
    phenotypes : FID IID <trait>... table
    covariates : FID IID <covariate>... table
    covariate_names : the covariate columns adjusted for
    binary_traits : names of the binary phenotypes
    """
    cov = pd.read_csv(covariates, sep="\t", dtype={col.FID: str, col.IID: str})
    missing = [c for c in covariate_names if c not in cov.columns]
    if missing:
        raise VibankError(f"{covariates}: no covariate column {missing[0]}")
    cov = cov.set_index(col.IID)[list(covariate_names)].astype(np.float64)
    pheno = {}
    rows = []
    for run in runs:
        trait, phenotype = run["trait"], run.get("phenotype", run["trait"])
        binary = phenotype in binary_traits
        if phenotype not in pheno:
            pheno[phenotype] = read_phenotype(phenotypes, phenotype, binary=binary)
        score = run.get("score")
        with open(run["json"]) as fh:
            summary = json.load(fh)
        overlap = (summary if score is None else summary[score])["overlap"]
        values = score_metrics(read_scores(run["sscore"], score), pheno[phenotype], cov,
                               binary=binary)
        rows.append({"model": run["model"], "trait": trait, "fold": int(run["fold"]),
                     "target": run["target"], "overlap": overlap, **values})
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def _mean_se(values):
    values = values.dropna()
    n = len(values)
    se = values.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
    return (values.mean() if n else np.nan), se


def cv_summary_table(metrics):
    """Mean and standard error over folds per model, trait and target (see module docstring)."""
    rows = []
    for (model, trait, target), group in metrics.groupby(["model", "trait", "target"], sort=False):
        r2_mean, r2_se = _mean_se(group["incremental_r2"])
        auprc_mean, auprc_se = _mean_se(group["auprc"])
        rows.append({"model": model, "trait": trait, "target": target,
                     "n_folds": group["fold"].nunique(), "incremental_r2_mean": r2_mean,
                     "incremental_r2_se": r2_se, "auprc_mean": auprc_mean,
                     "auprc_se": auprc_se})
    return pd.DataFrame(rows, columns=CV_COLUMNS)


def _pc_scores(eigenvec, eigenval=None):
    """PC scores of plink2 ``--pca``: each unit-norm eigenvector times the square root of its
    eigenvalue, as a DataFrame IID x PC1..PCk.

    plink2 writes eigenvectors ``u_k`` of the genomic relationship matrix G = X X' / M (X the
    standardised genotypes, M variants) with ``sum_i u_ik^2 = 1``, so a group of n samples sits
    about 1/sqrt(n) from the origin on its own PC whatever its ancestry. The scores
    ``u_k sqrt(lambda_k)`` are the coordinates of the samples' genotype rows X / sqrt(M) on the
    principal axes: squared distances between them are mean squared (standardised) genotype
    differences restricted to the top k PCs, a scale on which populations separate by ancestry.

    Parameters
    ----------
    eigenvec : plink2 .eigenvec
    eigenval : plink2 .eigenval (one eigenvalue per line, in PC order); default: the .eigenval
        next to ``eigenvec`` with the same prefix, as plink2 writes them
    """
    eigenvec = str(eigenvec)
    if eigenval is None:
        if not eigenvec.endswith(".eigenvec"):
            raise VibankError(f"{eigenvec}: name the .eigenval file (no .eigenvec suffix to "
                              "derive it from)")
        eigenval = eigenvec.removesuffix(".eigenvec") + ".eigenval"
    pcs = pd.read_csv(eigenvec, sep="\t", dtype={"#FID": str, "FID": str, "IID": str, "#IID": str})
    pcs = pcs.rename(columns={"#FID": col.FID, "#IID": col.IID}).set_index(col.IID)
    pcs = pcs[[c for c in pcs.columns if c.startswith("PC")]]
    try:
        values = np.loadtxt(eigenval, dtype=np.float64, ndmin=1)
    except OSError as err:
        raise VibankError(f"{eigenval}: cannot read the PCA eigenvalues ({err})") from None
    if len(values) != pcs.shape[1]:
        raise VibankError(f"{eigenval}: {len(values)} eigenvalues for the {pcs.shape[1]} PCs "
                          f"of {eigenvec}")
    if (values < 0).any():
        raise VibankError(f"{eigenval}: negative eigenvalue {values.min():.4g}")
    return pcs * np.sqrt(values)


def pc_distance_table(eigenvec, train_keeps, sets, *, eigenval=None):
    """Distances between each fold's training samples and other sample sets in PC space.

    The distance is Euclidean between the sets' centroids in the PC scores of
    :func:`_pc_scores` (eigenvectors scaled by sqrt(eigenvalue)), so a PC counts by the genetic
    variance it carries and a population far from the training samples in ancestry is far from
    them here.

    Parameters
    ----------
    eigenvec : plink2 .eigenvec of all samples
    train_keeps : {fold: keep file of the fold's training samples}
    sets : {(fold, population): keep file}; use fold None for a set shared by every fold
    eigenval : plink2 .eigenval of the PCA; default: next to ``eigenvec`` (same prefix)

    Returns
    -------
    DataFrame fold, population, pc_distance
    """
    pcs = _pc_scores(eigenvec, eigenval)

    def coords(keep):
        iids = read_keep(keep)[col.IID]
        absent = ~iids.isin(pcs.index)
        if absent.any():
            raise VibankError(f"{eigenvec}: no PCs for sample {iids[absent].iloc[0]} of {keep}")
        return pcs.loc[iids].to_numpy()

    cache = {}
    rows = []
    for fold, train in train_keeps.items():
        reference = coords(train)
        for (set_fold, population), keep in sets.items():
            if set_fold not in (None, fold):
                continue
            if keep not in cache:
                cache[keep] = coords(keep)
            rows.append({"fold": int(fold), "population": population,
                         "pc_distance": centroid_distance(reference, cache[keep])})
    return pd.DataFrame(rows, columns=["fold", "population", "pc_distance"])


def transfer_table(metrics, distances, *, reference_population="EUR"):
    """Ancestry transfer per model, trait, fold and population (see the module docstring).

    Parameters
    ----------
    metrics : the metrics table
    distances : fold, population, pc_distance (:func:`pc_distance_table`)
    reference_population : name given to the rows of the fold's test samples
    """
    test = metrics[metrics["target"] == "test"]
    best = (test.groupby(["trait", "fold"])["incremental_r2"].max()
            .rename("r2_eur_test_best").reset_index())
    sets = metrics[~metrics["target"].isin(REFERENCE_TARGETS) | (metrics["target"] == "test")]
    table = sets.assign(population=sets["target"].replace("test", reference_population))
    table = table.rename(columns={"incremental_r2": "r2_target"})
    table = table.merge(best, on=["trait", "fold"], how="left")
    table = table.merge(distances, on=["fold", "population"], how="left")
    table["relative_r2"] = relative_r2(table["r2_target"], table["r2_eur_test_best"])
    return table[TRANSFER_COLUMNS].reset_index(drop=True)


def evaluate_prs(runs, *, phenotypes, covariates, covariate_names, binary_traits, eigenvec,
                 train_keeps, test_keeps, target_keeps, reference_population, out_metrics,
                 out_cv_summary, out_transfer, eigenval=None):
    """Write metrics.tsv, cv_summary.tsv and transfer.tsv (see the module docstring).

    ``train_keeps`` and ``test_keeps`` map each fold to its keep file, ``target_keeps`` each
    target population to its keep file; ``eigenval`` is that of :func:`pc_distance_table`; the
    other arguments are those of :func:`metrics_table`.
    """
    metrics = metrics_table(runs, phenotypes=phenotypes, covariates=covariates,
                            covariate_names=covariate_names, binary_traits=binary_traits)
    sets = {(int(f), reference_population): keep for f, keep in test_keeps.items()}
    sets.update({(None, pop): keep for pop, keep in target_keeps.items()})
    distances = pc_distance_table(eigenvec, {int(f): k for f, k in train_keeps.items()}, sets,
                                  eigenval=eigenval)
    _write(metrics, out_metrics)
    _write(cv_summary_table(metrics), out_cv_summary)
    _write(transfer_table(metrics, distances, reference_population=reference_population),
           out_transfer)
    log.info("%d scored sets evaluated", len(metrics))
    return metrics


# -- fits: heritability and runtime ------------------------------------------------------------
def h2_table(fits, traits_summary=None):
    """Estimated vs true h2 and pi per model, trait and fold (see the module docstring).

    Parameters
    ----------
    fits : iterable of dicts with model, trait, fold and json (the per-chromosome fit JSONs),
        phenotype (the simulated trait whose truth applies; default: trait) and optionally
        sample_prevalence (case share of the fit's GWAS samples; default: the prevalence)
    traits_summary : the simulation's traits.tsv (trait, h2, pi, prevalence, ...) or None
    """
    truth = pd.DataFrame(columns=["h2", "pi", "prevalence"])
    if traits_summary is not None:
        truth = pd.read_csv(traits_summary, sep="\t", dtype={"trait": str}).set_index("trait")
    # binary traits' K; traits.tsv files written before the column existed have none
    prevalences = truth["prevalence"] if "prevalence" in truth.columns else pd.Series(dtype=float)
    rows = []
    for fit in fits:
        parts = []
        for path in fit["json"]:
            with open(path) as fh:
                parts.append(json.load(fh))
        h2 = [p.get("h2") for p in parts]
        pi = np.array([np.nan if p.get("pi") is None else p["pi"] for p in parts], dtype=float)
        m = np.array([p.get("n_variants", 0) for p in parts], dtype=float)
        trait, phenotype = fit["trait"], fit.get("phenotype", fit["trait"])
        h2_estimated = np.nan if any(v is None for v in h2) else float(np.sum(h2))
        prevalence = float(prevalences.get(phenotype, np.nan))
        h2_liability = np.nan
        if np.isfinite(prevalence):
            h2_liability = observed_to_liability_h2(
                h2_estimated, prevalence=prevalence,
                sample_prevalence=fit.get("sample_prevalence", prevalence))
        rows.append({
            "model": fit["model"], "trait": trait, "fold": int(fit["fold"]),
            "h2_estimated": h2_estimated,
            "h2_true": truth["h2"].get(phenotype, np.nan),
            "pi_estimated": float(pi @ m / m.sum()) if m.sum() > 0 else np.nan,
            "pi_true": truth["pi"].get(phenotype, np.nan),
            # the guards that fired (vibank.prs.guards), "chr<c>:<flag>" per chromosome fit
            "flags": ";".join(f"chr{p.get('chrom', '?')}:{flag}" for p in parts
                              for flag in p.get("flags", [])),
            "prevalence": prevalence, "h2_liability": h2_liability,
        })
    return pd.DataFrame(rows, columns=H2_COLUMNS)


def read_benchmark(path):
    """Seconds and peak RSS (MB) of a Snakemake benchmark file (its first repeat)."""
    table = pd.read_csv(path, sep="\t")
    for name in ("s", "max_rss"):
        if name not in table.columns:
            raise VibankError(f"{path}: not a Snakemake benchmark file (no column {name})")
    first = table.iloc[0]
    return float(first["s"]), float(pd.to_numeric(first["max_rss"], errors="coerce"))


def runtime_table(fits):
    """Runtime and peak memory per model, trait, fold and fitting rule.

    Parameters
    ----------
    fits : iterable of dicts with model, trait, fold, rule and timing: the fit job's table
        (``vibank.stages.prs.fit_models``) with the model's row (seconds, max_rss_mb)
    """
    rows, tables = [], {}
    for entry in fits:
        path = str(entry["timing"])
        if path not in tables:
            tables[path] = pd.read_csv(path, sep="\t").set_index("model")
        if entry["model"] not in tables[path].index:
            raise VibankError(f"{path}: no row for model {entry['model']}")
        timing = tables[path].loc[entry["model"]]
        rows.append({"model": entry["model"], "trait": entry["trait"],
                     "fold": int(entry["fold"]), "rule": entry["rule"],
                     "seconds": float(timing["seconds"]),
                     "max_rss_mb": float(timing["max_rss_mb"])})
    return pd.DataFrame(rows, columns=RUNTIME_COLUMNS)


def summarise_fits(fits, *, traits_summary, out_h2, out_runtime):
    """Write h2.tsv (:func:`h2_table`) and runtime.tsv (:func:`runtime_table`) of ``fits``,
    dicts with model, trait, fold, json (fit JSONs), rule and timing (the fit job's table)."""
    _write(h2_table(fits, traits_summary), out_h2)
    _write(runtime_table(fits), out_runtime)


TARGET_COLUMNS = ["model", "trait", "fold", "phenotype", "group", "n", "overlap", "r2",
                  "incremental_r2", "incremental_r2_se", "auprc", "auroc"]


def _read_id_table(path, what):
    """A whitespace- or tab-separated table with FID (optional) and IID columns, by IID."""
    table = pd.read_csv(path, sep=r"\s+", dtype=str)
    table = table.rename(columns={"#FID": col.FID, "#IID": col.IID})
    if col.IID not in table.columns:
        raise VibankError(f"{path}: no IID column (the {what} table needs FID IID ...)")
    dup = table[col.IID].duplicated()
    if dup.any():
        raise VibankError(f"{path}: row {int(np.flatnonzero(dup)[0]) + 2}: duplicated IID "
                          f"{table[col.IID][dup].iloc[0]}")
    return table.drop(columns=[col.FID], errors="ignore").set_index(col.IID)


def _target_phenotype(table, column, path):
    """A phenotype column by IID, missing (-9, NA) dropped, with whether it is binary: values
    0/1, or 1/2 (plink's coding, made 0/1)."""
    if column not in table.columns:
        raise VibankError(f"{path}: no phenotype column {column}")
    y = pd.to_numeric(table[column], errors="coerce").replace(-9, np.nan).dropna()
    values = set(np.unique(y))
    if values <= {1.0, 2.0} and len(values) == 2:
        return y - 1, True
    return y, values <= {0.0, 1.0} and len(values) == 2


def target_metrics(runs, *, phenotypes, covariates=None, groups=None):
    """Accuracy of scores of a target biobank, per ancestry group and over all its samples.

    Parameters
    ----------
    runs : dicts with model, trait, fold, phenotype (the column of ``phenotypes``), sscore and
        json (:func:`vibank.eval.scoring.score_samples` outputs)
    phenotypes : table FID IID <phenotype>... (whitespace- or tab-separated; -9/NA missing;
        a column of 0/1 or 1/2 values is binary)
    covariates : optional table FID IID <covariate>... (all columns are adjusted for)
    groups : optional table FID IID GROUP (e.g. ancestry); each group gets its rows, and
        ``all`` every sample

    Returns
    -------
    DataFrame with TARGET_COLUMNS: metrics as in ``metrics.tsv`` (incremental R^2 over the
    covariates, AUPRC/AUROC for binary phenotypes)
    """
    pheno = _read_id_table(phenotypes, "phenotype")
    cov = (_read_id_table(covariates, "covariate").apply(pd.to_numeric, errors="coerce")
           if covariates else pd.DataFrame(index=pheno.index))
    group = (_read_id_table(groups, "group") if groups else pd.DataFrame(index=pheno.index))
    if groups and "GROUP" not in group.columns:
        raise VibankError(f"{groups}: no GROUP column (FID IID GROUP)")
    rows = []
    for run in runs:
        y, binary = _target_phenotype(pheno, run["phenotype"], phenotypes)
        scores = read_scores(run["sscore"])
        with open(run["json"]) as fh:
            overlap = json.load(fh)["overlap"]
        sets = [("all", scores.index)]
        if groups:
            labels = group["GROUP"].reindex(scores.index)
            sets += [(g, labels.index[labels == g]) for g in sorted(labels.dropna().unique())]
        for name, ids in sets:
            values = score_metrics(scores.loc[ids], y, cov, binary=binary)
            rows.append({"model": run["model"], "trait": run["trait"], "fold": run["fold"],
                         "phenotype": run["phenotype"], "group": name, "overlap": overlap,
                         **values})
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)
