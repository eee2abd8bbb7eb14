"""The genome-wide pQTL scan around the atlasQTL fits (pqtl_afcavi.md sections (g) and (i)).

Before the fits: the variants of a chromosome are cut into contiguous chunks (one fit each), and
for a simulated panel the proteins get gene positions. After them: the variant x protein pairs
are called at a PPI or Bayesian-FDR threshold, labelled cis or trans, clumped into loci, and
summarised per variant as hotspots. Tables use the column names of ``vibank.columns``; this
module reads and writes no file (``vibank.stages.qtl`` does).
"""

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError


def make_chunks(n_variants, variants_per_chunk):
    """Chunk ids of ``n_variants`` ordered variants, for one atlasQTL fit per chunk.

    Parameters
    ----------
    n_variants : int
    variants_per_chunk : int
        Target chunk size.

    Returns
    -------
    ndarray of int, shape (n_variants,)
        1-based ids of round(n / size) contiguous chunks (at least one) whose sizes differ by
        at most one, non-decreasing along the variants.
    """
    n_chunks = max(1, int(round(n_variants / variants_per_chunk)))
    sizes = [len(part) for part in np.array_split(np.arange(n_variants), n_chunks)]
    return np.repeat(np.arange(1, n_chunks + 1), sizes)


def gene_positions(variants, associations, n_proteins, *, cis_fraction, cis_window, rng):
    """Simulated gene positions of the proteins of a simulated panel.

    An active protein lies, with probability ``cis_fraction``, within ``cis_window`` / 2 of one
    of its true variants (a cis QTL); every other protein at a uniform position inside the
    variants' span on a random chromosome.

    Parameters
    ----------
    variants : DataFrame with CHR, POS, the rows of ``associations``
    associations : (p, q) bool, the true variant x protein associations
    n_proteins : int, q
    cis_fraction : float in [0, 1], keyword-only
    cis_window : int, keyword-only
        Width (bp) of the window around a true variant that holds a cis gene.
    rng : numpy.random.Generator, keyword-only

    Returns
    -------
    chrom : (q,) chromosome names
    pos : (q,) int positions (>= 1)
    """
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


def bayesian_fdr(ppi):
    """Bayesian FDR of each pair (pqtl_afcavi.md (g)).

    With the PPIs sorted in decreasing order, the FDR at rank k is the mean of 1 - PPI over the
    first k, i.e. the expected share of false pairs among the k most probable.

    Parameters
    ----------
    ppi : (m,) posterior probabilities of association

    Returns
    -------
    ndarray (m,), the FDR of calling every pair with a PPI at least that of the pair
    """
    ppi = np.asarray(ppi, dtype=np.float64)
    order = np.argsort(-ppi, kind="stable")
    fdr = np.empty_like(ppi)
    fdr[order] = np.cumsum(1.0 - ppi[order]) / np.arange(1, len(ppi) + 1)
    return fdr


def call_pairs(long, *, threshold=0.5, fdr_level=None):
    """The associated pairs of a long table (SNP CHR POS ... protein PPI ...).

    Parameters
    ----------
    long : DataFrame, one row per variant x protein pair
    threshold : float, keyword-only
        Call the pairs with PPI >= ``threshold`` ...
    fdr_level : float or None, keyword-only
        ... or, when set, those with Bayesian FDR < ``fdr_level`` instead.

    Returns
    -------
    DataFrame, the called rows with an FDR column, by decreasing PPI (ties by CHR, POS, protein)
    """
    fdr = bayesian_fdr(long[col.PPI].to_numpy())
    called = (long[col.PPI].to_numpy() >= threshold) if fdr_level is None else (fdr < fdr_level)
    calls = long.assign(FDR=fdr)[called]
    return calls.sort_values([col.PPI, col.CHR, col.POS, col.PROTEIN],
                             ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)


