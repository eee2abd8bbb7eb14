"""File-to-file stages of external summary statistics (paper section 2.6; rules/external.smk).

An external GWAS is one file for all chromosomes in any supported format. It is read once,
harmonised to each chromosome's LD store of the PRS panel and written as canonical per-chromosome
sumstats, so the fits treat it like the study's own GWAS; a per-variant audit and a summary of
every filter's count record what was dropped and changed. For the demo, the study's own GWAS is
first rewritten as such a file (``vibank.simulate.external_gwas``), and the fits of the two are
compared.
"""

import logging

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.io.atomic import write_table
from vibank.io.sumstats import read_sumstats, write_sumstats
from vibank.ld import LDMatrix
from vibank.simulate.external_gwas import external_gwas
from vibank.sumstats import harmonise, qc, read_sumstats_any
from vibank.eval.metrics import effect_agreement
from vibank.sumstats.harmonise import CHANGE_COUNTS, FILTER_ORDER, harmonisation_totals

log = logging.getLogger(__name__)

#: columns of the harmonisation summary: one row per chromosome, then one for the whole file
SUMMARY_COLUMNS = ["name", "chrom", "input", "read_dropped", *FILTER_ORDER, "paired", "matched",
                   *CHANGE_COUNTS, "overlap"]
#: columns of the comparison of an external GWAS's fits with the study's own
AGREEMENT_COLUMNS = ["model", "external", "trait", "fold", "n_variants", "n_external_only",
                     "n_study_only", "effect_correlation", "score_weight_correlation"]


def write_external_demo(sumstats_paths, out, out_changes, *, format="gwas-ssf", **options):
    """The demo's external file: canonical sumstats (one file per chromosome) rewritten with
    ``vibank.simulate.external_gwas`` (``options``: its swap/flip/mismatch settings and seed);
    ``out_changes`` lists the variants changed and how."""
    sumstats = pd.concat([read_sumstats(p) for p in sumstats_paths], ignore_index=True)
    table, changes = external_gwas(sumstats, format=format, **options)
    log.info("%d variants written as %s: %s", len(table), format,
             ", ".join(f"{k} {v}" for k, v in changes["change"].value_counts().items()))
    write_table(table, out, float_format="%.8g")
    write_table(changes, out_changes)


def harmonise_external(path, ld_paths, out_sumstats, *, out_audit, out_summary, name,
                       sumstats_format="auto", n=None, column_map=None, harmonise_options=None,
                       min_overlap=0.75):
    """Read an external summary-statistics file once and harmonise it to each LD store.

    Parameters
    ----------
    path : the file (any ``vibank.io.sumstats_formats`` format)
    ld_paths : the PRS panel's LD store of each chromosome
    out_sumstats : canonical sumstats output per chromosome, in the order of ``ld_paths``
    out_audit : one per-variant audit table (reading and harmonisation) for the whole file
    out_summary : each filter's count per chromosome and in total (``SUMMARY_COLUMNS``)
    name : the external entry's name (first column of the summary)
    sumstats_format, n, column_map : as ``read_sumstats_any``
    harmonise_options : keyword options of ``vibank.sumstats.harmonise``
    min_overlap : refuse a chromosome whose overlap with its store is below this

    Raises
    ------
    VibankError : unreadable file, build mismatch, overlap below ``min_overlap`` (one line)
    """
    sumstats, read_audit = read_sumstats_any(path, format=sumstats_format, n=n,
                                             column_map=column_map)
    # each store is given its chromosome's rows (and those without a chromosome, matched by
    # ID), not the whole file again
    row_chrom = qc.normalise_chrom(sumstats[col.CHR]).to_numpy(object)
    no_chrom = pd.isna(row_chrom)
    audits, rows, outputs, panel_chroms = [read_audit], [], [], set()
    for ld_path, out in zip(ld_paths, out_sumstats, strict=True):
        ld = LDMatrix(ld_path)
        chrom = str(ld.attrs.get("chrom", "?"))
        variants = ld.variants()
        chroms = set(qc.normalise_chrom(variants[col.CHR]).dropna())
        panel_chroms |= chroms
        part = sumstats[no_chrom | np.isin(row_chrom, list(chroms))]
        result = harmonise(part, variants, min_overlap=min_overlap, label=str(path),
                           ld_label=str(ld_path), **(harmonise_options or {}))
        matched = result.matched
        if col.MAF not in matched:
            matched = matched.assign(**{col.MAF: np.nan})
        outputs.append((matched, out))
        audits.append(result.audit)
        rows.append({"name": name, "chrom": chrom, **result.summary})
        log.info("chr%s: %d variants harmonised (%s)", chrom, result.summary["matched"],
                 ", ".join(f"{k} {v}" for k, v in result.summary.items()
                           if k in (*FILTER_ORDER, *CHANGE_COUNTS) and v))
    other = ~no_chrom & ~np.isin(row_chrom, list(panel_chroms))
    summary = harmonisation_totals(rows, n_input=len(sumstats), read_dropped=len(read_audit),
                                   other_chromosome=int(other.sum()))
    summary["name"] = name
    # outputs only once every chromosome has passed its checks
    for matched, out in outputs:
        write_sumstats(matched, out)
    write_table(pd.concat(audits, ignore_index=True), out_audit)
    write_table(summary.reindex(columns=SUMMARY_COLUMNS), out_summary, float_format="%.6g")
    return summary


def _effects(paths):
    """BETA (standardised) and the score weight per variant of a fit's effect tables, keyed by
    CHR:POS and the ordered alleles (the effect allele of both fits is the LD panel's A1)."""
    table = pd.concat([pd.read_csv(p, sep="\t", dtype={col.CHR: str}) for p in paths])
    key = (table[col.CHR].astype(str) + ":" + table[col.POS].astype(str) + ":"
           + table[col.A1] + ":" + table[col.A2])
    return table.set_index(key)[[col.BETA, "BETA_PER_ALLELE"]]


def compare_fits(pairs, out):
    """Correlation of each model's effects from an external file with the same model's fit of
    the study's own GWAS it was made from (the demo's check, issue 7: at least 0.95).

    ``pairs``: dicts with model, external, trait, fold, external_effects and study_effects (the
    per-chromosome effect tables of the two fits). A variant fitted in one only (dropped by the
    harmonisation or the mismatch filter of the other) counts with effect 0 in the other, as it
    does in the score.
    """
    rows = []
    for pair in pairs:
        agreement = effect_agreement(_effects(pair["external_effects"]),
                                     _effects(pair["study_effects"]), (col.BETA, "BETA_PER_ALLELE"))
        rows.append({
            "model": pair["model"], "external": pair["external"], "trait": pair["trait"],
            "fold": int(pair["fold"]), "n_variants": agreement["n_variants"],
            "n_external_only": agreement["n_first_only"],
            "n_study_only": agreement["n_second_only"],
            "effect_correlation": agreement[f"{col.BETA}_correlation"],
            "score_weight_correlation": agreement["BETA_PER_ALLELE_correlation"],
        })
        log.info("%s: effects of %s (external %s) vs the study's %s fold %s: r = %.4f",
                 pair["model"], pair["external"], pair["external"], pair["trait"], pair["fold"],
                 rows[-1]["effect_correlation"])
    write_table(pd.DataFrame(rows, columns=AGREEMENT_COLUMNS), out, float_format="%.6g")
