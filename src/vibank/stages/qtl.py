"""File-to-file stages of the genome-wide pQTL pipeline (pqtl_afcavi.md section (i)).

Called by the workflow scripts (rules/qtl.smk): the discovery samples, LD-pruned contiguous
chunks per chromosome, a simulated protein panel (with gene positions and the true
associations), proteins residualised on covariates, one atlasQTL fit per chunk against all
proteins, then the combined long table, calls, loci, hotspots and the evaluation against the
simulated truth. The statistics live in ``vibank.qtl`` (model, ``data``, ``scan``) and
``vibank.eval``; tables are described in docs/formats.md.
"""

import contextlib
import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes import extract_bed, prune_variants
from vibank.io.atomic import atomic_path, write_table
from vibank.io.plink import (is_pgen, read_bim, read_dosages, read_fam, read_id_list,
                             read_variants, write_keep)
from vibank.io.sample_values import check_varying, read_sample_values
from vibank.qtl import (AtlasQTL, ConvergenceWarning, call_pairs, check_calling, chunk_tables,
                        cis_trans, clump_loci, fit_record, gene_positions, hotspot_table,
                        impute_dosages, make_chunks, mode_metrics, residualise, runtime_summary)

log = logging.getLogger(__name__)


# -- samples and chunks ---------------------------------------------------------------------
def discovery_samples(splits_path):
    """FID IID of the discovery samples: the reference population's QC'd samples outside the LD
    panel (ROLE ``cv`` of splits.tsv, i.e. every fold's samples), in splits.tsv order."""
    table = pd.read_csv(splits_path, sep="\t", dtype={col.FID: str, col.IID: str})
    samples = table.loc[table["ROLE"] == "cv", [col.FID, col.IID]].reset_index(drop=True)
    if samples.empty:
        raise VibankError(f"{splits_path}: no discovery samples (ROLE cv)")
    return samples


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
        kept = prune_variants(bfile, chrom=chrom, keep=keep, window_kb=window_kb, step=step,
                              r2=r2, min_maf=min_maf, threads=threads, memory_mb=memory_mb,
                              workdir=tmp)
    table = bim[bim[col.SNP].isin(kept)].sort_values(col.POS, kind="stable")
    if table.empty:
        raise VibankError(f"chromosome {chrom}: no variant left after pruning")
    table = table[[col.SNP, col.CHR, col.POS, col.A1, col.A2]].reset_index(drop=True)
    table[col.CHUNK] = make_chunks(len(table), variants_per_chunk)
    log.info("chr%s: %d of %d variants kept by pruning, %d chunks", chrom, len(table), len(bim),
             table[col.CHUNK].max())
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
    return impute_dosages(read_dosages(bfile, sample_index=s_index, variant_index=v_index))


# -- proteins ---------------------------------------------------------------------------------
def simulate_qtl_proteins(bfile, splits_path, chunk_tables, *, out_proteins, out_protein_table,
                          out_truth, n_proteins, n_active_variants, active_protein_fraction,
                          mean_pve, block_size=50, max_block_rho=0.5, cis_fraction=0.5,
                          cis_window=1_000_000, seed=None):
    """Simulate a protein panel (the AF-CAVI paper design) on the pruned chunk variants of the
    discovery samples; write the proteins (FID IID P0001 ...), the protein table (protein CHR
    POS: a simulated gene position) and the true associations (SNP CHR POS protein BETA)."""
    from vibank.simulate.proteins import simulate_protein_panel, true_associations

    samples = discovery_samples(splits_path)
    variants = pd.concat([pd.read_csv(p, sep="\t", dtype={col.CHR: str}) for p in chunk_tables],
                         ignore_index=True)
    x = _dosages(bfile, samples[col.IID], variants[col.SNP])
    rng = np.random.default_rng(seed)
    panel = simulate_protein_panel(x, n_proteins,
                                   n_active_variants=n_active_variants,
                                   active_protein_fraction=active_protein_fraction,
                                   mean_pve=mean_pve, block_size=block_size,
                                   max_block_rho=max_block_rho, seed=rng.integers(2**32))
    names = [f"P{k + 1:04d}" for k in range(n_proteins)]
    proteins = pd.concat([samples, pd.DataFrame(panel.Y, columns=names)], axis=1)
    write_table(proteins, out_proteins, float_format="%.6g")
    chrom, pos = gene_positions(variants, panel.associations, n_proteins,
                                cis_fraction=cis_fraction, cis_window=cis_window, rng=rng)
    write_table(pd.DataFrame({col.PROTEIN: names, col.CHR: chrom, col.POS: pos}),
                out_protein_table)
    truth = true_associations(panel, variants, names)
    write_table(truth, out_truth)
    log.info("simulated %d proteins on %d samples x %d variants: %d true associations of %d "
             "variants", n_proteins, len(samples), x.shape[1], len(truth), truth[col.SNP].nunique())
    return panel


