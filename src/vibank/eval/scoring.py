"""Polygenic scores of a sample set with ``plink2 --score``, summed over chromosomes.

The fits write one plink2 score file per chromosome (``SNP A1 BETA_PER_ALLELE`` with a header,
variants of weight zero left out). :func:`score_samples` concatenates them, runs one plink2
``--score`` over the genotypes with ``cols=+scoresums`` and ``list-variants``, and checks the
variant overlap: the share of weighted variants that plink2 actually scored. plink2 counts the
dosage of the score file's A1 whatever the .bim's allele order, and skips (with a warning)
variants whose ID is absent or whose A1 is neither allele; those count against the overlap.
"""

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.atomic import atomic_path, write_table
from vibank.io.plink import plink2_input_flag, read_keep, read_samples, read_variants

log = logging.getLogger(__name__)

#: the columns of a plink2 --score file written by the fits
SCORE_FILE_COLUMNS = [col.SNP, col.A1, "BETA_PER_ALLELE"]
#: the score column of the ``.sscore`` table (plink2's name for the sum with cols=+scoresums)
SCORE_SUM = "SCORE1_SUM"
#: the ``.sscore`` columns, in order, written by :func:`score_samples`
SSCORE_COLUMNS = [col.FID, col.IID, "ALLELE_CT", "NAMED_ALLELE_DOSAGE_SUM", "SCORE1_AVG", SCORE_SUM]


def read_score_files(paths):
    """Concatenate per-chromosome plink2 score files; error on a repeated variant."""
    parts = []
    for path in paths:
        table = pd.read_csv(path, sep="\t", dtype={col.SNP: str, col.A1: str})
        if list(table.columns) != SCORE_FILE_COLUMNS:
            raise VibankError(f"{path}: expected columns {' '.join(SCORE_FILE_COLUMNS)}, "
                              f"found {' '.join(map(str, table.columns))}")
        parts.append(table)
    weights = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=SCORE_FILE_COLUMNS)
    dup = weights[col.SNP].duplicated()
    if dup.any():
        raise VibankError(f"variant {weights[col.SNP][dup].iloc[0]} appears in more than one "
                          f"score file ({', '.join(map(str, paths))})")
    return weights


def _check_overlap(n_scored, n_weighted, min_overlap, where):
    overlap = n_scored / n_weighted
    if overlap < min_overlap:
        raise VibankError(f"{where}: only {n_scored} of {n_weighted} weighted variants "
                          f"({overlap:.1%}) can be scored (min_overlap {min_overlap:.0%})")
    return overlap


def score_audit(weights, variants):
    """The weighted variants plink2 cannot score, with a reason: ``not_in_target`` (ID absent)
    or ``allele_mismatch`` (the score's A1 is neither allele there)."""
    alleles = variants.drop_duplicates(col.SNP).set_index(col.SNP)
    known = weights[col.SNP].isin(alleles.index).to_numpy()
    reason = np.where(known, "", "not_in_target").astype(object)
    idx = np.flatnonzero(known)
    a1 = weights[col.A1].to_numpy()[idx]
    there = alleles.loc[weights[col.SNP].to_numpy()[idx]]
    ok = (there[col.A1].to_numpy() == a1) | (there[col.A2].to_numpy() == a1)
    reason[idx[~ok]] = "allele_mismatch"
    bad = reason != ""
    return pd.DataFrame({col.SNP: weights[col.SNP].to_numpy()[bad],
                         col.A1: weights[col.A1].to_numpy()[bad], "reason": reason[bad]})


