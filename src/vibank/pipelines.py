"""File-to-file stages that join the I/O layer and the models (called by the workflow and CLI).

``prs`` and ``qtl`` never read files; these functions do, then call them.
"""

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.atomic import write_table
from vibank.io.score_files import write_effect_table, write_json, write_pgs_catalog, write_plink_score
from vibank.io.sumstats_formats import read_sumstats_any
from vibank.ld import LDMatrix, symmetric_band
from vibank.prs import VIPRS, std_beta_from_z, symmetric_offdiagonal
from vibank.sumstats import harmonise

log = logging.getLogger(__name__)


def _load_chromosome(sumstats_path, ld_path, min_overlap, *, sumstats_format="auto", n=None,
                     column_map=None, harmonise_options=None, mismatch_filter=None):
    """Sumstats (any supported format) harmonised to one chromosome's LD store, with the LD as
    E-step rows; the per-variant audit of what was dropped comes back under ``audit``.

    ``mismatch_filter``: None (off) or the options of ``vibank.prs.mismatch.mismatch_filter``
    (prs_vi.md section 9), run on the harmonised z-scores and the panel's LD before fitting; the
    variants it removes join the audit with reason ``ld_mismatch``."""
    sumstats, read_audit = read_sumstats_any(sumstats_path, format=sumstats_format, n=n,
                                             column_map=column_map)
    ld = LDMatrix(ld_path)
    chrom = ld.attrs.get("chrom", "?")
    variants = ld.variants()
    matched, mask, audit, counts = harmonise(
        sumstats, variants, min_overlap=min_overlap, label=str(sumstats_path),
        ld_label=str(ld_path), **(harmonise_options or {}))
    audit = pd.concat([read_audit, audit], ignore_index=True) if len(read_audit) else audit
    log.info("chr%s: %d of %d variants harmonised to the LD", chrom, len(matched), len(sumstats))
    rows = None
    if mismatch_filter is not None:
        matched, mask, audit, rows = _remove_mismatches(ld, matched, mask, audit, mismatch_filter,
                                                        chrom)
    # the store's per-block extremal eigenvalues, in the indices of the matched variants
    kept = np.concatenate([[0], np.cumsum(mask)])
    eigenvalues = [{**block, "start": int(kept[block["start"]]), "stop": int(kept[block["stop"]])}
                   for block in ld.attrs.get("eigenvalues") or []
                   if kept[block["stop"]] > kept[block["start"]]] or None
    rows = _masked_rows(ld, mask) if rows is None else rows
    n = matched[col.N].to_numpy(float)
    # allele frequency for the alpha prior: the GWAS MAF, else the LD panel's
    maf = matched[col.MAF].to_numpy(float) if col.MAF in matched else np.full(len(matched), np.nan)
    maf = np.where(np.isnan(maf), variants[col.MAF].to_numpy(float)[mask], maf)
    return {
        "path": sumstats_path, "matched": matched, "counts": counts, "audit": audit,
        "chrom": chrom, "n": n,
        "b": std_beta_from_z(matched[col.Z].to_numpy(float), n), "maf": maf,
        "rows": rows,
        "scale": 1.0 / ld.attrs["quantisation_scale"], "build": ld.attrs.get("genome_build", "NR"),
        "eigenvalues": eigenvalues,
    }


def _masked_rows(ld, mask):
    """The LD of the ``mask`` variants as E-step rows: band rows (windowed, block, sample LD)
    stream no column indices; other layouts are CSR."""
    ld.set_mask(mask)
    stored = ld.load(keep_quantised=True)
    return symmetric_band(stored) or symmetric_offdiagonal(stored)


