"""File-to-file stages of the genome-wide pQTL pipeline (pqtl_afcavi.md section (i)).

Called by the workflow scripts (rules/qtl.smk); ``vibank.qtl`` never reads files, these do.
Stages: the discovery samples, LD-pruned contiguous chunks per chromosome, a simulated protein
panel (with gene positions and the true associations), proteins residualised on covariates, one
atlasQTL fit per chunk against all proteins, then the combined long table, calls, loci, hotspots
and the evaluation against the simulated truth. Tables are described in docs/formats.md.
"""

import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.atomic import atomic_path, write_table
from vibank.io.plink import read_bim, read_dosages, read_fam, write_keep

log = logging.getLogger(__name__)

CHUNK = "CHUNK"
PROTEIN = "protein"
PPI = "PPI"
#: posterior mean effect on the standardised-genotype scale (atlasQTL's beta_vb); BETA is per A1
BETA_STD = "BETA_STD"
LONG_COLUMNS = [col.SNP, col.CHR, col.POS, col.A1, col.A2, PROTEIN, PPI, BETA_STD, col.BETA]


# -- samples and chunks ---------------------------------------------------------------------
def discovery_samples(splits_path):
    """FID IID of the discovery samples: the reference population's QC'd samples outside the LD
    panel (ROLE ``cv`` of splits.tsv, i.e. every fold's samples), in splits.tsv order."""
    table = pd.read_csv(splits_path, sep="\t", dtype={col.FID: str, col.IID: str})
    samples = table.loc[table["ROLE"] == "cv", [col.FID, col.IID]].reset_index(drop=True)
    if samples.empty:
        raise VibankError(f"{splits_path}: no discovery samples (ROLE cv)")
    return samples


def make_chunks(n_variants, variants_per_chunk):
    """1-based chunk ids of ``n_variants`` ordered variants: round(n / size) contiguous chunks
    (at least one) whose sizes differ by at most one."""
    n_chunks = max(1, int(round(n_variants / variants_per_chunk)))
    sizes = [len(part) for part in np.array_split(np.arange(n_variants), n_chunks)]
    return np.repeat(np.arange(1, n_chunks + 1), sizes)


def chunk_variants(bfile, splits_path, out_table, *, chrom, window_kb, step, r2, min_maf,
                   variants_per_chunk, threads=1, memory_mb=None):
    """LD-prune one chromosome on the discovery samples (plink2 --indep-pairwise) and split
    the kept variants, in position order, into contiguous chunks.

    Writes ``out_table`` (SNP CHR POS A1 A2 CHUNK) and returns it as a DataFrame.
    """
    bim = read_bim(bfile)
    bim = bim[bim[col.CHR] == str(chrom)]
    if bim.empty:
        raise VibankError(f"{bfile}.bim: no variant on chromosome {chrom}")
    with tempfile.TemporaryDirectory(dir=Path(out_table).parent) as tmp:
        keep = Path(tmp) / "samples.keep"
        write_keep(keep, discovery_samples(splits_path))
        out = run_plink2(["--bfile", bfile, "--chr", chrom, "--keep", keep, "--maf", min_maf,
                          "--indep-pairwise", f"{window_kb}kb", step, r2],
                         Path(tmp) / "prune", threads=threads, memory_mb=memory_mb)
        kept = set(Path(f"{out}.prune.in").read_text().split())
    table = bim[bim[col.SNP].isin(kept)].sort_values(col.POS, kind="stable")
    if table.empty:
        raise VibankError(f"chromosome {chrom}: no variant left after pruning")
    table = table[[col.SNP, col.CHR, col.POS, col.A1, col.A2]].reset_index(drop=True)
    table[CHUNK] = make_chunks(len(table), variants_per_chunk)
    log.info("chr%s: %d of %d variants kept by pruning, %d chunks", chrom, len(table), len(bim),
             table[CHUNK].max())
    write_table(table, out_table)
    return table