def score_samples(score_files, bfile, keep, *, out_sscore, out_vars, out_json,
                  min_overlap=0.75, threads=1, memory_mb=None, audit_out=None):
    """Score the samples of ``keep`` with the weights of ``score_files`` (one per chromosome).

    Parameters
    ----------
    score_files : plink2 --score files (SNP A1 BETA_PER_ALLELE, header), one per chromosome
    bfile : prefix of the genotypes: PLINK 1 bed/bim/fam, or PLINK 2 pgen/pvar/psam when the
        .pgen exists (a target biobank); plink2 streams the variants and keeps one sum per
        sample, so memory grows with the samples only (10^6 samples: tens of MB)
    keep : keep file (#FID IID) of the samples to score, or None for all
    audit_out : optional TSV of the weighted variants that cannot be scored (SNP A1 reason)
    out_sscore : plink2's ``.sscore`` table, FID IID ALLELE_CT NAMED_ALLELE_DOSAGE_SUM
        SCORE1_AVG SCORE1_SUM; SCORE1_SUM = sum over variants of A1 dosage x BETA_PER_ALLELE
        is the polygenic score
    out_vars : the scored variant IDs (plink2's ``.sscore.vars``)
    out_json : n_samples, n_weighted, n_scored, overlap = n_scored / n_weighted, min_overlap
    min_overlap : refuse (VibankError) when the overlap is below this share

    Returns
    -------
    dict, the content of ``out_json``

    Notes
    -----
    Missing genotypes count as twice the A1 frequency among the scored samples (plink2's
    default mean imputation). When no variant has a non-zero weight the score is zero for
    every sample and the overlap is reported as 1.
    """
    weights = read_score_files(score_files)
    weights = weights[weights["BETA_PER_ALLELE"] != 0]
    variants, flag = read_variants(bfile), plink2_input_flag(bfile)
    samples = read_keep(keep) if keep is not None else read_samples(bfile)
    n_weighted = len(weights)
    summary = {"n_samples": len(samples), "n_weighted": n_weighted, "min_overlap": min_overlap}
    if n_weighted == 0:
        log.warning("no variant has a non-zero weight: every score is 0")
        sscore = pd.DataFrame({col.FID: samples[col.FID], col.IID: samples[col.IID],
                               "ALLELE_CT": 0, "NAMED_ALLELE_DOSAGE_SUM": 0,
                               "SCORE1_AVG": 0.0, SCORE_SUM: 0.0})
        write_table(sscore, out_sscore)
        with atomic_path(out_vars) as tmp:
            tmp.write_text("")
        return _write_summary({**summary, "n_scored": 0, "overlap": 1.0}, out_json)
    # plink2 stops when no variant matches: check against the variants first for a clear message
    audit = score_audit(weights, variants)
    if audit_out is not None:
        write_table(audit, audit_out)
    where = f"{bfile}.{'pvar' if flag == '--pfile' else 'bim'}"
    _check_overlap(n_weighted - len(audit), n_weighted, min_overlap, where)
    with tempfile.TemporaryDirectory(prefix="vibank_score_") as workdir:
        workdir = Path(workdir)
        write_table(weights, workdir / "weights.tsv", float_format="%.10g")
        out = run_plink2(
            [flag, bfile, *(["--keep", keep] if keep is not None else []),
             "--score", workdir / "weights.tsv", 1, 2, 3, "header", "list-variants",
             "cols=+scoresums"],
            workdir / "score", threads=threads, memory_mb=memory_mb)
        sscore = pd.read_csv(f"{out}.sscore", sep="\t", dtype={"#FID": str, "#IID": str,
                                                               "IID": str})
        sscore = sscore.rename(columns={"#FID": col.FID, "#IID": col.IID})
        if col.FID not in sscore.columns:  # plink2 leaves FID out when it equals IID
            sscore.insert(0, col.FID, sscore[col.IID])
        scored = Path(f"{out}.sscore.vars").read_text().split()
        overlap = _check_overlap(len(scored), n_weighted, min_overlap, f"{out}.sscore.vars")
        write_table(sscore[SSCORE_COLUMNS], out_sscore)
        with atomic_path(out_vars) as tmp:
            Path(f"{out}.sscore.vars").replace(tmp)
    log.info("scored %d samples on %d of %d weighted variants (overlap %.3f)", len(sscore),
             len(scored), n_weighted, overlap)
    return _write_summary({**summary, "n_scored": len(scored), "overlap": overlap}, out_json)


def _write_summary(summary, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def read_scores(sscore):
    """The score table written by :func:`score_samples` as a Series IID -> score."""
    table = pd.read_csv(sscore, sep="\t", dtype={col.FID: str, col.IID: str})
    return pd.Series(table[SCORE_SUM].to_numpy(np.float64), index=table[col.IID], name="PRS")
