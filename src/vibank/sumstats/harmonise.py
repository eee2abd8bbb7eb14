"""Harmonise summary statistics with an LD panel's variants, with a per-variant audit.

Matching is on CHR:POS and the unordered allele pair (on the variant ID for rows without a
position), allowing a swap of the alleles (Z and BETA change sign) and the strand complement.
Strand-ambiguous pairs (A/T, C/G) cannot be told apart from their complement by the alleles:
they are dropped, or, with ``keep_ambiguous``, oriented by comparing the A1 frequency of the
GWAS with the panel's while both minor allele frequencies stay below ``ambiguous_max_maf``.

Every dropped variant gets one audit row (``qc.AUDIT_COLUMNS``) with a reason from
``FILTER_ORDER``; the counts go to the log (INFO) and to the summary in that order. The result
has rows in LD order, A1/A2 (and CHR, SNP, POS) from the LD panel, Z and BETA signed for the
panel's A1, and a boolean mask over its variants.
"""

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.sumstats import qc

log = logging.getLogger(__name__)

#: the filters in the order they are applied (each variant gets the first that applies)
FILTER_ORDER = (
    "other_chromosome",      # not on the panel's chromosomes: counted, not audited
    "invalid_allele",        # allele outside {A, C, G, T} (indel, N, 0, I/D) or A1 = A2
    "multiallelic",          # an allele code listing several alleles (A,G or A/G)
    "se_nonpositive",        # SE <= 0
    "non_finite",            # Z, BETA, SE or N missing or infinite, N <= 0
    "n_outlier",             # N < n_outlier_factor x 90th percentile of N
    "duplicate",             # several rows for one variant (CHR:POS + alleles, or ID): all dropped
    "not_in_ld",             # no panel variant at CHR:POS (or with the ID)
    "allele_mismatch",       # a panel variant there, with other alleles (also after complement)
    "ambiguous",             # A/T or C/G, dropped (keep_ambiguous=False)
    "ambiguous_maf",         # A/T or C/G with a MAF above ambiguous_max_maf: too close to 0.5
    "ambiguous_unresolved",  # A/T or C/G without an A1 frequency in the sumstats or the panel
    "maf_filter",            # MAF (the GWAS's, else the panel's) below min_maf
)

#: counts of kept variants that were changed, reported after the filters
CHANGE_COUNTS = ("swapped", "strand_flipped", "ambiguous_resolved", "a2_from_ld")


class HarmoniseResult(NamedTuple):
    """``matched`` (sumstats rows in LD order), ``mask`` (over the LD variants), ``audit`` (one
    row per dropped variant) and ``summary`` (input, filter counts in ``FILTER_ORDER``, matched,
    change counts, overlap)."""

    matched: pd.DataFrame
    mask: np.ndarray
    audit: pd.DataFrame
    summary: dict