def _dosages(bfile, samples, variants):
    """(n, p) float dosages of A1 for ``samples`` (IID) and ``variants`` (SNP), missing calls
    replaced by the variant's mean dosage (atlasQTL takes no missing genotype)."""
    fam, bim = read_fam(bfile), read_bim(bfile)
    s_index = pd.Index(fam[col.IID]).get_indexer(samples)
    v_index = pd.Index(bim[col.SNP]).get_indexer(variants)
    if (s_index < 0).any() or (v_index < 0).any():
        raise VibankError(f"{bfile}: samples or variants of the chunk are missing")
    x = read_dosages(bfile, sample_index=s_index, variant_index=v_index).astype(np.float64)
    x[x < 0] = np.nan
    means = np.nanmean(x, axis=0)
    missing = np.isnan(x)
    x[missing] = np.take(means, np.nonzero(missing)[1])
    return x


# -- proteins ---------------------------------------------------------------------------------
def gene_positions(variants, associations, n_proteins, *, cis_fraction, cis_window, rng):
    """Simulated gene positions (CHR, POS) of the proteins: an active protein lies, with
    probability ``cis_fraction``, within ``cis_window`` / 2 of one of its true variants (a cis
    QTL); every other protein at a uniform position inside the variants' span on a random
    chromosome."""
    span = variants.groupby(col.CHR, sort=False)[col.POS].agg(["min", "max"])
    chrom = rng.choice(span.index.to_numpy(), size=n_proteins)
    pos = rng.integers(span.loc[chrom, "min"].to_numpy(), span.loc[chrom, "max"].to_numpy() + 1)
    for t in np.flatnonzero(associations.any(axis=0)):
        if rng.random() < cis_fraction:
            s = rng.choice(np.flatnonzero(associations[:, t]))
            chrom[t] = variants[col.CHR].iloc[s]
            offset = rng.integers(-cis_window // 2, cis_window // 2 + 1)
            pos[t] = max(1, int(variants[col.POS].iloc[s]) + offset)
    return chrom, pos


def simulate_qtl_proteins(bfile, splits_path, chunk_tables, *, out_proteins, out_protein_table,
                          out_truth, n_proteins, n_active_variants, active_protein_fraction,
                          mean_pve, block_size=50, max_block_rho=0.5, cis_fraction=0.5,
                          cis_window=1_000_000, seed=None):
    """Simulate a protein panel (the AF-CAVI paper design) on the pruned chunk variants of the
    discovery samples; write the proteins (FID IID P0001 ...), the protein table (protein CHR
    POS: a simulated gene position) and the true associations (SNP CHR POS protein BETA)."""
    from vibank.simulate import simulate_protein_panel

    samples = discovery_samples(splits_path)
    variants = pd.concat([pd.read_csv(p, sep="\t", dtype={col.CHR: str}) for p in chunk_tables],
                         ignore_index=True)
    x = _dosages(bfile, samples[col.IID], variants[col.SNP])
    rng = np.random.default_rng(seed)
    panel = simulate_protein_panel(x, n_proteins,
                                   active_variant_fraction=n_active_variants / x.shape[1],
                                   active_protein_fraction=active_protein_fraction,
                                   mean_pve=mean_pve, block_size=block_size,
                                   max_block_rho=max_block_rho, seed=rng.integers(2**32))
    names = [f"P{k + 1:04d}" for k in range(n_proteins)]
    proteins = pd.concat([samples, pd.DataFrame(panel.Y, columns=names)], axis=1)
    write_table(proteins, out_proteins, float_format="%.6g")
    chrom, pos = gene_positions(variants, panel.associations, n_proteins,
                                cis_fraction=cis_fraction, cis_window=cis_window, rng=rng)
    write_table(pd.DataFrame({PROTEIN: names, col.CHR: chrom, col.POS: pos}), out_protein_table)
    s, t = np.nonzero(panel.associations)
    truth = variants.iloc[s][[col.SNP, col.CHR, col.POS]].reset_index(drop=True)
    truth[PROTEIN] = np.asarray(names)[t]
    truth[col.BETA] = panel.beta[s, t]
    write_table(truth, out_truth)
    log.info("simulated %d proteins on %d samples x %d variants: %d true associations of %d "
             "variants", n_proteins, len(samples), x.shape[1], len(truth), truth[col.SNP].nunique())
    return panel


def residualise(y, z):
    """Residuals of each column of ``y`` (NaN: missing) after least squares on ``z`` plus an
    intercept, fitted on that column's observed rows; missing entries stay NaN."""
    design = np.column_stack([np.ones(len(z)), z])
    out = np.full_like(y, np.nan, dtype=np.float64)
    observed = ~np.isnan(y)
    # columns sharing a missingness pattern share one least-squares solve
    patterns, inverse = np.unique(observed.T, axis=0, return_inverse=True)
    for k, rows in enumerate(patterns):
        cols = np.flatnonzero(inverse.ravel() == k)
        coef = np.linalg.lstsq(design[rows], y[np.ix_(rows, cols)], rcond=None)[0]
        out[np.ix_(rows, cols)] = y[np.ix_(rows, cols)] - design[rows] @ coef
    return out


def residualise_proteins(proteins_path, covariates_path, splits_path, out_path, *, covariates):
    """Restrict the protein table (FID IID <protein>...) to the discovery samples that have
    covariates and residualise every protein on ``covariates`` (plus an intercept)."""
    proteins = pd.read_csv(proteins_path, sep=r"\s+", dtype={col.FID: str, col.IID: str})
    if col.IID not in proteins.columns:
        raise VibankError(f"{proteins_path}: no IID column")
    names = [c for c in proteins.columns if c not in (col.FID, col.IID)]
    if not names:
        raise VibankError(f"{proteins_path}: no protein column")
    covar = pd.read_csv(covariates_path, sep="\t", dtype={col.FID: str, col.IID: str})
    missing = [c for c in covariates if c not in covar.columns]
    if missing:
        raise VibankError(f"{covariates_path}: no covariate column {missing[0]}")
    samples = discovery_samples(splits_path)
    table = samples.merge(proteins.drop(columns=[col.FID], errors="ignore"), on=col.IID)
    table = table.merge(covar[[col.IID, *covariates]].dropna(), on=col.IID)
    if len(table) < 10:
        raise VibankError(f"{proteins_path}: only {len(table)} discovery samples with proteins "
                          "and covariates")
    y = table[names].to_numpy(dtype=np.float64)
    z = table[covariates].to_numpy(dtype=np.float64)
    out = pd.concat([table[[col.FID, col.IID]], pd.DataFrame(residualise(y, z), columns=names)],
                    axis=1)
    log.info("residualised %d proteins on %s for %d of %d discovery samples", len(names),
             covariates, len(table), len(samples))
    write_table(out, out_path, float_format="%.6g")
    return out


# -- one chunk -------------------------------------------------------------------------------
def fit_qtl_chunk(bfile, chunk_table, proteins_path, *, chunk, out_table, out_json, cavi,
                  model_options, threads=1):
    """Fit atlasQTL to one chunk's variants against all proteins.

    Writes the long table (SNP CHR POS A1 A2 protein PPI BETA_STD BETA, every variant x
    protein pair) and a JSON with the run (iterations, stop reason, ELBO trace, seconds per
    phase, hotspot propensities theta per variant).
    """
    from vibank.qtl import AtlasQTL, ConvergenceWarning

    variants = pd.read_csv(chunk_table, sep="\t", dtype={col.CHR: str})
    variants = variants[variants[CHUNK] == int(chunk)].reset_index(drop=True)
    if variants.empty:
        raise VibankError(f"{chunk_table}: no variant in chunk {chunk}")
    proteins = pd.read_csv(proteins_path, sep="\t", dtype={col.FID: str, col.IID: str})
    names = [c for c in proteins.columns if c not in (col.FID, col.IID)]
    x = _dosages(bfile, proteins[col.IID], variants[col.SNP])
    model = AtlasQTL(cavi=cavi, n_threads=threads, **model_options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, proteins[names].to_numpy(dtype=np.float64),
                  variant_names=variants[col.SNP].to_numpy(), response_names=names)
    kept = variants.set_index(col.SNP).loc[list(model.variant_names_)].reset_index()
    p, q = model.gamma_.shape
    long = kept.loc[np.repeat(np.arange(p), q), [col.SNP, col.CHR, col.POS, col.A1, col.A2]]
    long = long.reset_index(drop=True)
    long[PROTEIN] = np.tile(np.asarray(names), p)
    long[PPI] = model.gamma_.ravel()
    long[BETA_STD] = model.beta_.ravel()
    long[col.BETA] = model.beta_per_allele_.ravel()
    write_table(long, out_table, float_format="%.6g")
    r = model.result_
    summary = {
        "chrom": str(variants[col.CHR].iloc[0]), "chunk": int(chunk), "cavi": cavi,
        "start": int(variants[col.POS].min()), "end": int(variants[col.POS].max()),
        "n": int(x.shape[0]), "p": int(len(variants)), "p_fitted": int(p), "q": int(q),
        "removed_constant": list(map(str, model.removed_constant_)),
        "removed_collinear": {str(k): str(v) for k, v in dict(model.removed_collinear_).items()},
        "converged": bool(r.success), "stop_reason": r.stop_reason, "iterations": int(r.n_iter),
        # ELBOs to 1e-6 nats and theta to 1e-8: the sums' last bits change with the threads
        "elbo": round(float(r.elbo), 6), "elbo_diff": round(float(r.elbo_diff), 6),
        "elbo_trace": {"iteration": model.elbo_iterations_.tolist(),
                       "elbo": np.round(model.elbo_history_, 6).tolist()},
        "n0": float(np.mean(model.n0_)), "t02": float(model.t02_),
        "theta": dict(zip(map(str, model.variant_names_), np.round(model.theta_, 8).tolist())),
        "warnings": [str(w.message) for w in caught],
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model_options.items()},
        "seconds": {k: round(float(v), 4) for k, v in model.seconds_.items()},
        "threads": int(threads),
    }
    with atomic_path(out_json) as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1) + "\n")
    log.info("chunk chr%s:%s (%s): p=%d q=%d, %s after %d iterations, %.1f s", summary["chrom"],
             chunk, cavi, p, q, r.stop_reason, r.n_iter, summary["seconds"]["total"])
    return model