def _remove_mismatches(ld, matched, mask, audit, options, chrom):
    """The section 9 filter on the harmonised variants: (matched, mask, audit) without the
    variants it removes, which are added to the audit, and the E-step rows of the mask when
    nothing was removed (else None: the caller reads the smaller mask's)."""
    from vibank.prs.mismatch import mismatch_audit, mismatch_filter

    rows = _masked_rows(ld, mask)
    result = mismatch_filter(matched[col.Z].to_numpy(float), rows,
                             scale=1.0 / ld.attrs["quantisation_scale"],
                             snps=matched[col.SNP].to_numpy(), **options)
    log.info("chr%s: the LD-mismatch filter removed %d of %d variants in %d rounds", chrom,
             int((~result.keep).sum()), len(matched), result.rounds)
    if result.keep.all():
        return matched, mask, audit, rows
    audit = pd.concat([audit, mismatch_audit(matched, result)], ignore_index=True)
    mask = mask.copy()
    mask[np.flatnonzero(mask)[~result.keep]] = False
    return matched[result.keep].reset_index(drop=True), mask, audit, None


def _make_model(prior, prior_options, n_threads, max_iter):
    options = dict(prior_options or {})
    # a progress bar on a terminal; in a job log the per-iteration ELBO lines do that work
    return VIPRS(prior, **options, max_iter=max_iter, n_threads=n_threads,
                 progress=sys.stderr.isatty())


def _frequencies(chromosomes, prior):
    if prior != "alpha":
        return None
    for c in chromosomes:
        bad = ~((c["maf"] > 0) & (c["maf"] < 1))
        if bad.any():
            snp = c["matched"][col.SNP].to_numpy()[np.argmax(bad)]
            raise VibankError(f"{c['path']}: the alpha prior needs an allele frequency in (0, 1); "
                              f"variant {snp} has MAF {c['maf'][np.argmax(bad)]}")
    return [c["maf"] for c in chromosomes]


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
    }


def _write_chromosome(c, posterior, part, outputs, *, trait, model_name, summary):
    """One chromosome's effect table, PGS Catalog file, plink2 score file and JSON.

    ``posterior`` holds eta, pip and var_beta over all fitted variants, ``part`` this
    chromosome's slice of them, ``summary`` the JSON fields of the fit (``_fit_summary``).
    """
    matched = c["matched"]
    maf = c["maf"]  # the GWAS's, else the panel's
    sd = np.sqrt(2 * maf * (1 - maf))
    eta = np.asarray(posterior["eta"][part], dtype=np.float64)
    effects = pd.DataFrame({
        "CHR": matched[col.CHR].to_numpy(), "SNP": matched[col.SNP].to_numpy(),
        "POS": matched[col.POS].to_numpy(), "A1": matched[col.A1].to_numpy(),
        "A2": matched[col.A2].to_numpy(), "BETA": eta, "BETA_PER_ALLELE": eta / sd,
        "PIP": posterior["pip"][part], "VAR_BETA": posterior["var_beta"][part],
    })
    write_effect_table(effects, outputs["effects"])
    write_pgs_catalog(effects, outputs["pgs"], pgs_name=f"{model_name}_{trait}", trait=trait,
                      n_gwas=np.median(c["n"]), genome_build=c["build"])
    write_plink_score(effects, outputs["score"])
    write_json({"trait": trait, "model": model_name, "chrom": c["chrom"],
                "n_variants": len(matched), "matching": c["counts"], **summary}, outputs["json"])


def _posterior(model):
    return {"eta": model.eta_, "pip": model.pip_, "var_beta": model.var_beta_}


def fit_prs_chromosome(sumstats_path, ld_path, *, out_effects, out_json, out_pgs, out_score,
                       trait, model_name="viprs-ss-vem", prior="spike_slab", prior_options=None,
                       n_threads=1, min_overlap=0.75, max_iter=1000, sumstats_options=None):
    """Fit VIPRS on one chromosome and write its result files.

    Parameters
    ----------
    sumstats_path : canonical summary statistics of the chromosome
    ld_path : LD store of the chromosome
    out_effects, out_json, out_pgs, out_score : effect table, hyperparameters and convergence,
        PGS Catalog scoring file, plink2 --score file
    prior : "spike_slab", "mixture" or "alpha"; ``prior_options`` go to ``VIPRS``
        (n_components, update_components, alpha, fit_alpha)
    min_overlap : refuse when fewer than this share of the sumstats variants match the LD
    """
    c, = _load_all([sumstats_path], [ld_path], min_overlap, sumstats_options)
    model = _make_model(prior, prior_options, n_threads, max_iter)
    freq = _frequencies([c], prior)
    model.fit(c["b"], c["n"], c["rows"], ld_scale=c["scale"], ld_eigenvalues=c["eigenvalues"],
              allele_frequency=None if freq is None else freq[0], label=f"chromosome {c['chrom']}")
    outputs = {"effects": out_effects, "json": out_json, "pgs": out_pgs, "score": out_score}
    summary = {**_fit_summary(model, prior), "h2": model.h2_, "genome_wide": False,
               "threads": n_threads, "ridge_max": float(model.ridge_.max())}
    _write_chromosome(c, _posterior(model), slice(None), outputs, trait=trait,
                      model_name=model_name, summary=summary)
    _write_audit([c], sumstats_options)
    return model