def harmonise(sumstats, ld_variants, *, strand="check", keep_ambiguous=False,
              ambiguous_max_maf=0.4, min_maf=0.0,
              n_outlier_factor=qc.N_OUTLIER_FACTOR, min_overlap=0.75, allow_low_overlap=False,
              check_build=True, build_min_shared=20, label="sumstats", ld_label="LD panel"):
    """Match summary statistics to an LD panel's variants; drop and audit what cannot be used.

    Parameters
    ----------
    sumstats : canonical table (``vibank.columns.SUMSTATS_ORDER``; ``A1_FREQ`` optional, needed
        to keep ambiguous SNPs; CHR/POS may be missing, e.g. LDSC files)
    ld_variants : the panel's variant table (``LDMatrix.variants()``: CHR SNP POS A1 A2 MAF, and
        ``A1_FREQ`` when known)
    strand : "check" (alleles may be on the other strand: complements pair up, strand-ambiguous
        SNPs are dropped or oriented by frequency) or "same" (the GWAS and the panel come from
        the same genotype files, as the workflow's own GWAS: alleles are taken literally, no
        complement pairs up and A/T, C/G SNPs are kept as they read)
    keep_ambiguous : orient A/T and C/G SNPs by allele frequency instead of dropping them
    ambiguous_max_maf : ambiguous SNPs with a MAF above this (GWAS or panel) are dropped anyway
    min_maf : drop variants with a MAF below this (the GWAS's MAF, else the panel's)
    n_outlier_factor : drop N < factor x 90th percentile of N (0 turns it off)
    min_overlap : refuse when fewer than this share of the smaller of the two variant sets
        (sumstats on the panel's chromosomes, panel variants) pair up by position/ID and alleles
    allow_low_overlap : warn instead of refusing on a low overlap
    check_build : refuse when most variants shared by ID with the panel sit at other positions
    build_min_shared : variants shared by ID needed before the build check decides
    label, ld_label : names of the two inputs in messages (file paths)

    Returns
    -------
    HarmoniseResult (matched, mask, audit, summary); unpacks as a 4-tuple

    Raises
    ------
    VibankError : the genome build seems different, or the overlap is below ``min_overlap``
    """
    if strand not in ("check", "same"):
        raise ValueError(f"strand {strand!r}: 'check' or 'same'")
    s = _prepare(sumstats)
    ld = ld_variants.reset_index(drop=True)
    ld_chrom = qc.normalise_chrom(ld[col.CHR]).to_numpy(object) if col.CHR in ld else None
    reason = np.full(len(s), "", dtype=object)
    detail = np.full(len(s), "", dtype=object)

    def drop(mask, why, what=""):
        """Give reason ``why`` to the rows of ``mask`` without one; ``what`` is the detail, or a
        function of the row indices giving it (computed for the dropped rows only)."""
        new = (reason == "") & np.asarray(mask, bool)
        reason[new] = why
        if callable(what):
            rows = np.flatnonzero(new)
            detail[rows] = np.asarray(what(rows), dtype=object) if len(rows) else []
        else:
            detail[new] = what

    chrom = s["_chrom"].to_numpy(object)
    if ld_chrom is not None:
        drop(pd.notna(chrom) & ~np.isin(chrom.astype(str), np.unique(ld_chrom.astype(str))),
             "other_chromosome")
    allele = qc.allele_reasons(s[col.A1], s[col.A2])
    def alleles(rows):
        return "alleles " + _pair(s[col.A1].iloc[rows], s[col.A2].iloc[rows])

    drop(allele == "invalid_allele", "invalid_allele", alleles)
    drop(allele == "multiallelic", "multiallelic", alleles)
    values = qc.value_reasons(s)
    drop(values == "se_nonpositive", "se_nonpositive",
         lambda rows: "SE = " + s[col.SE].iloc[rows].astype(str).to_numpy(object))
    drop(values == "non_finite", "non_finite", lambda rows: _non_finite_detail(s.iloc[rows]))
    live = reason == ""
    outlier, threshold = qc.n_outliers(s[col.N].to_numpy(float)[live], factor=n_outlier_factor)
    mask = np.zeros(len(s), bool)
    mask[np.flatnonzero(live)[outlier]] = True
    drop(mask, "n_outlier", lambda rows: "N = " + s[col.N].iloc[rows].astype(str).to_numpy(object)
         + f" < {threshold:.0f} ({n_outlier_factor:.2g} x 90th percentile)")

    if check_build:
        _check_build(s[reason == ""], ld, ld_chrom, label, ld_label, build_min_shared)
    duplicated, counts = _duplicates(s, reason == "")
    drop(duplicated, "duplicate", lambda rows: counts[rows].astype(str) + " rows for this variant")

    pairs = _candidate_pairs(s, reason == "", ld, ld_chrom)
    match = _classify(pairs, s, ld, same_strand=strand == "same")
    n_candidates = np.bincount(pairs["row"], minlength=len(s))
    n_valid = np.bincount(match["row"], minlength=len(s))
    drop(n_candidates == 0, "not_in_ld")
    first = pairs.drop_duplicates("row").set_index("row")
    drop(n_valid == 0, "allele_mismatch", lambda rows: alleles(rows) + ", LD "
         + _pair(first["L1"].reindex(rows), first["L2"].reindex(rows)))
    # one row, several panel variants; or one panel variant, several rows: drop them all
    ld_hits = np.bincount(match["ld"], minlength=len(ld))
    many = (n_valid > 1) | np.isin(np.arange(len(s)), match["row"][ld_hits[match["ld"]] > 1])
    drop(many, "duplicate", "several rows and panel variants pair up here")
    match = match[reason[match["row"]] == ""]
    n_paired = len(match)

    match = _orient_ambiguous(match, s, ld, keep_ambiguous, ambiguous_max_maf, drop)
    maf = np.where(np.isfinite(match["maf_s"]), match["maf_s"], match["maf_l"])
    drop(np.isin(np.arange(len(s)), match["row"][maf < min_maf]), "maf_filter",
         f"MAF < {min_maf}")
    match = match[reason[match["row"]] == ""]

    matched, ld_mask = _matched_table(match, s, ld)
    audit = _audit(s, reason, detail)
    summary = _summary(s, reason, match, n_paired)
    considered = len(s) - summary["other_chromosome"]
    summary["overlap"] = n_paired / max(min(considered, len(ld)), 1)
    for key, value in summary.items():
        log.info("%s: %s %s", label, key, f"{value:.3f}" if isinstance(value, float) else value)
    _check_overlap(summary["overlap"], n_paired, considered, len(ld), min_overlap,
                   allow_low_overlap, label, ld_label)
    return HarmoniseResult(matched, ld_mask, audit, summary)