def residualise_proteins(proteins_path, covariates_path, splits_path, out_path, *, covariates):
    """Restrict the protein table (FID IID <protein>...) to the discovery samples that have
    covariates and residualise every protein on ``covariates`` (plus an intercept)."""
    proteins = read_sample_values(proteins_path, what="protein")
    names = [c for c in proteins.columns if c not in (col.FID, col.IID)]
    covar = read_sample_values(covariates_path, what="covariate", names=covariates)
    samples = discovery_samples(splits_path)
    table = samples.merge(proteins.drop(columns=[col.FID]), on=col.IID)
    table = table.merge(covar.drop(columns=[col.FID]).dropna(), on=col.IID)
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
def _chunk_of(chunk_table, chunk):
    """SNP IDs of chunk ``chunk`` of a chunk table (SNP ... CHUNK), in its order."""
    if not Path(chunk_table).is_file():
        raise VibankError(f"{chunk_table}: file not found")
    table = pd.read_csv(chunk_table, sep="\t", dtype={col.SNP: str})
    for name in (col.SNP, col.CHUNK):
        if name not in table.columns:
            raise VibankError(f"{chunk_table}: no {name} column (a chunk table has SNP ... CHUNK)")
    snps = table.loc[pd.to_numeric(table[col.CHUNK], errors="coerce") == int(chunk), col.SNP]
    if snps.empty:
        raise VibankError(f"{chunk_table}: no variant in chunk {chunk}")
    return snps.tolist()


def _chunk_variants(prefix, *, chunk_table=None, chunk=None, extract=None, chrom=None,
                    from_bp=None, to_bp=None):
    """SNP IDs of the chunk: the rows ``chunk`` of a chunk table (in its order), or the
    fileset's variants listed in ``extract`` (one ID a line) and/or inside chrom [from_bp,
    to_bp], in fileset order (every variant when nothing is given)."""
    variants = read_variants(prefix)
    where = f"{prefix}{'.pvar' if is_pgen(prefix) else '.bim'}"
    dup = variants[col.SNP].duplicated()
    if dup.any():
        raise VibankError(f"{where}: duplicated variant ID {variants[col.SNP][dup].iloc[0]}; "
                          "a chunk selects variants by ID")
    listed, source = ((_chunk_of(chunk_table, chunk), chunk_table) if chunk_table is not None
                      else (read_id_list(extract), extract) if extract is not None
                      else (None, None))
    if listed is not None:
        known = set(variants[col.SNP])
        absent = [v for v in listed if v not in known]
        if absent:
            raise VibankError(f"{source}: variant {absent[0]} is not in {where} "
                              f"({len(absent)} of {len(listed)} absent)")
        if chunk_table is not None:
            return listed
    keep = np.ones(len(variants), dtype=bool)
    if listed is not None:
        keep &= variants[col.SNP].isin(listed).to_numpy()
    if chrom is not None:
        keep &= (variants[col.CHR] == str(chrom)).to_numpy()
    if from_bp is not None:
        keep &= (variants[col.POS] >= from_bp).to_numpy()
    if to_bp is not None:
        keep &= (variants[col.POS] <= to_bp).to_numpy()
    if not keep.any():
        raise VibankError(f"{where}: no variant selected (chromosome {chrom}, "
                          f"{from_bp or 'start'}-{to_bp or 'end'} bp, extract {extract})")
    return variants.loc[keep, col.SNP].tolist()