def cis_trans(chrom, pos, proteins, protein_table, window):
    """Label variant (or locus) x protein pairs cis or trans.

    Parameters
    ----------
    chrom, pos : (m,) chromosome and position of each pair's variant or locus
    proteins : (m,) protein names
    protein_table : DataFrame (protein CHR POS: the genes' positions) or None
    window : int
        Largest distance (bp) of a cis pair.

    Returns
    -------
    ndarray (m,) of object
        "cis" when the protein's gene is on the same chromosome within ``window`` of ``pos``,
        "trans" otherwise, "" for a protein without a position (all of them without a table).
    """
    if protein_table is None:
        return np.full(len(pos), "", dtype=object)
    genes = protein_table.set_index(col.PROTEIN)
    g_chr = genes[col.CHR].astype(str).reindex(proteins).to_numpy()
    g_pos = genes[col.POS].reindex(proteins).to_numpy(dtype=np.float64)
    cis = (np.asarray(chrom, dtype=str) == g_chr) & (np.abs(np.asarray(pos) - g_pos) <= window)
    return np.where(pd.isna(g_pos), "", np.where(cis, "cis", "trans")).astype(object)


def clump_loci(calls, *, flank=500_000, protein_table=None, cis_window=1_000_000):
    """Greedy locus clumping of the called pairs (pqtl_afcavi.md (g)).

    Take the top remaining pair, group every unassigned pair on its chromosome within ``flank``
    bp into a locus, keep each protein's max-PPI variant there; repeat until every pair is
    assigned.

    Parameters
    ----------
    calls : DataFrame, the output of :func:`call_pairs`
    flank : int, keyword-only
    protein_table, cis_window : keyword-only
        As in :func:`cis_trans`, applied to the locus midpoint.

    Returns
    -------
    DataFrame, one row per (locus, protein): locus CHR start end lead_SNP lead_POS protein SNP
    POS PPI n_variants cis_trans (empty with these columns when nothing is called)
    """
    rows = []
    calls = calls.sort_values(col.PPI, ascending=False, kind="stable").reset_index(drop=True)
    free = np.ones(len(calls), dtype=bool)
    chrom, pos = calls[col.CHR].astype(str).to_numpy(), calls[col.POS].to_numpy()
    locus = 0
    while free.any():
        lead = int(np.flatnonzero(free)[0])
        members = free & (chrom == chrom[lead]) & (np.abs(pos - pos[lead]) <= flank)
        free &= ~members
        locus += 1
        group = calls[members]
        best = group.loc[group.groupby(col.PROTEIN, sort=False)[col.PPI].idxmax()]
        rows.append(pd.DataFrame({
            "locus": locus, col.CHR: chrom[lead], "start": int(group[col.POS].min()),
            "end": int(group[col.POS].max()), "lead_SNP": calls[col.SNP].iloc[lead],
            "lead_POS": int(pos[lead]), col.PROTEIN: best[col.PROTEIN].to_numpy(),
            col.SNP: best[col.SNP].to_numpy(), col.POS: best[col.POS].to_numpy(),
            col.PPI: best[col.PPI].to_numpy(), "n_variants": group[col.SNP].nunique()}))
    columns = ["locus", col.CHR, "start", "end", "lead_SNP", "lead_POS", col.PROTEIN, col.SNP,
               col.POS, col.PPI, "n_variants", "cis_trans"]
    if not rows:
        return pd.DataFrame(columns=columns)
    loci = pd.concat(rows, ignore_index=True)
    mid = (loci["start"] + loci["end"]) / 2
    loci["cis_trans"] = cis_trans(loci[col.CHR], mid, loci[col.PROTEIN], protein_table,
                                  cis_window)
    return loci[columns]


def hotspot_table(long, calls, theta):
    """One row per variant of the long table: how much of a hotspot it is.

    Parameters
    ----------
    long : DataFrame, every variant x protein pair
    calls : DataFrame, the called pairs (:func:`call_pairs`)
    theta : dict SNP -> hotspot propensity of the variant in its chunk's fit

    Returns
    -------
    DataFrame SNP CHR POS THETA n_proteins expected_proteins max_PPI: the number of proteins
    called (hotspot size), the expected number (sum of PPIs) and the largest PPI
    """
    keys = [col.SNP, col.CHR, col.POS]
    table = long.groupby(keys, sort=False).agg(expected_proteins=(col.PPI, "sum"),
                                               max_PPI=(col.PPI, "max")).reset_index()
    return _with_sizes(table, calls, theta)