# -- combining the chunks -----------------------------------------------------------------------
def bayesian_fdr(ppi):
    """Bayesian FDR of each pair (pqtl_afcavi.md (g)): with the PPIs sorted in decreasing
    order, the FDR at rank k is the mean of 1 - PPI over the first k; mapped back to the pairs."""
    ppi = np.asarray(ppi, dtype=np.float64)
    order = np.argsort(-ppi, kind="stable")
    fdr = np.empty_like(ppi)
    fdr[order] = np.cumsum(1.0 - ppi[order]) / np.arange(1, len(ppi) + 1)
    return fdr


def call_pairs(long, *, threshold=0.5, fdr_level=None):
    """The associated pairs: PPI >= ``threshold``, or with ``fdr_level`` set, Bayesian FDR <
    ``fdr_level`` instead. Returns the rows (with an FDR column) sorted by decreasing PPI."""
    fdr = bayesian_fdr(long[PPI].to_numpy())
    called = (long[PPI].to_numpy() >= threshold) if fdr_level is None else (fdr < fdr_level)
    calls = long.assign(FDR=fdr)[called]
    return calls.sort_values([PPI, col.CHR, col.POS, PROTEIN], ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)


def cis_trans(chrom, pos, proteins, protein_table, window):
    """"cis" when the protein's gene (protein_table: protein CHR POS) is on the same
    chromosome within ``window`` bp of ``pos``, "trans" otherwise, "" for an unplaced protein."""
    if protein_table is None:
        return np.full(len(pos), "", dtype=object)
    genes = protein_table.set_index(PROTEIN)
    g_chr = genes[col.CHR].astype(str).reindex(proteins).to_numpy()
    g_pos = genes[col.POS].reindex(proteins).to_numpy(dtype=np.float64)
    cis = (np.asarray(chrom, dtype=str) == g_chr) & (np.abs(np.asarray(pos) - g_pos) <= window)
    return np.where(pd.isna(g_pos), "", np.where(cis, "cis", "trans")).astype(object)