@contextlib.contextmanager
def _bed_of(prefix, snps, *, threads=1):
    """A PLINK 1 fileset holding ``snps``: ``prefix`` itself, or for a PLINK 2 fileset the
    chunk copied into a temporary one (``extract_bed``)."""
    if not is_pgen(prefix):
        yield prefix
        return
    with tempfile.TemporaryDirectory(prefix="vibank-qtl-") as tmp:
        yield extract_bed(prefix, snps, Path(tmp) / "chunk", threads=threads)


def _chunk_inputs(bfile, snps, proteins_path, covariates_path, covariate_names):
    """The chunk's variants (SNP CHR POS A1 A2), dosages and protein matrix over the samples
    shared by the proteins (in their order), the genotypes and the covariates (when given,
    complete ones only; the proteins are then residualised on them)."""
    proteins = read_sample_values(proteins_path, what="protein")
    names = [c for c in proteins.columns if c not in (col.FID, col.IID)]
    fam, bim = read_fam(bfile), read_bim(bfile)
    table = proteins[proteins[col.IID].isin(fam[col.IID])]
    context = f"over the {len(table)} samples shared with the genotypes {bfile}"
    if covariates_path is not None:
        covar = read_sample_values(covariates_path, what="covariate", names=covariate_names)
        covariate_names = [c for c in covar.columns if c not in (col.FID, col.IID)]
        table = table.merge(covar.drop(columns=col.FID).dropna(), on=col.IID)
        context = (f"over the {len(table)} samples shared with the genotypes {bfile} and "
                   f"the covariates {covariates_path}")
    if len(table) < 3:
        raise VibankError(f"{proteins_path}: {len(table)} of its {len(proteins)} samples are in "
                          f"{bfile}.fam{' and the covariates' if covariates_path else ''} "
                          f"(IDs are matched by {col.IID}); at least 3 are needed")
    check_varying(table, names, proteins_path, context)
    log.info("%d proteins, %d of %d samples %s", len(names), len(table), len(proteins),
             context.replace(f"over the {len(table)} samples ", ""))
    y = table[names].to_numpy(dtype=np.float64)
    if covariates_path is not None:
        y = residualise(y, table[covariate_names].to_numpy(dtype=np.float64))
    variants = bim.set_index(col.SNP).loc[snps].reset_index()[
        [col.SNP, col.CHR, col.POS, col.A1, col.A2]]
    x = _dosages(bfile, table[col.IID], variants[col.SNP])
    return variants, x, y, names