def _with_sizes(table, calls, theta):
    """Insert THETA and n_proteins (calls per variant) after SNP CHR POS of a variant table."""
    size = calls.groupby(col.SNP).size()
    table.insert(3, "THETA", table[col.SNP].map(theta).to_numpy(dtype=np.float64))
    table.insert(4, "n_proteins", table[col.SNP].map(size).fillna(0).astype(np.int64))
    return table


def mode_metrics(long, hotspots, truth, threshold=0.5, *, strict=0.9, fdr_level=0.05):
    """Accuracy of one CAVI mode's calls against a simulated truth (SNP, protein pairs):
    n_pairs, n_true, AUROC/AUPRC over all pairs (PPI as score), precision/recall/FPR and counts
    at PPI >= ``threshold``, true and false calls at PPI >= ``strict`` (tp_ppi90, fp_ppi90)
    and at Bayesian FDR < ``fdr_level`` over all pairs (tp_fdr05, fp_fdr05), and hotspot
    AUROC/AUPRC (a variant with any true protein; score: its expected number of proteins).
    Without a truth only n_pairs is known (n_true NaN)."""
    from vibank.eval.metrics import classification_metrics

    row = {"n_pairs": len(long), "n_true": np.nan}
    if truth is None:
        return row
    keys = pd.MultiIndex.from_frame(long[[col.SNP, col.PROTEIN]])
    is_true = keys.isin(pd.MultiIndex.from_frame(truth[[col.SNP, col.PROTEIN]]))
    row["n_true"] = int(is_true.sum())
    ppi = long[col.PPI].to_numpy()
    row.update(classification_metrics(is_true, ppi, threshold))
    for name, called in (("ppi90", ppi >= strict), ("fdr05", bayesian_fdr(ppi) < fdr_level)):
        row[f"tp_{name}"] = int(np.sum(called & is_true))
        row[f"fp_{name}"] = int(np.sum(called & ~is_true))
    hot = classification_metrics(hotspots[col.SNP].isin(truth[col.SNP]),
                                 hotspots["expected_proteins"], threshold)
    row.update(hotspot_auroc=hot["auroc"], hotspot_auprc=hot["auprc"])
    return row


def runtime_summary(runtime):
    """Per CAVI mode (``cavi``) of a runtime table (one row per chunk): n_chunks, iterations
    (summed), max_iterations and converged (all chunks)."""
    return runtime.groupby("cavi", sort=False).agg(
        n_chunks=("chunk", "size"), iterations=("iterations", "sum"),
        max_iterations=("iterations", "max"), converged=("converged", "all"))


def association_table(model, variants, response_names, *, min_ppi=0.0):
    """A fitted ``AtlasQTL``'s variant x protein pairs with PPI >= ``min_ppi`` (every pair at
    0) as a long table, variant-major: SNP CHR POS A1 A2 (from ``variants``, indexed by the
    model's kept variants), protein, PPI, BETA_STD (the standardised effect) and BETA (per
    allele). The rows are chosen before the table is built: at biobank scale a chunk has
    p x q ~ 10^6-10^7 pairs, of which a few hundred matter."""
    kept = _fitted_variants(model, variants)
    s, t = np.nonzero(model.gamma_ >= min_ppi)
    long = kept.loc[s, [col.SNP, col.CHR, col.POS, col.A1, col.A2]].reset_index(drop=True)
    long[col.PROTEIN] = np.asarray(response_names)[t]
    long[col.PPI] = model.gamma_[s, t]
    long[col.BETA_STD] = model.beta_[s, t]
    long[col.BETA] = model.beta_per_allele_[s, t]
    return long


def _fitted_variants(model, variants):
    """The rows of ``variants`` (by SNP) of a fitted ``AtlasQTL``'s kept variants, in its order."""
    return variants.set_index(col.SNP).loc[list(model.variant_names_)].reset_index()