def _load_all(sumstats_paths, ld_paths, min_overlap, sumstats_options=None):
    """_load_chromosome over (sumstats, LD) pairs. ``sumstats_options``: sumstats_format, n,
    column_map, harmonise_options (see _load_chromosome) and audit_out, a path receiving the
    per-variant audit of every chromosome (see _write_audit)."""
    options = dict(sumstats_options or {})
    options.pop("audit_out", None)  # written by _write_audit once the fit has succeeded
    return [_load_chromosome(s, l, min_overlap, **options)
            for s, l in zip(sumstats_paths, ld_paths)]


def _write_audit(chromosomes, sumstats_options):
    """Write the chromosomes' harmonisation audit to sumstats_options["audit_out"], if given:
    one path (all chromosomes in one table) or a list with one path per chromosome."""
    path = (sumstats_options or {}).get("audit_out")
    if path is None:
        return
    if isinstance(path, (list, tuple)):
        for c, one in zip(chromosomes, path, strict=True):
            write_table(c["audit"], one)
    else:
        write_table(pd.concat([c["audit"] for c in chromosomes], ignore_index=True), path)


def _load_genome(sumstats_paths, ld_paths, min_overlap, sumstats_options=None):
    chromosomes = _load_all(sumstats_paths, ld_paths, min_overlap, sumstats_options)
    scales = {c["scale"] for c in chromosomes}
    if len(scales) > 1 or len({np.asarray(c["rows"].data).dtype for c in chromosomes}) > 1:
        raise VibankError(f"{', '.join(map(str, ld_paths))}: a genome-wide fit needs LD stores "
                          "with one value type (dtype); rebuild them with the same ld dtype")
    return chromosomes, scales.pop()


def _genome_data(chromosomes):
    """b, N and LD rows per chromosome, the list form VIPRS.fit takes for a joint fit."""
    return ([c["b"] for c in chromosomes], [c["n"] for c in chromosomes],
            [c["rows"] for c in chromosomes])


def _eigenvalues(chromosomes):
    """Each chromosome's stored LD eigenvalues, or None when a store lacks them."""
    blocks = [c["eigenvalues"] for c in chromosomes]
    return None if any(b is None for b in blocks) else blocks


def _label(chromosomes):
    return f"chromosomes {', '.join(str(c['chrom']) for c in chromosomes)}"


def fit_prs_genome(sumstats_paths, ld_paths, outputs, *, trait, model_name="viprs-ss-vem",
                   prior="spike_slab", prior_options=None, n_threads=1, min_overlap=0.75,
                   max_iter=1000, sumstats_options=None):
    """Fit VIPRS jointly on several chromosomes (shared hyperparameters) and write the result
    files of each chromosome.

    Parameters
    ----------
    sumstats_paths, ld_paths : per chromosome, in the same order
    outputs : per chromosome, a dict with the paths "effects", "json", "pgs", "score"
    Other parameters as ``fit_prs_chromosome``; each JSON holds the shared hyperparameters, the
    chromosome's own h2 and the genome's (``h2_genome``).
    """
    chromosomes, scale = _load_genome(sumstats_paths, ld_paths, min_overlap, sumstats_options)
    model = _make_model(prior, prior_options, n_threads, max_iter)
    model.fit(*_genome_data(chromosomes), ld_scale=scale, ld_eigenvalues=_eigenvalues(chromosomes),
              allele_frequency=_frequencies(chromosomes, prior), label=_label(chromosomes))
    bounds = np.cumsum([0] + [len(c["b"]) for c in chromosomes])
    for c, lo, hi, out, h2 in zip(chromosomes, bounds[:-1], bounds[1:], outputs, model.h2_parts_):
        summary = {**_fit_summary(model, prior), "h2": h2, "genome_wide": True,
                   "threads": n_threads, "ridge_max": float(model.ridge_[lo:hi].max())}
        _write_chromosome(c, _posterior(model), slice(lo, hi), out, trait=trait,
                          model_name=model_name, summary=summary)
    _write_audit(chromosomes, sumstats_options)
    return model


