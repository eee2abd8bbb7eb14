"""Per-variant statistics completion and checks of summary statistics, before any LD matching.

The readers in ``vibank.io.sumstats_formats`` only map columns; ``vibank.sumstats.derive``
completes the numbers they cannot copy (Z, P, MAF) with the functions here. The row filters
that need no LD panel (alleles, non-finite values, SE <= 0, N outliers) live here too. Every
filter returns a reason per row, so the caller can write one audit row per dropped variant.
"""

import numpy as np
import pandas as pd
from scipy import special

from vibank import columns as col

#: the smallest positive normal double: p-values at or below it are clipped to it (|Z| ~ 37.5)
P_FLOOR = np.finfo(np.float64).tiny
Z_CEILING = float(-special.ndtri(P_FLOOR / 2))

#: LDSC munge_sumstats and LDpred2 practice: drop variants whose N is below this share of the
#: 90th percentile of N (variants typed in only part of the cohorts of a meta-analysis)
N_OUTLIER_FACTOR = 2 / 3
N_OUTLIER_QUANTILE = 0.9

_BASES = frozenset("ACGT")
_COMPLEMENT_OF = {"A": "T", "C": "G", "G": "C", "T": "A"}
_MULTI_ALLELIC_SEPARATORS = (",", "/", ";", "|")


def z_from_beta_se(beta, se):
    """Wald Z = BETA / SE (pass log(OR) as ``beta`` for odds ratios); SE <= 0 gives NaN."""
    beta, se = np.asarray(beta, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, beta / se, np.nan)


def z_from_p(p, sign, *, log10p=None):
    """|Z| from a two-sided p-value, signed by the effect: Z = sign * Phi^-1(1 - p / 2).

    Parameters
    ----------
    p : two-sided p-values (NaN where absent)
    sign : the effect's sign (from BETA, log OR or a signed statistic); 0 gives Z = 0
    log10p : optional -log10(p), used where given: Z comes from log(p / 2) through
        ``ndtri_exp`` and so stays exact far below the double range (REGENIE's LOG10P)

    Returns
    -------
    z : float array
    clipped : boolean array, True where p was <= ``P_FLOOR`` (0 after underflow) and was
        clipped to it, giving |Z| = 37.5 instead of infinity
    """
    p = np.asarray(p, float).copy()
    sign = np.sign(np.asarray(sign, float))
    clipped = p <= P_FLOOR
    p[clipped] = P_FLOOR
    p = np.minimum(p, 1.0)  # rounding can print 1.0000001
    z = -special.ndtri(p / 2)  # the normal's inverse survival, exact for tiny p
    if log10p is not None:
        log10p = np.asarray(log10p, float)
        use = np.isfinite(log10p) & (log10p >= 0)
        # log(p/2) = -log10p * ln 10 - ln 2; Phi^-1(p/2) = ndtri_exp(log(p/2)) is negative
        z = np.where(use, -special.ndtri_exp(-log10p * np.log(10) - np.log(2)), z)
        clipped = clipped & ~use
    return sign * z, clipped & np.isfinite(sign)


def p_from_z(z):
    """Two-sided p-value of a standard-normal Z."""
    return 2 * special.ndtr(-np.abs(np.asarray(z, float)))


def complement(alleles):
    """Strand complement of single-base allele codes (A<->T, C<->G); other codes give <NA>."""
    return pd.Series(alleles).map(_COMPLEMENT_OF).astype("string")


def is_ambiguous(a1, a2):
    """True for strand-ambiguous pairs (A/T, C/G): the complement of one allele is the other."""
    return complement(a1) == a2


def allele_reasons(a1, a2):
    """Reason per row why an allele pair cannot be matched ('' when it can).

    ``multiallelic`` for codes that list several alleles (``A,G``, ``A/G``), ``invalid_allele``
    for anything else outside {A, C, G, T} (indels, ``0``, ``N``, ``-``, ``I``/``D``) and for a
    pair with twice the same allele. A missing A2 is allowed: harmonisation takes it from the
    LD panel (plink 1.9 ``--linear`` output has no A2).
    """
    out = np.full(len(a1), "", dtype=object)
    for values in (a1, a2):
        text = values.fillna("").to_numpy(str)
        multi = np.zeros(len(text), bool)
        for sep in _MULTI_ALLELIC_SEPARATORS:
            multi |= np.char.find(text, sep) >= 0
        out[(out == "") & multi] = "multiallelic"
    single = a1.isin(_BASES) & (a2.isin(_BASES) | a2.isna())
    out[(out == "") & ~single.to_numpy()] = "invalid_allele"
    out[(out == "") & (a1 == a2).fillna(False).to_numpy()] = "invalid_allele"
    return out