def harmonisation_totals(rows, *, n_input, read_dropped=0, other_chromosome=0):
    """Per-chromosome harmonisation summaries (``harmonise(...).summary`` dicts with ``chrom``)
    and their total over one file: a row with chrom "all" whose counts are the sums, ``input``
    the file's rows (``n_input`` read plus ``read_dropped`` dropped by the reader), and
    ``overlap`` the paired share of the ``n_input`` rows. ``other_chromosome`` counts rows on
    chromosomes no store has; the per-chromosome rows get ``read_dropped`` 0."""
    summary = pd.DataFrame(rows)
    total = {key: int(summary[key].sum()) for key in summary
             if key not in ("name", "chrom", "overlap", "input")}
    total.update(chrom="all", input=n_input + read_dropped, read_dropped=read_dropped,
                 other_chromosome=other_chromosome,
                 overlap=float(total["paired"] / max(n_input, 1)))
    return pd.concat([summary.assign(read_dropped=0), pd.DataFrame([total])], ignore_index=True)


def _prepare(sumstats):
    s = sumstats.reset_index(drop=True).copy()
    for name in (col.CHR, col.POS, col.A2, col.MAF, col.BETA, col.SE, col.P, col.A1_FREQ):
        if name not in s:
            s[name] = pd.NA if name in (col.CHR, col.POS, col.A2) else np.nan
    for name in (col.A1, col.A2):
        s[name] = s[name].astype("string").str.strip().str.upper()
    s[col.SNP] = s[col.SNP].astype("string")
    s["_chrom"] = qc.normalise_chrom(s[col.CHR])
    s["_pos"] = pd.to_numeric(s[col.POS], errors="coerce").astype("Int64")
    s["_by_pos"] = (s["_chrom"].notna() & s["_pos"].notna()).to_numpy()
    return s


def _pair(a1, a2):
    return pd.Series(a1).astype("string").fillna("?").astype(str).to_numpy(object) + "/" + \
        pd.Series(a2).astype("string").fillna("?").astype(str).to_numpy(object)