def clump_loci(calls, *, flank=500_000, protein_table=None, cis_window=1_000_000):
    """Greedy locus clumping of the called pairs (pqtl_afcavi.md (g)): take the top remaining
    pair, group every unassigned pair on its chromosome within ``flank`` bp into a locus, keep
    each protein's max-PPI variant. One row per (locus, protein); ``cis_trans`` compares the
    locus midpoint with the protein's gene position."""
    rows = []
    calls = calls.sort_values(PPI, ascending=False, kind="stable").reset_index(drop=True)
    free = np.ones(len(calls), dtype=bool)
    chrom, pos = calls[col.CHR].astype(str).to_numpy(), calls[col.POS].to_numpy()
    locus = 0
    while free.any():
        lead = int(np.flatnonzero(free)[0])
        members = free & (chrom == chrom[lead]) & (np.abs(pos - pos[lead]) <= flank)
        free &= ~members
        locus += 1
        group = calls[members]
        best = group.loc[group.groupby(PROTEIN, sort=False)[PPI].idxmax()]
        rows.append(pd.DataFrame({
            "locus": locus, col.CHR: chrom[lead], "start": int(group[col.POS].min()),
            "end": int(group[col.POS].max()), "lead_SNP": calls[col.SNP].iloc[lead],
            "lead_POS": int(pos[lead]), PROTEIN: best[PROTEIN].to_numpy(),
            col.SNP: best[col.SNP].to_numpy(), col.POS: best[col.POS].to_numpy(),
            PPI: best[PPI].to_numpy(), "n_variants": group[col.SNP].nunique()}))
    columns = ["locus", col.CHR, "start", "end", "lead_SNP", "lead_POS", PROTEIN, col.SNP, col.POS,
               PPI, "n_variants", "cis_trans"]
    if not rows:
        return pd.DataFrame(columns=columns)
    loci = pd.concat(rows, ignore_index=True)
    mid = (loci["start"] + loci["end"]) / 2
    loci["cis_trans"] = cis_trans(loci[col.CHR], mid, loci[PROTEIN], protein_table, cis_window)
    return loci[columns]