def value_reasons(table):
    """Reason per row for unusable statistics ('' when fine): ``se_nonpositive``, ``non_finite``.

    BETA and SE may be missing as whole columns (LDSC files carry only Z); where the column has
    values, a missing or infinite one drops the variant. Z and N must be finite everywhere.
    """
    out = np.full(len(table), "", dtype=object)
    se = table[col.SE].to_numpy(float)
    out[se <= 0] = "se_nonpositive"
    bad = ~np.isfinite(table[col.Z].to_numpy(float)) | ~np.isfinite(table[col.N].to_numpy(float))
    bad |= ~(table[col.N].to_numpy(float) > 0)
    for name in (col.BETA, col.SE):
        values = table[name].to_numpy(float)
        if np.isfinite(values).any():
            bad |= ~np.isfinite(values)
    out[(out == "") & bad] = "non_finite"
    return out


def n_outliers(n, *, factor=N_OUTLIER_FACTOR, quantile=N_OUTLIER_QUANTILE):
    """True where N < ``factor`` x the ``quantile`` of N (LDSC munge_sumstats' rule, 2/3 x q90).

    Returns the mask and the threshold used.
    """
    n = np.asarray(n, float)
    if not len(n) or not factor:
        return np.zeros(len(n), bool), 0.0
    threshold = factor * float(np.quantile(n, quantile))
    return n < threshold, threshold


def maf_from_freq(freq):
    """Minor allele frequency from an allele frequency."""
    freq = np.asarray(freq, float)
    return np.minimum(freq, 1 - freq)


def empty_audit():
    """The per-variant audit table with no rows (columns of ``AUDIT_COLUMNS``)."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in AUDIT_COLUMNS.items()})


#: one row per dropped (or clipped) variant: where it came from, and why
AUDIT_COLUMNS = {
    col.SNP: "string", col.CHR: "string", col.POS: "Int64", col.A1: "string", col.A2: "string",
    "reason": "string", "detail": "string", "action": "string",
}


def audit_rows(table, reason, detail="", action="dropped"):
    """Audit rows for the variants of ``table`` (sumstats columns) with one reason."""
    out = pd.DataFrame({name: table[name] if name in table else pd.NA
                        for name in (col.SNP, col.CHR, col.POS, col.A1, col.A2)})
    out["reason"] = reason
    out["detail"] = detail
    out["action"] = action
    return out.reset_index(drop=True).astype(AUDIT_COLUMNS)


_CHROM_ALIASES = {"X": "23", "Y": "24", "XY": "25", "PAR": "25", "M": "26", "MT": "26"}


def normalise_chrom(values):
    """Chromosome names in one spelling: no ``chr`` prefix, no leading zeros, and PLINK's
    numeric codes for the others (X = 23, Y = 24, XY = 25, MT = 26), so ``chr1``, ``01`` and
    ``1`` all give ``1``, and ``chrX``, ``X`` and ``23`` give ``23``. Other names (``6_cox_hap2``,
    ``Un``) are returned stripped of the prefix and never match a panel chromosome."""
    values = pd.Series(values, dtype="string")
    # a handful of distinct names per file: normalise those, then map
    codes, names = pd.factorize(values)
    if not len(names):
        return pd.Series(pd.NA, index=values.index, dtype="string")
    text = pd.Series(names, dtype="string").str.strip()
    text = text.str.replace(r"^(?i:chr)", "", regex=True).str.upper()
    text = text.replace(_CHROM_ALIASES)
    numeric = text.str.fullmatch(r"0*[1-9][0-9]*").fillna(False)
    text[numeric] = text[numeric].str.lstrip("0")
    out = pd.Series(pd.array(np.asarray(text, dtype=object)[codes], dtype="string"),
                    index=values.index)
    out[codes < 0] = pd.NA
    return out
