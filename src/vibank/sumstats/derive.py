"""The canonical summary-statistics table from a reader's parsed columns.

``vibank.io.sumstats_formats`` reads a file in any supported format into columns named by role
(text for IDs, chromosomes, alleles and codes; floats for the numbers) and computes nothing.
:func:`derive_values` completes what a format lacks, per row: BETA = log(OR), Z from the file's
statistic, BETA / SE or the p-value with the effect's sign, P from Z, MAF from the effect-allele
frequency, N from its column(s) and the given ``n``, CHR in one spelling. The rows it cannot use
are dropped into an audit (``qc.AUDIT_COLUMNS``) with a reason: ``errcode``, ``missing_value``,
``se_nonpositive``, ``missing_statistic``; p-values clipped at ``qc.P_FLOOR`` keep their row and
get an audit row with ``action = clipped``. :func:`read_sumstats_any` does both steps.
"""

import logging

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.sumstats_formats import NUMERIC_ROLES, read_sumstats_columns
from vibank.sumstats import qc

log = logging.getLogger(__name__)

#: the canonical table of :func:`derive_values` and :func:`read_sumstats_any`
OUTPUT_COLUMNS = [*col.SUMSTATS_ORDER, col.A1_FREQ]

_TEXT_ROLES = ("SNP", "CHR", "A1", "A2", "ERRCODE")


def read_sumstats_any(path, *, format="auto", n=None, column_map=None):
    """Read summary statistics in any supported format as vibank's canonical table.

    Reads with :func:`vibank.io.sumstats_formats.read_sumstats_columns`, then completes and
    checks the values with :func:`derive_values`.

    Parameters
    ----------
    path : the file (plain or gzip, tab- or whitespace-separated, one header line; leading
        ``##`` lines are skipped)
    format : one of ``vibank.io.sumstats_formats.FORMATS`` (vibank, plink2, plink1, fastgwa,
        gwas-ssf, saige, regenie, ldsc, custom) or ``"auto"`` to detect it from the header
    n : GWAS sample size for every variant whose row gives none (required when the file has no
        sample-size column)
    column_map : {role: header name}, overriding the format's names; with ``format="custom"``
        the only column names used

    Returns
    -------
    table : DataFrame with ``OUTPUT_COLUMNS`` (canonical columns plus A1_FREQ, NaN when absent);
        A1 is the effect allele and Z, BETA refer to it; CHR normalised (``chr1`` -> ``1``,
        X -> 23); POS nullable (LDSC files have none)
    audit : DataFrame with ``qc.AUDIT_COLUMNS``: one row per variant dropped while reading
        (``errcode``, ``missing_value``, ``missing_statistic``, ``se_nonpositive``) or kept with
        its p-value clipped (``action = clipped``)

    Raises
    ------
    VibankError : one line naming the file and the row or column: missing file, empty file,
        header only, a comma- or semicolon-separated file, a missing required column, a
        non-numeric value in a numeric column, no sample size
    """
    path = str(path)
    raw = read_sumstats_columns(path, format=format, column_map=column_map)
    table, audit = derive_values(raw.columns, n=n, label=path)
    log.info("%s (%s): %d variants read, %d dropped, %d p-values clipped", path, raw.format,
             len(table), int((audit["action"] == "dropped").sum()),
             int((audit["action"] == "clipped").sum()))
    return table, audit