def check_calling(min_ppi=0.0, threshold=0.5, fdr_level=None):
    """Refuse a minimum PPI outside [0, 1], a PPI threshold outside (0, 1] or an FDR level
    outside (0, 1) (before a fit, so that a typo costs no fit)."""
    if not 0.0 <= min_ppi <= 1.0:
        raise VibankError(f"the minimum PPI must be in [0, 1], not {min_ppi}")
    if not 0.0 < threshold <= 1.0 or (fdr_level is not None and not 0.0 < fdr_level < 1.0):
        raise VibankError(f"the PPI threshold must be in (0, 1] and the FDR level in (0, 1) "
                          f"(got {threshold}, {fdr_level})")


def chunk_tables(model, variants, response_names, *, min_ppi=0.0, threshold=0.5,
                 fdr_level=None):
    """The long table, calls and hotspots of one fitted chunk, the last two from every pair.

    Parameters
    ----------
    model : a fitted ``AtlasQTL``
    variants : DataFrame SNP CHR POS A1 A2 of the chunk
    response_names : (q,) protein names
    min_ppi : float in [0, 1], keyword-only
        Keep the long table's pairs with PPI >= ``min_ppi`` (0: every pair).
    threshold, fdr_level : keyword-only
        As in :func:`call_pairs`.

    Returns
    -------
    long, calls, hotspots : DataFrames as :func:`association_table`, :func:`call_pairs` and
    :func:`hotspot_table` give them for the chunk's full p x q table, whatever ``min_ppi``.
    The calls' FDR is exact: the pairs ranked above a called pair all have at least its PPI,
    so the table the calls are taken from holds them all.
    """
    check_calling(min_ppi, threshold, fdr_level)
    gamma = model.gamma_
    if fdr_level is None:
        lowest_call = threshold
    else:
        called = gamma.ravel()[bayesian_fdr(gamma.ravel()) < fdr_level]
        lowest_call = called.min() if called.size else np.inf
    pairs = association_table(model, variants, response_names,
                              min_ppi=min(min_ppi, lowest_call))
    calls = call_pairs(pairs, threshold=threshold, fdr_level=fdr_level)
    long = pairs[pairs[col.PPI].to_numpy() >= min_ppi].reset_index(drop=True)
    kept = _fitted_variants(model, variants)
    totals = kept[[col.SNP, col.CHR, col.POS]].assign(expected_proteins=gamma.sum(axis=1),
                                                      max_PPI=gamma.max(axis=1))
    hotspots = _with_sizes(totals, calls, dict(zip(model.variant_names_, model.theta_)))
    return long, calls, hotspots


def fit_record(model):
    """The run record of a fitted ``AtlasQTL`` for its JSON: p_fitted, q, the removed variants,
    convergence, the ELBO trace, the elicited n0 (mean) and t02, the hotspot propensities theta
    per variant and the seconds per phase. ELBOs are rounded to 1e-6 nats and theta to 1e-8:
    the sums' last bits change with the threads."""
    r = model.result_
    p, q = model.gamma_.shape
    return {
        "p_fitted": int(p), "q": int(q),
        "removed_constant": list(map(str, model.removed_constant_)),
        "removed_collinear": {str(k): str(v) for k, v in dict(model.removed_collinear_).items()},
        "converged": bool(r.success), "stop_reason": r.stop_reason, "iterations": int(r.n_iter),
        "elbo": round(float(r.elbo), 6), "elbo_diff": round(float(r.elbo_diff), 6),
        "elbo_trace": {"iteration": model.elbo_iterations_.tolist(),
                       "elbo": np.round(model.elbo_history_, 6).tolist()},
        "n0": float(np.mean(model.n0_)), "t02": float(model.t02_),
        "theta": dict(zip(map(str, model.variant_names_), np.round(model.theta_, 8).tolist())),
        "seconds": {k: round(float(v), 4) for k, v in model.seconds_.items()},
    }