def _non_finite_detail(s):
    names = [col.Z, col.BETA, col.SE, col.N]
    out = np.full(len(s), "", dtype=object)
    for name in names:
        bad = ~np.isfinite(s[name].to_numpy(float))
        new = bad & (out == "")
        out[new] = f"{name} = " + s[name].astype(str).to_numpy(object)[new]
    return out


def _check_build(s, ld, ld_chrom, label, ld_label, min_shared):
    """Refuse when most variants found by ID in the panel sit at other positions."""
    if not s["_by_pos"].any() or col.POS not in ld:
        return
    by_id = pd.DataFrame({"SNP": ld[col.SNP].astype(str), "ld_chrom": ld_chrom,
                          "ld_pos": ld[col.POS].to_numpy(np.int64)})
    by_id = by_id.drop_duplicates("SNP", keep=False)
    shared = s[s["_by_pos"]][[col.SNP, "_chrom", "_pos"]].astype({col.SNP: str})
    shared = shared.merge(by_id, on="SNP")
    if len(shared) < min_shared:
        return
    moved = ((shared["_pos"].astype(np.int64) != shared["ld_pos"]) |
             (shared["_chrom"].astype(str) != shared["ld_chrom"].astype(str))).to_numpy()
    log.info("%s: %d of %d variants shared by ID with %s sit at other positions", label,
             int(moved.sum()), len(shared), ld_label)
    if moved.mean() > 0.5:
        raise VibankError(
            f"{label}: {int(moved.sum())} of {len(shared)} variants found by ID in {ld_label} "
            f"({moved.mean():.0%}) sit at other positions: the genome build seems different from "
            f"the LD panel's; lift the summary statistics over to the panel's build")


def _duplicates(s, live):
    """Rows sharing CHR:POS and the unordered allele pair (ID without a position): all flagged."""
    a1 = s[col.A1].fillna("?").to_numpy(object)
    a2 = s[col.A2].fillna("?").to_numpy(object)
    swap = a1 > a2
    by_pos = s["_by_pos"].to_numpy()
    keys = pd.DataFrame({
        "chrom": np.where(by_pos, s["_chrom"].fillna("").to_numpy(object), ""),
        "pos": np.where(by_pos, s["_pos"].fillna(-1).to_numpy(np.int64), -1),
        "id": np.where(by_pos, "", s[col.SNP].fillna("").to_numpy(object)),
        "low": np.where(swap, a2, a1), "high": np.where(swap, a1, a2)})[live]
    counts = np.zeros(len(s), np.int64)
    groups = keys.groupby(list(keys.columns), sort=False)["chrom"]
    counts[live] = groups.transform("size").to_numpy()
    return live & (counts > 1), counts


def _candidate_pairs(s, live, ld, ld_chrom):
    """(row, ld) index pairs of sumstats rows and panel variants at the same place or ID."""
    ld_keys = pd.DataFrame({"ld": np.arange(len(ld)),
                            "L1": ld[col.A1].astype(str).str.upper().to_numpy(),
                            "L2": ld[col.A2].astype(str).str.upper().to_numpy()})
    rows = pd.DataFrame({"row": np.arange(len(s))})[live]
    parts = []
    by_pos = rows[s["_by_pos"].to_numpy()[rows["row"]]]
    if len(by_pos) and ld_chrom is not None and col.POS in ld:
        left = by_pos.assign(chrom=s["_chrom"].to_numpy(object)[by_pos["row"]].astype(str),
                             pos=s["_pos"].to_numpy()[by_pos["row"]].astype(np.int64))
        right = ld_keys.assign(chrom=ld_chrom.astype(str), pos=ld[col.POS].to_numpy(np.int64))
        parts.append(left.merge(right, on=["chrom", "pos"])[["row", "ld", "L1", "L2"]])
    by_id = rows[~s["_by_pos"].to_numpy()[rows["row"]]]
    if len(by_id):
        left = by_id.assign(SNP=s[col.SNP].to_numpy(object)[by_id["row"]].astype(str))
        right = ld_keys.assign(SNP=ld[col.SNP].astype(str).to_numpy())
        parts.append(left.merge(right, on="SNP")[["row", "ld", "L1", "L2"]])
    pairs = pd.concat(parts) if parts else pd.DataFrame({"row": [], "ld": [], "L1": [], "L2": []})
    pairs = pairs.astype({"row": np.int64, "ld": np.int64})
    return pairs.sort_values(["row", "ld"]).reset_index(drop=True)


