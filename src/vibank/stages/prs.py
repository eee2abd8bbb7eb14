"""PRS stages: fit a model specification (``vibank.prs.spec``) on the inputs of
``load_fit_data`` and write each chromosome's result files, with the harmonisation audit.

Every stage takes the paths it reads, the paths it writes (``outputs``: per chromosome a dict
with "effects", "json", "pgs", "score" and "audit") and a :class:`~vibank.prs.spec.ModelSpec`.
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vibank.errors import VibankError
from vibank.io.atomic import write_table
from vibank.io.score_files import write_effect_table, write_json, write_pgs_catalog, write_plink_score
from vibank.parallel import thread_map
from vibank.prs import baselines, effects_table, ldsc_h2, tuning
from vibank.prs.effects import score_variance_shares
from vibank.prs.model import join_chromosomes
from vibank.prs.pseudo_validation import one_standard_error_choice, split_sumstats
from vibank.stages.fit_data import load_fit_data, load_validation

log = logging.getLogger(__name__)


def _fit_summary(model, prior):
    """The hyperparameters and convergence record of a fitted VIPRS, for the JSON files."""
    r = model.result_
    return {
        "prior": prior, "elbo": r.elbo, "pi": model.pi_, "sigma2_beta": model.sigma2_beta_,
        "pi_components": model.pi_components_.tolist(),
        "sigma2_components": model.sigma2_components_.tolist(),
        "alpha": model.alpha_ if prior == "alpha" else None, "sigma2_eps": model.sigma2_eps_,
        "h2_genome": model.h2_, "iterations": r.n_iter, "stop_reason": r.stop_reason,
        "seconds": r.seconds, "initial": model.initial_hyperparameters_, "history": r.history,
        "flags": [name for name, _ in r.flags], "flag_messages": [text for _, text in r.flags],
        "h2_ldsc": model.h2_ldsc_, "n_gwas_median": float(np.median(model.n_gwas_)),
        "n_eff_median": float(np.median(model.n_eff_)),
        "dropped_dimensions": model.dropped_dimensions_,
    }


def _write_results(data, posterior, outputs, *, trait, model_name, summaries, audit_out=None,
                   n_threads=1):
    """Each chromosome's effect table, PGS Catalog file, plink2 score file, JSON and audit,
    ``n_threads`` chromosomes at a time (gzip runs outside the GIL).

    ``posterior`` holds eta, pip and var_beta over all fitted variants (the joint order of
    ``data``), ``summaries`` the JSON fields of each chromosome's fit; ``audit_out``, when
    given, receives the audit of every chromosome in one table.
    """
    def write(item):
        c, part, out, summary = item
        effects = effects_table(c.matched, {k: v[part] for k, v in posterior.items()}, c.maf)
        write_effect_table(effects, out["effects"])
        write_pgs_catalog(effects, out["pgs"], pgs_name=f"{model_name}_{trait}", trait=trait,
                          n_gwas=c.n, genome_build=c.build)
        write_plink_score(effects, out["score"])
        write_json({"trait": trait, "model": model_name, "chrom": c.chrom,
                    "n_variants": len(c.matched), "matching": c.counts, **summary}, out["json"])
        if out.get("audit") is not None:
            write_table(c.audit, out["audit"])

    thread_map(write, zip(data.chromosomes, data.parts, outputs, summaries, strict=True),
               n_threads)
    if audit_out is not None:
        write_table(pd.concat([c.audit for c in data.chromosomes], ignore_index=True), audit_out)


def _posterior(model):
    return {"eta": model.eta_, "pip": model.pip_, "var_beta": model.var_beta_}


def fit_prs(sumstats_paths, ld_paths, outputs, *, spec, trait, model_name, n_threads=1,
            min_overlap=0.75, sumstats_options=None, genome_wide=None, audit_out=None,
            ld_layout=None):
    """Fit a VIPRS model by variational EM on one chromosome, or jointly on several (shared
    hyperparameters), and write each chromosome's files.

    Parameters
    ----------
    sumstats_paths, ld_paths : per chromosome, in the same order
    outputs : per chromosome, a dict with the paths "effects", "json", "pgs", "score" and
        optionally "audit"
    spec : ModelSpec (``vibank.prs.spec.model_spec``), strategy "vem"
    sumstats_options : how the summary statistics are read and matched (``load_fit_data``)
    audit_out : one table of every chromosome's audit (besides the outputs' "audit")
    genome_wide : the JSON's flag (default: more than one chromosome); each JSON holds the
        shared hyperparameters, the chromosome's own h2 and the genome's (``h2_genome``)
    ld_layout : the LD rows' layout (``load_chromosome``); default ``spec.ld_layout``, "upper"
        for exact sweeps (lazy_tol 0, the VEM default): the stores' upper triangles as they
        are, half the memory of symmetric band rows and each row read once per sweep
    """
    model = spec.viprs(n_threads=n_threads)
    data = load_fit_data(sumstats_paths, ld_paths, min_overlap=min_overlap, n_threads=n_threads,
                         ld_layout=ld_layout or spec.ld_layout, **(sumstats_options or {}))
    frequencies = data.allele_frequency(spec.prior)
    if len(data.chromosomes) == 1:
        c = data.chromosomes[0]
        model.fit(c.b, c.n, c.ld, allele_frequency=None if frequencies is None else frequencies[0],
                  label=f"chromosome {c.chrom}")
        h2_parts = [model.h2_]
    else:
        model.fit(data.std_beta, data.n_per_variant, data.ld, allele_frequency=frequencies,
                  label=data.label)
        h2_parts = model.h2_parts_
    if genome_wide is None:
        genome_wide = len(data.chromosomes) > 1
    summaries = [{**_fit_summary(model, spec.prior), "h2": h2, "genome_wide": genome_wide,
                  "threads": n_threads, "ridge_max": float(model.ridge_[part].max())}
                 for part, h2 in zip(data.parts, h2_parts)]
    _write_results(data, _posterior(model), outputs, trait=trait, model_name=model_name,
                   summaries=summaries, audit_out=audit_out, n_threads=n_threads)
    return model


def _selection(data, spec, validation, trait):
    """The selection score of a tuned fit and its name: the validation samples' R^2 (AUPRC for
    a binary trait) or the training ELBO (metric elbo, and BMA, which weighs by the ELBO
    whatever the metric, without validation samples or with metric pseudo)."""
    if spec.metric == "elbo" or (spec.strategy == "bma"
                                 and (validation is None or spec.metric == "pseudo")):
        return tuning.training_elbo, "elbo"
    if validation is None:
        raise VibankError("metric validation needs the validation samples' genotypes and "
                          "phenotypes; without them use metric pseudo or elbo")
    x_val, y_val, binary = load_validation(data, *validation, trait)
    name = "validation_auprc" if binary else "validation_r2"
    log.info("%s on %d validation samples", name, len(y_val))
    return tuning.selection_score(name, x_val=x_val, y_val=y_val), name


def tune_prs(sumstats_paths, ld_paths, outputs, *, grid_out, spec, trait, model_name,
             validation=None, phenotype=None, seed=0, n_threads=1, min_overlap=0.75,
             sumstats_options=None, audit_out=None):
    """Tune pi by grid search (gs), model averaging (bma) or Bayesian optimisation (bo) over all
    chromosomes at once (prs_vi.md section 7), and write each chromosome's result files.

    Every evaluation is a genome-wide fit with pi fixed and the other hyperparameters shared
    and updated by the M-step, with the grid settings of ``spec.grid``; the grid is
    ``spec.grid_size`` log-spaced values of pi from 1/M to 0.5. The selection metric
    (``spec.metric``) is ``validation`` (R^2 of the validation phenotype on the score, or
    AUPRC for a binary trait), ``pseudo`` (``vibank.prs.pseudo_validation``: grid fits on a
    training share of the statistics, the sparsest pi within one SE of the best r_pv^2 on the
    held-out rest, refitted on all) or ``elbo``. Grid fits run on ``n_threads`` threads, one E-step
    thread each. ``grid_out`` receives the table of every fit.

    validation : (bfile, keep file, phenotype file) of the validation samples, needed by the
        validation metric
    phenotype : the validation phenotype column (default: ``trait``; an external GWAS names
        the study phenotype it predicts)
    """
    data = load_fit_data(sumstats_paths, ld_paths, min_overlap=min_overlap, n_threads=n_threads,
                         **(sumstats_options or {}))
    joined = join_chromosomes(data.std_beta, data.n_per_variant, data.ld,
                              allele_frequency=data.allele_frequency(spec.prior))
    b, n, ld = joined.pop("std_beta"), joined.pop("n_per_variant"), joined.pop("ld")

    def fit_points(b, n):
        return tuning.viprs_fit_point(b, n, ld, **spec.viprs_options(n_threads=1),
                                      prior=spec.prior,
                                      fit_kwargs={**joined, "label": data.label})

    if spec.metric == "pseudo" and spec.strategy != "bma":
        # fit on a training share of the statistics, score on the rest, refit on all of them
        b_t, n_t, b_v, n_v = split_sumstats(b, n, ld, np.random.default_rng(seed),
                                            training_fraction=spec.pseudo_training_fraction)
        score, metric_name = tuning.selection_score("pseudo_validation", b_val=b_v,
                                                    ld=ld.dot), "pseudo_validation"
        result = tuning.tune(spec.strategy, fit_points(b_t, n_t), score,
                             n_variants=data.n_variants, grid_size=spec.grid_size,
                             bo_calls=spec.bo_calls, seed=seed, n_jobs=n_threads)
        result.best_params = one_standard_error_choice(result.table, float(np.median(n_v)))
        model = fit_points(b, n)(result.best_params)
        result.posterior = {"eta": model.eta_, "pip": model.pip_, "var_beta": model.var_beta_}
        log.info("pseudo-validation chose %s; refitted on all statistics", result.best_params)
    else:
        score, metric_name = _selection(data, spec, validation, phenotype or trait)
        result = tuning.tune(spec.strategy, fit_points(b, n), score,
                             n_variants=data.n_variants, grid_size=spec.grid_size,
                             bo_calls=spec.bo_calls, seed=seed, n_jobs=n_threads)
        model = result.best_model
    write_table(result.table, grid_out)
    shares = score_variance_shares(result.posterior["eta"], data.parts)
    summaries = [{**_fit_summary(model, spec.prior), "strategy": spec.strategy,
                  "metric": metric_name, "chosen": result.best_params, "genome_wide": True,
                  "threads": n_threads,
                  # the averaged posterior is no single fit's: its h2 is left out
                  "h2": None if spec.strategy == "bma" else h2,
                  "ridge_max": float(model.ridge_[part].max()), "score_variance_share": share}
                 for part, h2, share in zip(data.parts, model.h2_parts_, shares)]
    _write_results(data, result.posterior, outputs, trait=trait, model_name=model_name,
                   summaries=summaries, audit_out=audit_out, n_threads=n_threads)
    return result.table


def fit_baseline(sumstats_paths, ld_paths, outputs, *, grid_out, spec, trait, model_name,
                 validation, phenotype=None, ld_panel_keep=None, seed=0, n_threads=1,
                 min_overlap=0.75, workdir=None, sumstats_options=None, audit_out=None):
    """Fit a baseline PRS (prs_vi.md section 10) on all chromosomes of a trait and fold and write
    the same files as VIPRS.

    spec.method : "ldpred-inf" (h2 from the LD-score slope), "gibbs" (spike-and-slab Gibbs
        sampler over the pi grid of GS crossed with ``spec.h2_multipliers``, best on the
        validation metric) or "ct" (plink clumping on the LD panel samples, r^2 0.1 and 250 kb,
        best of ``spec.p_thresholds`` on the validation metric).
    validation : (bfile, keep file, phenotype file) of the validation samples; C+T clumps on
        the ``ld_panel_keep`` samples of that bfile
    phenotype : the validation phenotype column (default: ``trait``)
    workdir : where C+T's scratch directory for plink goes (default: the system's)
    """
    data = load_fit_data(sumstats_paths, ld_paths, min_overlap=min_overlap, n_threads=n_threads,
                         **(sumstats_options or {}))
    x_val, y_val, binary = load_validation(data, *validation, phenotype or trait)
    metric_name = "validation_auprc" if binary else "validation_r2"
    metric = tuning.validation_auprc if binary else tuning.validation_r2
    h2 = ldsc_h2(data.std_beta, data.n_per_variant, data.ld_scores)
    log.info("LD-score h2 %.4f over %d variants; %s on %d validation samples", h2,
             data.n_variants, metric_name, len(y_val))
    score = lambda eta: metric(eta, x_val, y_val)  # noqa: E731
    if spec.method == "ldpred-inf":
        fit = baselines.fit_ldpred_inf(data.std_beta, data.n_per_variant, data.ld, h2=h2,
                                       score=score)
    elif spec.method == "gibbs":
        fit = baselines.fit_gibbs_grid(
            data.std_beta, data.n_per_variant, data.ld, h2=h2, score=score,
            grid_size=spec.grid_size, h2_multipliers=spec.h2_multipliers, n_burnin=spec.n_burnin,
            n_samples=spec.n_samples, seed=seed, n_jobs=n_threads)
    elif spec.method == "ct":
        sumstats = pd.concat([c.matched for c in data.chromosomes], ignore_index=True)
        # plink's own files go to a scratch directory (its log into ours): not results
        with tempfile.TemporaryDirectory(dir=workdir) as work:
            try:
                clumped = baselines.clump_and_threshold(
                    sumstats, validation[0], out_prefix=Path(work) / "ct", threads=n_threads,
                    keep=ld_panel_keep, p_thresholds=spec.p_thresholds)
            finally:
                plink_log = Path(work) / "ct.log"
                if plink_log.exists():
                    log.info("plink clumping log:\n%s", plink_log.read_text().strip())
        fit = baselines.fit_ct(clumped, data.maf, score, spec.p_thresholds)
    else:
        raise VibankError(f"unknown baseline method {spec.method!r} (ldpred-inf, gibbs or ct)")
    table, chosen = fit.table, fit.chosen
    write_table(table, grid_out)
    log.info("%s chose %s", spec.method, chosen)
    summary = {"method": spec.method, "prior": "spike_slab" if spec.method == "gibbs" else None,
               "strategy": "grid" if spec.method != "ldpred-inf" else None,
               "metric": metric_name, "chosen": chosen, "h2_ldsc": h2, "genome_wide": True,
               "threads": n_threads}
    _write_results(data, fit.posterior, outputs, trait=trait,
                   model_name=model_name, summaries=[summary] * len(data.chromosomes),
                   audit_out=audit_out, n_threads=n_threads)
    return table


def fit_models(models, sumstats_paths, ld_paths, outputs, *, trait, timing_out, validation=None,
               phenotype=None, ld_panel_keep=None, seed=0, n_threads=1, min_overlap=0.75,
               sumstats_options=None, genome_wide=False, workdir=None):
    """Fit several models to one trait's statistics in one process: each model as its own
    stage (:func:`fit_prs`, :func:`tune_prs` or :func:`fit_baseline`, by its spec), with the
    statistics, LD and validation genotypes read once (``reuse_loaded_data``). The files of
    each model are those its stage writes alone.

    Parameters
    ----------
    models : list of (name, ModelSpec)
    outputs : dict model name -> {"chromosomes": per-chromosome output dicts, "grid": path of
        the grid table (tuned and baseline models)}
    timing_out : a table of each model's wall seconds (reading included when it read first)
        and the process's peak RSS when it ended (MB; cumulative over the models before it)
    genome_wide : variational EM over all chromosomes with shared hyperparameters (otherwise
        each chromosome on its own)
    validation, phenotype, ld_panel_keep, seed, workdir : as :func:`tune_prs` and
        :func:`fit_baseline` take them
    """
    import resource
    import time

    from vibank.stages.fit_data import reuse_loaded_data

    common = dict(trait=trait, n_threads=n_threads, min_overlap=min_overlap,
                  sumstats_options=sumstats_options)
    # the LD is read once for all models: upper rows only when every model reads them (exact
    # VEM fits); band rows serve the exact fits as well
    layout = "upper" if all(spec.ld_layout == "upper" for _, spec in models) else "band"
    rows = []
    with reuse_loaded_data():
        for name, spec in models:
            started = time.perf_counter()
            out = outputs[name]
            if spec.method != "viprs":
                fit_baseline(sumstats_paths, ld_paths, out["chromosomes"], grid_out=out["grid"],
                             spec=spec, model_name=name, validation=validation,
                             phenotype=phenotype, ld_panel_keep=ld_panel_keep, seed=seed,
                             workdir=workdir, **common)
            elif spec.strategy != "vem":
                tune_prs(sumstats_paths, ld_paths, out["chromosomes"], grid_out=out["grid"],
                         spec=spec, model_name=name, validation=validation,
                         phenotype=phenotype, seed=seed, **common)
            elif genome_wide:
                fit_prs(sumstats_paths, ld_paths, out["chromosomes"], spec=spec,
                        model_name=name, genome_wide=True, ld_layout=layout, **common)
            else:  # each chromosome on its own
                for sumstats, ld, chromosome in zip(sumstats_paths, ld_paths, out["chromosomes"],
                                                    strict=True):
                    fit_prs([sumstats], [ld], [chromosome], spec=spec, model_name=name,
                            ld_layout=layout, **common)
            rows.append({"model": name, "seconds": time.perf_counter() - started,
                         "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            log.info("%s fitted to %s in %.1f s", name, trait, rows[-1]["seconds"])
    write_table(pd.DataFrame(rows), timing_out)