def validation_data(chromosomes, bfile, keep_path, phenotype_path, trait):
    """Standardised genotypes and phenotype of the validation samples for the fitted variants.

    Genotypes are read for the variants of ``chromosomes`` in their order, coded for each
    fit's A1, centred on the validation mean and scaled by the GWAS sd sqrt(2 MAF (1 - MAF)),
    so ``x @ eta`` is the score of the standardised effects. A binary phenotype coded 1/2
    (plink) becomes 0/1; samples with a missing phenotype are left out.

    Returns
    -------
    x : (n, M) float32, y : (n,) float64, binary : bool
    """
    from vibank.io.plink import read_bim, read_dosages, read_fam, read_keep

    fam, bim = read_fam(bfile), read_bim(bfile)
    keep = set(read_keep(keep_path)[col.IID])
    pheno = pd.read_csv(phenotype_path, sep="\t", dtype={col.IID: str})
    if trait not in pheno.columns:
        raise VibankError(f"{phenotype_path}: no column {trait}")
    values = pd.to_numeric(pheno[trait], errors="coerce")
    bad = values.isna() & pheno[trait].notna() & (pheno[trait].astype(str) != "NA")
    if bad.any():
        raise VibankError(f"{phenotype_path}: row {int(np.flatnonzero(bad)[0]) + 2}, column {trait}: "
                          f"{pheno[trait][bad].iloc[0]!r} is not a number")
    y_all = np.array(values.set_axis(pheno[col.IID]).reindex(fam[col.IID].to_numpy()), dtype=float)
    y_all[y_all == -9] = np.nan
    samples = np.flatnonzero(fam[col.IID].isin(keep).to_numpy() & np.isfinite(y_all))
    if len(samples) < 10:
        raise VibankError(f"{keep_path}: only {len(samples)} validation samples with a {trait} phenotype")
    n_keep = int(fam[col.IID].isin(keep).sum())
    if n_keep > len(samples):
        log.info("%d of %d validation samples have no %s phenotype and are left out",
                 n_keep - len(samples), n_keep, trait)
    matched = pd.concat([c["matched"] for c in chromosomes])
    position = pd.Series(np.arange(len(bim)), index=bim[col.SNP].to_numpy())
    missing = ~matched[col.SNP].isin(position.index)
    if missing.any():
        raise VibankError(f"{bfile}.bim: fitted variant {matched[col.SNP][missing].iloc[0]} is absent")
    index = position[matched[col.SNP]].to_numpy()
    order = np.argsort(index)  # bed-reader reads faster in file order
    g = np.empty((len(samples), len(index)), dtype=np.float32)
    g[:, order] = read_dosages(bfile, sample_index=samples, variant_index=index[order])
    g[g < 0] = np.nan
    flip = (bim[col.A1].to_numpy()[index] != matched[col.A1].to_numpy())
    g[:, flip] = 2 - g[:, flip]
    mean = np.nanmean(g, axis=0)
    g = np.where(np.isnan(g), mean, g) - mean
    maf = np.concatenate([c["maf"] for c in chromosomes])  # the GWAS's, else the panel's
    g /= np.sqrt(2 * maf * (1 - maf)).astype(np.float32)
    y = y_all[samples]
    binary = bool(np.isin(y, (1, 2)).all())
    return g, (y - 1 if binary else y), binary


#: VIPRS settings of every grid fit (gs, bma, bo) unless overridden (config prs.grid): float32
#: state, lazy neighbour updates, the block ridge from the start on LD that is not PSD, and
#: convergence at max |delta eta| < 1e-5; docs/benchmarks.md (VIPRS-GS vs Gibbs, session 3):
#: 4x less time than exact float64 fits, the same selected point and R^2 to 1e-6
GRID_FIT_OPTIONS = {"dtype": "float32", "lazy_tol": 1e-4, "initial_ridge": "block",
                    "tol_eta": 1e-5}