def _classify(pairs, s, ld, same_strand=False):
    """Pairs whose alleles agree: same order, swapped, on the other strand, or both (with
    ``same_strand``: same order or swapped, and no pair counts as ambiguous)."""
    a1 = pd.Series(s[col.A1].to_numpy(object)[pairs["row"]], dtype="string")
    a2 = pd.Series(s[col.A2].to_numpy(object)[pairs["row"]], dtype="string")
    l1, l2 = pairs["L1"].astype("string"), pairs["L2"].astype("string")
    c1, c2 = qc.complement(a1), qc.complement(a2)
    no_a2 = a2.isna()
    same = ((a1 == l1) & ((a2 == l2) | no_a2)).fillna(False).to_numpy()
    swap = ((a1 == l2) & ((a2 == l1) | no_a2)).fillna(False).to_numpy()
    flip = ((c1 == l1) & ((c2 == l2) | no_a2)).fillna(False).to_numpy()
    flipswap = ((c1 == l2) & ((c2 == l1) | no_a2)).fillna(False).to_numpy()
    ambiguous = qc.is_ambiguous(l1, l2).fillna(False).to_numpy()
    if same_strand:
        flip[:] = flipswap[:] = ambiguous[:] = False
    out = pairs.assign(
        # the literal reading first: an ambiguous pair reads as same/swap, never as a flip
        sign=np.where(same | flip & ~swap, 1.0, -1.0),
        swapped=~same & (swap | flipswap & ~flip), flipped=~same & ~swap & (flip | flipswap),
        ambiguous=ambiguous, no_a2=no_a2.to_numpy(),
        f_s=s[col.A1_FREQ].to_numpy(float)[pairs["row"]],
        f_l=ld[col.A1_FREQ].to_numpy(float)[pairs["ld"]] if col.A1_FREQ in ld else np.nan,
        maf_s=s[col.MAF].to_numpy(float)[pairs["row"]],
        maf_l=ld[col.MAF].to_numpy(float)[pairs["ld"]] if col.MAF in ld else np.nan,
    )
    return out[same | swap | flip | flipswap].reset_index(drop=True)


def _orient_ambiguous(match, s, ld, keep, max_maf, drop):
    """Drop ambiguous pairs, or orient them by allele frequency (sign set on ``match``)."""
    amb = match["ambiguous"].to_numpy()
    if not amb.any():
        return match.assign(resolved=False)
    rows = match["row"].to_numpy()

    def at(mask):
        out = np.zeros(len(s), bool)
        out[rows[mask]] = True
        return out

    if not keep:
        drop(at(amb), "ambiguous",
             lambda rows: "strand-ambiguous " + _pair(s[col.A1].iloc[rows], s[col.A2].iloc[rows]))
        return match[~amb].assign(resolved=False)
    f_s, f_l = match["f_s"].to_numpy(float), match["f_l"].to_numpy(float)
    maf_s = np.where(np.isfinite(f_s), qc.maf_from_freq(f_s), match["maf_s"])
    maf_l = np.where(np.isfinite(f_l), qc.maf_from_freq(f_l), match["maf_l"])
    too_common = amb & ((maf_s > max_maf) | (maf_l > max_maf))
    drop(at(too_common), "ambiguous_maf", f"MAF above {max_maf}: frequencies cannot orient it")
    unknown = amb & ~too_common & ~(np.isfinite(f_s) & np.isfinite(f_l))
    where = "summary statistics" if not np.isfinite(f_s).any() else "LD panel"
    drop(at(unknown), "ambiguous_unresolved", f"no A1 frequency in the {where}")
    ok = amb & ~too_common & ~unknown
    # the GWAS A1 is the panel's A1 when its frequency is closer to the panel A1's than to A2's
    sign = np.where(np.abs(f_s - f_l) <= np.abs(f_s - (1 - f_l)), 1.0, -1.0)
    match = match.assign(sign=np.where(ok, sign, match["sign"]), resolved=ok)
    return match[~amb | ok]