def fit_qtl_chunk(genotypes, proteins_path, *, out_table, out_json, out_calls=None,
                  out_hotspots=None, chunk_table=None, chunk=None, extract=None, chrom=None,
                  from_bp=None, to_bp=None, covariates_path=None, covariate_names=None,
                  cavi="adaptive", model_options=None, min_ppi=0.0, threshold=0.5,
                  fdr_level=None, threads=1):
    """Fit atlasQTL to one chunk of variants against every protein (``vibank qtl`` and the
    workflow's rule fit_qtl_chunk).

    Parameters
    ----------
    genotypes : PLINK prefix, a PLINK 2 fileset when its .pgen exists, else .bed/.bim/.fam
    proteins_path : table FID IID <protein>... (``vibank.io.sample_values``)
    out_table, out_json : keyword-only
        The long table (SNP CHR POS A1 A2 protein PPI BETA_STD BETA, pairs with PPI >=
        ``min_ppi``) and the run's JSON (iterations, stop reason, ELBO trace, seconds per
        phase, hotspot propensities theta per variant).
    out_calls, out_hotspots : optional, keyword-only
        The calls (PPI >= ``threshold``, or Bayesian FDR < ``fdr_level``) and the hotspot
        table, both from every pair (``vibank.qtl.chunk_tables``).
    chunk_table, chunk : the chunk ``chunk`` of a chunk table (``chunk_variants``) ...
    extract, chrom, from_bp, to_bp : ... or the variants listed and/or inside a region
        (every variant of the fileset by default)
    covariates_path, covariate_names : optional table FID IID <covariate>... the proteins are
        residualised on (least squares with an intercept; default every column)
    cavi, model_options, threads : the ``AtlasQTL`` options

    Returns
    -------
    dict, the run's JSON plus n_rows (long table) and n_calls

    All outputs are written once the fit is done, each atomically.
    """
    check_calling(min_ppi, threshold, fdr_level)
    snps = _chunk_variants(genotypes, chunk_table=chunk_table, chunk=chunk, extract=extract,
                           chrom=chrom, from_bp=from_bp, to_bp=to_bp)
    with _bed_of(genotypes, snps, threads=threads) as bfile:
        variants, x, y, names = _chunk_inputs(bfile, snps, proteins_path, covariates_path,
                                              covariate_names)
    model_options = dict(model_options or {})
    model = AtlasQTL(cavi=cavi, n_threads=threads, **model_options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y, variant_names=variants[col.SNP].to_numpy(), response_names=names)
    long, calls, hotspots = chunk_tables(model, variants, names, min_ppi=min_ppi,
                                         threshold=threshold, fdr_level=fdr_level)
    record = fit_record(model)
    summary = {
        "chrom": str(variants[col.CHR].iloc[0]), "chunk": None if chunk is None else int(chunk),
        "cavi": cavi, "start": int(variants[col.POS].min()), "end": int(variants[col.POS].max()),
        "n": int(x.shape[0]), "p": int(len(variants)), **record,
        "warnings": [str(w.message) for w in caught],
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model_options.items()},
        "threads": int(threads), "min_ppi": float(min_ppi),
    }
    write_table(long, out_table, float_format="%.6g")
    if out_calls is not None:
        write_table(calls, out_calls, float_format="%.6g")
    if out_hotspots is not None:
        write_table(hotspots, out_hotspots, float_format="%.6g")
    with atomic_path(out_json) as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1) + "\n")
    log.info("chunk chr%s:%s-%s (%s): n=%d p=%d q=%d, %s after %d iterations, %.1f s; %d pairs "
             "with PPI >= %g written, %d called", summary["chrom"], summary["start"],
             summary["end"], cavi, summary["n"], record["p_fitted"], record["q"],
             record["stop_reason"], record["iterations"], record["seconds"]["total"], len(long),
             min_ppi, len(calls))
    return {**summary, "n_rows": len(long), "n_calls": len(calls)}


# -- combining the chunks -----------------------------------------------------------------------
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
    genes = (pd.read_csv(protein_table, sep="\t", dtype={col.PROTEIN: str, col.CHR: str})
             if protein_table else None)
    calls = call_pairs(long, threshold=threshold, fdr_level=fdr_level)
    calls["cis_trans"] = cis_trans(calls[col.CHR], calls[col.POS], calls[col.PROTEIN], genes,
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
def runtime_table(json_paths):
    """One row per fitted chunk, from the fits' JSONs: cavi, chrom, chunk, start, end, n, p
    (fitted), q, iterations, converged, elbo and seconds (total)."""
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
    precision/recall/FPR at PPI >= ``threshold``, true and false calls at PPI >= 0.9 and at
    Bayesian FDR < 0.05 (all NaN without a simulated truth), chunks,
    iterations and convergence. The runtime table has one row per mode and chunk."""
    true = pd.read_csv(truth, sep="\t", dtype={col.CHR: str}) if truth else None
    rows = []
    for mode, assoc, hot in zip(modes, association_paths, hotspot_paths):
        long = pd.read_csv(assoc, sep="\t", dtype={col.CHR: str})
        hotspots = pd.read_csv(hot, sep="\t", dtype={col.CHR: str})
        rows.append({"cavi": mode, **mode_metrics(long, hotspots, true, threshold)})
    runtime = runtime_table(json_paths)
    per_mode = runtime_summary(runtime)
    metrics = pd.DataFrame(rows).join(per_mode, on="cavi")
    columns = ["cavi", "n_pairs", "n_true", "auroc", "auprc", "precision", "recall", "fpr", "tp",
               "fp", "fn", "tn", "tp_ppi90", "fp_ppi90", "tp_fdr05", "fp_fdr05", "hotspot_auroc",
               "hotspot_auprc", "n_chunks", "iterations", "max_iterations", "converged"]
    metrics = metrics.reindex(columns=columns)
    write_table(metrics, out_metrics, float_format="%.6g", na_rep="NaN")
    write_table(runtime, out_runtime, float_format="%.6g")
    return metrics, runtime