def tune_prs(sumstats_paths, ld_paths, outputs, *, grid_out, bfile, validation_keep, phenotypes,
             trait, model_name, strategy, metric="validation", prior="spike_slab",
             prior_options=None, grid_size=30, bo_calls=20, seed=0, n_threads=1,
             min_overlap=0.75, max_iter=1000, sumstats_options=None, phenotype=None,
             grid_options=None):
    """Tune pi by grid search (gs), model averaging (bma) or Bayesian optimisation (bo) over all
    chromosomes at once (prs_vi.md section 7), and write each chromosome's result files.

    Every evaluation is a genome-wide fit with pi fixed and the other hyperparameters shared
    and updated by the M-step; the grid is 30 log-spaced values of pi from 1/M to 0.5. The
    selection metric is ``validation`` (R^2 of the validation phenotype on the score, or AUPRC
    for a binary trait, from the validation samples' genotypes) or ``elbo``. Grid fits run on
    ``n_threads`` threads, one E-step thread each. ``grid_out`` receives the table of every fit.
    ``phenotype``: the validation phenotype column (default: ``trait``; an external GWAS names
    the study phenotype it predicts). ``grid_options`` override ``GRID_FIT_OPTIONS`` (dtype
    "float32"/"float64", lazy_tol, initial_ridge, tol_eta).
    """
    from vibank.prs import tuning

    chromosomes, scale = _load_genome(sumstats_paths, ld_paths, min_overlap, sumstats_options)
    n_variants = sum(len(c["b"]) for c in chromosomes)
    score, metric_name = tuning.training_elbo, "elbo"
    if metric == "validation":
        x_val, y_val, binary = validation_data(chromosomes, bfile, validation_keep, phenotypes,
                                               phenotype or trait)
        metric_name = "validation_auprc" if binary else "validation_r2"
        score = tuning.selection_score(metric_name, x_val=x_val, y_val=y_val)
        log.info("%s on %d validation samples", metric_name, len(y_val))
    elif metric != "elbo":
        raise VibankError(f"unknown selection metric {metric!r} (validation or elbo)")
    grid = {**GRID_FIT_OPTIONS, **(grid_options or {})}
    options = {**(prior_options or {}), **grid, "dtype": np.dtype(grid["dtype"]).type}
    fit_point = tuning.viprs_fit_point(
        *_genome_data(chromosomes), ld_scale=scale, prior=prior, **options, max_iter=max_iter,
        n_threads=1, fit_kwargs={"allele_frequency": _frequencies(chromosomes, prior),
                                 "ld_eigenvalues": _eigenvalues(chromosomes),
                                 "label": _label(chromosomes)})
    points = tuning.hyperparameter_grid(tuning.pi_grid(n_variants, grid_size))
    if strategy == "gs":
        result = tuning.grid_search(points, fit_point, score, n_jobs=n_threads)
        model, table = result.best_model, result.table
        posterior, chosen = _posterior(model), result.best_params
    elif strategy == "bo":
        result = tuning.bayesian_optimisation(
            fit_point, score, bounds_log10_pi=(np.log10(1 / n_variants), np.log10(0.5)),
            n_calls=bo_calls, seed=seed, n_initial_points=min(10, bo_calls))
        model, table = result.best_model, result.table
        posterior, chosen = _posterior(model), result.best_params
    elif strategy == "bma":
        result = tuning.model_average(points, fit_point, n_jobs=n_threads)
        table = result.table
        posterior = {"eta": result.eta, "pip": result.pip, "var_beta": result.var_beta}
        best = int(np.argmax(result.weights))
        model, chosen = fit_point(points[best]), points[best]  # the heaviest point's record
    else:
        raise VibankError(f"unknown strategy {strategy!r} (gs, bma or bo)")
    write_table(table, grid_out)
    log.info("%s chose %s", strategy, chosen)
    bounds = np.cumsum([0] + [len(c["b"]) for c in chromosomes])
    eta = np.asarray(posterior["eta"], dtype=np.float64)
    for i, (c, out) in enumerate(zip(chromosomes, outputs)):
        part = slice(bounds[i], bounds[i + 1])
        summary = {**_fit_summary(model, prior), "strategy": strategy, "metric": metric_name,
                   "chosen": chosen, "genome_wide": True, "threads": n_threads,
                   # the averaged posterior is no single fit's: its h2 is left out
                   "h2": None if strategy == "bma" else model.h2_parts_[i],
                   "ridge_max": float(model.ridge_[part].max()),
                   "score_variance_share": float(eta[part] @ eta[part] / max(eta @ eta, 1e-300))}
        _write_chromosome(c, posterior, part, out, trait=trait, model_name=model_name,
                          summary=summary)
    _write_audit(chromosomes, sumstats_options)
    return table