def _matched_table(match, s, ld):
    match = match.sort_values("ld")
    rows, ld_rows = match["row"].to_numpy(), match["ld"].to_numpy()
    sign = match["sign"].to_numpy()
    out = pd.DataFrame({
        col.CHR: ld[col.CHR].to_numpy()[ld_rows] if col.CHR in ld else s[col.CHR].to_numpy()[rows],
        col.SNP: ld[col.SNP].to_numpy()[ld_rows],
        col.POS: ld[col.POS].to_numpy()[ld_rows] if col.POS in ld else s[col.POS].to_numpy()[rows],
        col.A1: ld[col.A1].to_numpy()[ld_rows], col.A2: ld[col.A2].to_numpy()[ld_rows],
        col.N: s[col.N].to_numpy()[rows], col.MAF: s[col.MAF].to_numpy(float)[rows],
        col.BETA: s[col.BETA].to_numpy(float)[rows] * sign, col.SE: s[col.SE].to_numpy(float)[rows],
        col.Z: s[col.Z].to_numpy(float)[rows] * sign, col.P: s[col.P].to_numpy(float)[rows],
    })
    freq = s[col.A1_FREQ].to_numpy(float)[rows]
    if np.isfinite(freq).any():
        out[col.A1_FREQ] = np.where(sign < 0, 1 - freq, freq)
    mask = np.zeros(len(ld), bool)
    mask[ld_rows] = True
    return out, mask


def _audit(s, reason, detail):
    dropped = (reason != "") & (reason != "other_chromosome")
    audit = qc.audit_rows(s[dropped], "").assign(reason=reason[dropped], detail=detail[dropped])
    order = {name: i for i, name in enumerate(FILTER_ORDER)}
    audit["_order"] = audit["reason"].map(order)
    audit["_row"] = np.flatnonzero(dropped)
    audit = audit.sort_values(["_order", "_row"]).drop(columns=["_order", "_row"])
    return audit.reset_index(drop=True).astype(qc.AUDIT_COLUMNS)


def _summary(s, reason, match, n_paired):
    summary = {"input": len(s)}
    for name in FILTER_ORDER:
        summary[name] = int((reason == name).sum())
    summary["paired"] = n_paired
    summary["matched"] = len(match)
    summary["swapped"] = int((match["sign"] < 0).sum())
    summary["strand_flipped"] = int((match["flipped"] & ~match["ambiguous"]).sum())
    summary["ambiguous_resolved"] = int(match["resolved"].sum())
    summary["a2_from_ld"] = int(match["no_a2"].sum())
    return summary


def _check_overlap(overlap, n_paired, considered, n_ld, min_overlap, allow, label, ld_label):
    if overlap >= min_overlap:
        return
    message = (f"{label}: only {n_paired} variants pair up with {ld_label} ({overlap:.1%} of the "
               f"smaller set: {considered} summary-statistics variants on its chromosomes, "
               f"{n_ld} in the panel; min_overlap {min_overlap:.0%})")
    if overlap < 0.1:
        message += "; check the genome build, the chromosome names and the variant IDs"
    if not allow:
        raise VibankError(message)
    log.warning("%s (allowed)", message)