def hotspot_table(long, calls, theta):
    """Per variant: hotspot propensity THETA (of its chunk's fit), the number of proteins
    called (hotspot size), the expected number (sum of PPIs) and the largest PPI."""
    keys = [col.SNP, col.CHR, col.POS]
    table = long.groupby(keys, sort=False).agg(expected_proteins=(PPI, "sum"),
                                               max_PPI=(PPI, "max")).reset_index()
    size = calls.groupby(col.SNP).size()
    table.insert(3, "THETA", table[col.SNP].map(theta).to_numpy(dtype=np.float64))
    table.insert(4, "n_proteins", table[col.SNP].map(size).fillna(0).astype(np.int64))
    return table


def _read_long(paths):
    return pd.concat([pd.read_csv(p, sep="\t", dtype={col.CHR: str}) for p in paths],
                     ignore_index=True)


def combine_qtl(table_paths, json_paths, *, protein_table=None, out_associations, out_calls,
                out_loci, out_hotspots, threshold=0.5, fdr_level=None, flank=500_000,
                cis_window=1_000_000):
    """Concatenate the chunks' long tables and write the calls, loci and hotspot tables."""
    long = _read_long(table_paths)
    theta = {}
    for path in json_paths:
        theta.update(json.loads(Path(path).read_text())["theta"])
    genes = (pd.read_csv(protein_table, sep="\t", dtype={PROTEIN: str, col.CHR: str})
             if protein_table else None)
    calls = call_pairs(long, threshold=threshold, fdr_level=fdr_level)
    calls["cis_trans"] = cis_trans(calls[col.CHR], calls[col.POS], calls[PROTEIN], genes,
                                   cis_window)
    loci = clump_loci(calls, flank=flank, protein_table=genes, cis_window=cis_window)
    hotspots = hotspot_table(long, calls, theta)
    write_table(long, out_associations, float_format="%.6g")
    write_table(calls, out_calls, float_format="%.6g")
    write_table(loci, out_loci, float_format="%.6g")
    write_table(hotspots, out_hotspots, float_format="%.6g")
    log.info("%d pairs, %d called, %d loci, %d variants with a call", len(long), len(calls),
             loci["locus"].nunique() if len(loci) else 0, int((hotspots["n_proteins"] > 0).sum()))
    return long, calls, loci, hotspots