def derive_values(columns, *, n=None, label="sumstats"):
    """The canonical table and its audit from parsed columns named by role.

    Parameters
    ----------
    columns : DataFrame (or {role: column}) as from ``read_sumstats_columns``: text roles SNP,
        CHR, A1, A2, ERRCODE (string, <NA> where missing) and float roles POS, BETA, OR, SE, Z,
        P, LOG10P, N, N_CASE, N_CONTROL, A1_FREQ, MAF (NaN where missing); A1 is required,
        every other role may be absent. Other roles are ignored.
    n : sample size for the rows without one (required when there is no N nor N_CASE and
        N_CONTROL)
    label : names the input in error messages (the file path)

    Returns
    -------
    table : DataFrame with ``OUTPUT_COLUMNS`` of the rows kept, index 0..m-1 of the input rows
    audit : DataFrame with ``qc.AUDIT_COLUMNS``, one row per dropped or clipped input row, in
        input order; reasons ``errcode`` (a plink2 ERRCODE), ``missing_value`` (no ID and no
        CHR:POS, no effect allele, no N), ``se_nonpositive``, ``missing_statistic`` (no Z, no
        BETA / SE and no p-value with a signed effect), ``p_clipped`` (kept)

    Raises
    ------
    VibankError : no A1 column, no sample size anywhere, or ``n`` not positive (one line naming
        ``label``)
    """
    columns = pd.DataFrame(columns).reset_index(drop=True)
    if "A1" not in columns:
        raise VibankError(f"{label}: column A1 (the effect allele) is missing")
    text = {r: columns[r].astype("string") for r in _TEXT_ROLES if r in columns}
    numbers = {r: columns[r].to_numpy(float, copy=True) for r in NUMERIC_ROLES if r in columns}
    m = len(columns)
    nan = np.full(m, np.nan)
    get = numbers.get
    chrom = qc.normalise_chrom(text["CHR"]) if "CHR" in text else \
        pd.Series(pd.NA, index=range(m), dtype="string")
    pos = pd.array(np.round(get("POS", nan)), dtype="Float64").astype("Int64")
    a1 = text["A1"].str.upper()
    a2 = text["A2"].str.upper() if "A2" in text else \
        pd.Series(pd.NA, index=a1.index, dtype="string")
    snp = text.get("SNP")
    # no ID column, or missing IDs: CHR:POS stands in (matching uses positions then)
    fallback = chrom.astype(str) + ":" + pd.Series(pos, dtype="string").astype(str)
    snp = fallback if snp is None else snp.fillna(fallback)

    beta = get("BETA", nan).copy()
    if "OR" in numbers:
        odds = numbers["OR"]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_or = np.where(odds > 0, np.log(np.where(odds > 0, odds, 1.0)), np.nan)
        beta = np.where(np.isnan(beta), log_or, beta)
    se = get("SE", nan)
    z, p, clipped = _z_and_p(numbers, beta, se)
    n_values = _sample_size(numbers, n, m, label)
    freq = get("A1_FREQ", nan)
    maf = np.where(np.isfinite(freq), qc.maf_from_freq(freq), get("MAF", nan))
    table = pd.DataFrame({
        col.CHR: chrom.to_numpy(), col.SNP: snp.to_numpy(), col.POS: pos, col.A1: a1.to_numpy(),
        col.A2: a2.to_numpy(), col.N: n_values, col.MAF: maf, col.BETA: beta, col.SE: se,
        col.Z: z, col.P: p, col.A1_FREQ: freq,
    })
    for name in (col.CHR, col.SNP, col.A1, col.A2):
        table[name] = table[name].astype("string")

    ids = text.get("SNP", pd.Series(pd.NA, index=a1.index, dtype="string"))
    no_id = (ids.isna() & (chrom.isna() | pd.Series(pos).isna())).to_numpy()
    reasons, detail = _drop_reasons(text.get("ERRCODE"), m, (
        (no_id, "missing_value", "no variant ID and no CHR:POS"),
        (a1.isna().to_numpy(), "missing_value", "no effect allele"),
        (np.isnan(n_values), "missing_value", "no sample size"),
        (se <= 0, "se_nonpositive", "SE <= 0"),
        (np.isnan(z), "missing_statistic", "no Z, BETA/SE or P with a signed effect")))
    dropped = reasons != ""
    kept_clipped = clipped & ~dropped
    audit = pd.concat([
        qc.audit_rows(table[dropped], "").assign(reason=reasons[dropped], detail=detail[dropped])
        .set_axis(np.flatnonzero(dropped)),
        qc.audit_rows(table[kept_clipped], "p_clipped", f"p <= {qc.P_FLOOR:.3g} clipped to it: "
                      f"|Z| = {qc.Z_CEILING:.2f}", action="clipped")
        .set_axis(np.flatnonzero(kept_clipped)),
    ]).sort_index().astype(qc.AUDIT_COLUMNS).reset_index(drop=True)
    table = table[~dropped].copy()
    table[col.N] = np.round(table[col.N].to_numpy(float)).astype(np.int64)
    return table.reset_index(drop=True), audit


def _z_and_p(numbers, beta, se):
    """Z, P and the rows whose p-value was clipped: Z is the file's statistic, else BETA / SE
    (log OR / SE), else |Z| from P (or -log10 P) with the effect's sign; P from Z if missing."""
    m = len(beta)
    nan = np.full(m, np.nan)
    z = numbers.get("Z", nan).copy()
    z = np.where(np.isnan(z), qc.z_from_beta_se(beta, se), z)
    p, log10p = numbers.get("P", nan), numbers.get("LOG10P")
    need = np.isnan(z)
    clipped = np.zeros(m, bool)
    if need.any() and ("P" in numbers or log10p is not None):
        sign = np.where(np.isfinite(beta), beta, nan)
        from_p, clip = qc.z_from_p(p, sign, log10p=log10p)
        z = np.where(need, from_p, z)
        clipped = need & clip
    if log10p is not None:
        with np.errstate(over="ignore"):
            p = np.where(np.isnan(p), 10.0 ** -log10p, p)
    p = np.where(np.isnan(p) & np.isfinite(z), qc.p_from_z(z), p)
    return z, p, clipped


def _sample_size(numbers, n, m, label):
    """Per-variant N: the N column, else N_CASE + N_CONTROL; ``n`` fills the rows without one
    (and is required when neither column is there)."""
    values = numbers.get("N")
    if values is None and {"N_CASE", "N_CONTROL"} <= set(numbers):
        values = numbers["N_CASE"] + numbers["N_CONTROL"]
    if values is None:
        if n is None:
            raise VibankError(f"{label}: no sample-size column (N, OBS_CT, NMISS, n); give the "
                              f"GWAS sample size (n)")
        values = np.full(m, np.nan)
    if n is not None:
        if not n > 0:
            raise VibankError(f"{label}: the given sample size n = {n} is not positive")
        values = np.where(np.isnan(values), float(n), values)
    return values


def _drop_reasons(errcode, m, checks):
    """Reason and detail per row ('' to keep): a tool's error code first, then the first of
    ``checks`` (mask, reason, detail) that applies."""
    reasons = np.full(m, "", dtype=object)
    detail = np.full(m, "", dtype=object)
    if errcode is not None:
        # plink2 writes '.' (an NA token) for a successful test
        failed = errcode.notna().to_numpy()
        reasons[failed] = "errcode"
        detail[failed] = "plink2 ERRCODE " + errcode.fillna("").to_numpy(str)[failed]
    for mask, why, what in checks:
        new = (reasons == "") & mask
        reasons[new], detail[new] = why, what
    return reasons, detail
