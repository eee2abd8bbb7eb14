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


def score_samples_many(score_sets, bfile, keep, *, out_sscore, out_vars, out_json,
                       min_overlap=0.75, threads=1, memory_mb=None):
    """Score the samples of ``keep`` with several sets of weights in one plink2 pass.

    Each set's sum equals :func:`score_samples`'s SCORE1_SUM for it alone: the weights of all
    sets go into one ``--score`` file with a column per set (zero where a set has no weight).
    A variant weighted for different alleles by different sets is written for the first set's
    allele; a set weighting the other allele gets the weight negated plus the constant
    ``2 * weight`` per sample (a dosage of the other allele is 2 minus this one's, for
    observed and mean-imputed genotypes alike).

    Parameters
    ----------
    score_sets : dict name -> plink2 score files of that set (one per chromosome)
    bfile, keep, min_overlap, threads, memory_mb : as in :func:`score_samples`; each set must
        reach ``min_overlap`` on its own
    out_sscore : table FID IID then one column per set (its score sum), in ``score_sets`` order
    out_vars : the IDs of the variants scored for any set
    out_json : {name: n_samples, n_weighted, n_scored, overlap, min_overlap} per set

    Returns
    -------
    dict, the content of ``out_json``
    """
    variants, flag = read_variants(bfile), plink2_input_flag(bfile)
    samples = read_keep(keep) if keep is not None else read_samples(bfile)
    where = f"{bfile}.{'pvar' if flag == '--pfile' else 'bim'}"
    names = list(score_sets)
    usable, summaries = [], {}
    for name in names:
        weights = read_score_files(score_sets[name])
        weights = weights[weights["BETA_PER_ALLELE"] != 0]
        audit = score_audit(weights, variants)
        n_weighted = len(weights)
        if n_weighted:
            _check_overlap(n_weighted - len(audit), n_weighted, min_overlap, f"{where} ({name})")
        # the variants plink2 cannot score (absent, or neither allele) add nothing to any sum
        usable.append(weights[~weights[col.SNP].isin(audit[col.SNP])].assign(SET=name))
        summaries[name] = {"n_samples": len(samples), "n_weighted": n_weighted,
                           "min_overlap": min_overlap}
    long = pd.concat(usable, ignore_index=True)
    allele = long.drop_duplicates(col.SNP).set_index(col.SNP)[col.A1]
    flipped = (long[col.A1].to_numpy() != allele.loc[long[col.SNP]].to_numpy())
    beta = long["BETA_PER_ALLELE"].to_numpy(np.float64)
    long["WEIGHT"] = np.where(flipped, -beta, beta)
    offset = (pd.Series(np.where(flipped, 2 * beta, 0.0)).groupby(long["SET"]).sum()
              .reindex(names, fill_value=0.0))
    table = long.pivot_table(index=col.SNP, columns="SET", values="WEIGHT", aggfunc="sum",
                             fill_value=0.0).reindex(columns=names, fill_value=0.0)
    sums = pd.DataFrame(0.0, index=pd.RangeIndex(len(samples)), columns=names)
    scored = []
    if len(table):
        with tempfile.TemporaryDirectory(prefix="vibank_score_") as workdir:
            workdir = Path(workdir)
            # plink2 names the sums SCORE1_SUM, SCORE2_SUM, ... in column order
            columns = [f"SCORE{k}" for k in range(1, len(names) + 1)]
            weights = pd.DataFrame({col.SNP: table.index, col.A1: allele.loc[table.index].to_numpy(),
                                    **dict(zip(columns, table.to_numpy().T))})
            write_table(weights, workdir / "weights.tsv", float_format="%.10g")
            out = run_plink2(
                [flag, bfile, *(["--keep", keep] if keep is not None else []),
                 "--score", workdir / "weights.tsv", 1, 2, "header", "list-variants",
                 "cols=+scoresums", "--score-col-nums",
                 "3" if len(names) == 1 else f"3-{len(names) + 2}"],  # plink2 refuses "3-3"
                workdir / "score", threads=threads, memory_mb=memory_mb)
            sscore = pd.read_csv(f"{out}.sscore", sep="\t", dtype={"#FID": str, "#IID": str,
                                                                   "IID": str})
            scored = Path(f"{out}.sscore.vars").read_text().split()
        sscore = sscore.rename(columns={"#FID": col.FID, "#IID": col.IID})
        if col.FID not in sscore.columns:  # plink2 leaves FID out when it equals IID
            sscore.insert(0, col.FID, sscore[col.IID])
        samples = sscore[[col.FID, col.IID]]
        sums = pd.DataFrame({name: sscore[f"{c}_SUM"].to_numpy(np.float64) + offset[name]
                             for name, c in zip(names, columns)})
    in_scored = set(scored)
    for name, part in zip(names, usable):
        summary = summaries[name]
        n_scored = int(part[col.SNP].isin(in_scored).sum())
        summary["n_scored"] = n_scored
        summary["overlap"] = (_check_overlap(n_scored, summary["n_weighted"], min_overlap,
                                             f"{where} ({name})")
                              if summary["n_weighted"] else 1.0)
    result = pd.concat([samples[[col.FID, col.IID]].reset_index(drop=True), sums], axis=1)
    write_table(result, out_sscore, float_format="%.10g")
    with atomic_path(out_vars) as tmp:
        tmp.write_text("".join(f"{snp}\n" for snp in scored))
    log.info("scored %d samples for %d weight sets on %d variants in one plink2 pass",
             len(result), len(names), len(scored))
    return _write_summary(summaries, out_json)


def _write_summary(summary, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def read_scores(sscore, score=None):
    """The score table written by :func:`score_samples` (or column ``score`` of one written by
    :func:`score_samples_many`) as a Series IID -> score."""
    table = pd.read_csv(sscore, sep="\t", dtype={col.FID: str, col.IID: str})
    column = SCORE_SUM if score is None else score
    if column not in table.columns:
        raise VibankError(f"{sscore}: no score column {column}")
    return pd.Series(table[column].to_numpy(np.float64), index=table[col.IID], name="PRS")