# -- evaluation ------------------------------------------------------------------------------
def classification_metrics(truth, score, threshold=0.5):
    """AUROC and AUPRC (average precision) of ``score`` against boolean ``truth``; TP FP FN TN,
    precision, recall and FPR of ``score >= threshold``. NaN where undefined."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    truth = np.asarray(truth, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    both = 0 < truth.sum() < len(truth)
    called = score >= threshold
    tp, fp = int(np.sum(called & truth)), int(np.sum(called & ~truth))
    fn, tn = int(np.sum(~called & truth)), int(np.sum(~called & ~truth))
    return {"auroc": roc_auc_score(truth, score) if both else np.nan,
            "auprc": average_precision_score(truth, score) if both else np.nan,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else np.nan,
            "recall": tp / (tp + fn) if tp + fn else np.nan,
            "fpr": fp / (fp + tn) if fp + tn else np.nan}


def runtime_table(json_paths):
    """One row per fitted chunk: cavi, chrom, chunk, start, end, n, p, q, iterations,
    converged, elbo, seconds (total) and the core-loop seconds per iteration."""
    rows = []
    for path in json_paths:
        fit = json.loads(Path(path).read_text())
        rows.append({"cavi": fit["cavi"], "chrom": fit["chrom"], "chunk": fit["chunk"],
                     "start": fit["start"], "end": fit["end"], "n": fit["n"], "p": fit["p_fitted"],
                     "q": fit["q"], "iterations": fit["iterations"], "converged": fit["converged"],
                     "elbo": fit["elbo"], "seconds": fit["seconds"]["total"]})
    return pd.DataFrame(rows)


def evaluate_qtl(modes, association_paths, hotspot_paths, json_paths, *, truth=None,
                 threshold=0.5, out_metrics, out_runtime):
    """Per CAVI mode: AUROC/AUPRC over all variant-protein pairs (PPI as score) and for hotspot
    detection (a variant with any true protein; score: expected number of proteins),
    precision/recall/FPR at PPI >= ``threshold`` (NaN without a simulated truth), chunks,
    iterations and convergence. The runtime table has one row per mode and chunk."""
    true = pd.read_csv(truth, sep="\t", dtype={col.CHR: str}) if truth else None
    rows = []
    for mode, assoc, hot in zip(modes, association_paths, hotspot_paths):
        long = pd.read_csv(assoc, sep="\t", dtype={col.CHR: str})
        hotspots = pd.read_csv(hot, sep="\t", dtype={col.CHR: str})
        row = {"cavi": mode, "n_pairs": len(long), "n_true": np.nan}
        if true is not None:
            keys = pd.MultiIndex.from_frame(long[[col.SNP, PROTEIN]])
            is_true = keys.isin(pd.MultiIndex.from_frame(true[[col.SNP, PROTEIN]]))
            row["n_true"] = int(is_true.sum())
            row.update(classification_metrics(is_true, long[PPI], threshold))
            hot_metrics = classification_metrics(hotspots[col.SNP].isin(true[col.SNP]),
                                                  hotspots["expected_proteins"], threshold)
            row.update(hotspot_auroc=hot_metrics["auroc"], hotspot_auprc=hot_metrics["auprc"])
        rows.append(row)
    runtime = runtime_table(json_paths)
    per_mode = runtime.groupby("cavi", sort=False).agg(
        n_chunks=("chunk", "size"), iterations=("iterations", "sum"),
        max_iterations=("iterations", "max"), converged=("converged", "all"))
    metrics = pd.DataFrame(rows).join(per_mode, on="cavi")
    columns = ["cavi", "n_pairs", "n_true", "auroc", "auprc", "precision", "recall", "fpr", "tp",
               "fp", "fn", "tn", "hotspot_auroc", "hotspot_auprc", "n_chunks", "iterations",
               "max_iterations", "converged"]
    metrics = metrics.reindex(columns=columns)
    write_table(metrics, out_metrics, float_format="%.6g", na_rep="NaN")
    write_table(runtime, out_runtime, float_format="%.6g")
    return metrics, runtime