def ldsc_h2(chromosomes, ld_scores):
    """SNP heritability from the LD-score regression slope with intercept 1 (prs_vi.md
    section 6): h2 = M (mean chi2 - 1) / (N mean l), clipped to [1e-3, 0.9]."""
    b = np.concatenate([c["b"] for c in chromosomes])
    n = np.concatenate([c["n"] for c in chromosomes])
    chi2 = b**2 * n / np.maximum(1 - b**2, 1e-12)
    h2 = len(b) * (chi2.mean() - 1) / (np.median(n) * np.mean(ld_scores))
    return float(np.clip(h2, 1e-3, 0.9))


def fit_baseline(sumstats_paths, ld_paths, outputs, *, grid_out, method, bfile, validation_keep,
                 ld_panel_keep, phenotypes, trait, model_name, options=None, seed=0,
                 n_threads=1, min_overlap=0.75, workdir=None, sumstats_options=None,
                 phenotype=None):
    """Fit a baseline PRS (prs_vi.md section 10) on all chromosomes of a trait and fold and write
    the same files as VIPRS.

    method : "ldpred-inf" (h2 from the LD-score slope), "gibbs" (spike-and-slab Gibbs sampler
        over the pi grid of GS, crossed with h2 multipliers, best on the validation metric) or
        "ct" (plink clumping on the LD panel samples, r^2 0.1 and 250 kb, best p threshold on
        the validation metric).
    options : method settings (gibbs: grid_size, h2_multipliers, n_burnin, n_samples; ct:
        p_thresholds).
    workdir : where C+T's scratch directory for plink goes (default: the system's).
    phenotype : the validation phenotype column (default: ``trait``).
    """
    from vibank.prs import baselines, tuning

    options = dict(options or {})
    chromosomes, scale = _load_genome(sumstats_paths, ld_paths, min_overlap, sumstats_options)
    x_val, y_val, binary = validation_data(chromosomes, bfile, validation_keep, phenotypes,
                                           phenotype or trait)
    metric_name = "validation_auprc" if binary else "validation_r2"
    metric = tuning.validation_auprc if binary else tuning.validation_r2
    bounds = np.cumsum([0] + [len(c["b"]) for c in chromosomes])
    m_total = int(bounds[-1])
    ld_scores = np.concatenate([LDMatrix(p).variants().set_index(col.SNP).loc[
        c["matched"][col.SNP], "LD_SCORE"].to_numpy(float) for p, c in zip(ld_paths, chromosomes)])
    h2 = ldsc_h2(chromosomes, ld_scores)
    log.info("LD-score h2 %.4f over %d variants; %s on %d validation samples", h2, m_total,
             metric_name, len(y_val))
    rows, variance = [], np.full(m_total, np.nan)
    if method == "ldpred-inf":
        eta = np.concatenate([
            # each chromosome's share of h2 keeps the shrinkage M / (N h2) of the genome
            baselines.ldpred_inf(c["b"], c["n"], c["rows"], h2=h2 * len(c["b"]) / m_total,
                                 ld_scale=scale) for c in chromosomes])
        rows.append({"h2": h2, "metric": metric(eta, x_val, y_val)})
        chosen, pip = {"h2": h2}, np.ones(m_total)
    elif method == "gibbs":
        grid = tuning.pi_grid(m_total, options.get("grid_size", 30))
        multipliers = options.get("h2_multipliers", [1.0])
        points = [{"pi": float(p), "h2": float(h2 * k)} for p in grid for k in multipliers]

        def fit_point(point):
            etas, pips, variances = [], [], []
            for c in chromosomes:  # hyperparameters fixed: the chromosomes are independent
                share = len(c["b"]) / m_total
                model = baselines.GibbsSpikeSlab(
                    pi=point["pi"], h2=point["h2"] * share, seed=seed,
                    n_burnin=options.get("n_burnin", 100), n_samples=options.get("n_samples", 500))
                model.fit(c["b"], c["n"], c["rows"], ld_scale=scale)
                etas.append(model.eta_), pips.append(model.pip_), variances.append(model.var_beta_)
            return np.concatenate(etas), np.concatenate(pips), np.concatenate(variances)

        from concurrent.futures import ThreadPoolExecutor

        def evaluate(point):
            try:
                return fit_point(point)
            except VibankError as err:  # a runaway chain: the point is reported, never chosen
                log.warning("Gibbs at %s failed: %s", point, err)
                return None

        with ThreadPoolExecutor(max_workers=max(n_threads, 1)) as pool:
            fits = list(pool.map(evaluate, points))
        for point, fit in zip(points, fits):
            rows.append({**point, "metric": np.nan if fit is None else metric(fit[0], x_val, y_val),
                         "stop_reason": "failed" if fit is None else "completed"})
        scores = np.array([r["metric"] for r in rows], dtype=float)
        if np.all(np.isnan(scores)):
            raise VibankError(f"{', '.join(map(str, sumstats_paths))}: every Gibbs grid point failed")
        best = int(np.nanargmax(scores))
        chosen = points[best]
        eta, pip, variance = fits[best]
    elif method == "ct":
        import tempfile

        sumstats = pd.concat([c["matched"] for c in chromosomes], ignore_index=True)
        # plink's own files go to a scratch directory (its log into ours): not results
        with tempfile.TemporaryDirectory(dir=workdir) as work:
            try:
                table = baselines.clump_and_threshold(
                    sumstats, bfile, out_prefix=Path(work) / "ct", threads=n_threads,
                    keep=ld_panel_keep,
                    p_thresholds=options.get("p_thresholds", baselines.P_THRESHOLDS))
            finally:
                plink_log = Path(work) / "ct.log"
                if plink_log.exists():
                    log.info("plink clumping log:\n%s", plink_log.read_text().strip())
        maf = np.concatenate([c["maf"] for c in chromosomes])
        sd = np.sqrt(2 * maf * (1 - maf))
        candidates = {}
        for p in options.get("p_thresholds", baselines.P_THRESHOLDS):
            # per-allele GWAS effects of A1 to the standardised scale of the fit
            candidates[p] = table[baselines.threshold_column(p)].to_numpy(float) * sd
            rows.append({"p_threshold": p, "n_variants": int((candidates[p] != 0).sum()),
                         "metric": metric(candidates[p], x_val, y_val)})
        best = max(rows, key=lambda r: r["metric"])
        chosen = {"p_threshold": best["p_threshold"]}
        eta = candidates[best["p_threshold"]]
        pip = (eta != 0).astype(float)
    else:
        raise VibankError(f"unknown baseline method {method!r} (ldpred-inf, gibbs or ct)")
    write_table(pd.DataFrame(rows), grid_out)
    log.info("%s chose %s", method, chosen)
    posterior = {"eta": eta, "pip": pip, "var_beta": variance}
    for i, (c, out) in enumerate(zip(chromosomes, outputs)):
        part = slice(bounds[i], bounds[i + 1])
        summary = {"method": method, "prior": "spike_slab" if method == "gibbs" else None,
                   "strategy": "grid" if method != "ldpred-inf" else None, "metric": metric_name,
                   "chosen": chosen, "h2_ldsc": h2, "genome_wide": True, "threads": n_threads}
        _write_chromosome(c, posterior, part, out, trait=trait, model_name=model_name,
                          summary=summary)
    _write_audit(chromosomes, sumstats_options)
    return pd.DataFrame(rows)
