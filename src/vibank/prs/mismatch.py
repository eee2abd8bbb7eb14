"""Mismatch test between summary statistics and LD (prs_vi.md section 9, DENTIST-like heuristic).

Under the RSS model z ~ N(R beta sqrt(N), R), a variant's z given one neighbour's is close to
N(R_ij z_j, 1 - R_ij^2) when the neighbour tags the same signal. For each variant i, G
neighbours j are drawn with replacement from the non-zero entries of row i of R (leaving out
j = i and |R_ij| > 0.99, which carry no information and divide by ~0):

    T_ij = (z_i - R_ij z_j)^2 / (1 - R_ij^2),   T_i = mean_j T_ij,   p_i = P(chi2_1 > T_i)

and variants with p_i < alpha / M are removed (Bonferroni over the M variants still in). The
test is repeated on the variants that remain, until a round removes nothing or after
``max_rounds``.

One refinement of section 9 (``removal="local"``, the default): a corrupted variant inflates the
T of its close neighbours too (they draw it as a neighbour), so a round removes only the flagged
variants whose T is the largest among the flagged variants in their LD row; the others are
tested again in the next round without it. On the simulated case of ``tests/unit/test_mismatch.py``
(blocks of 100 variants, AR(1) r = 0.95, 5 sign flips) removing every flagged variant at once
(``removal="all"``, the literal rule) also removed 4-13 true neighbours of the flipped ones.

A variant with a flipped sign or a wrong allele shows as a large T_i, as does
one whose GWAS sample's LD differs from the panel's. Averaging T_ij over correlated neighbours
makes the chi2_1 reference conservative.

Works on the LD rows the fits use, :class:`vibank.ld.LDRows` (or what ``LDRows.of`` accepts: a
strict upper triangle, a symmetric scipy matrix with or without its diagonal), through its row
access (``at``, ``entries_of``). All in NumPy; a round costs O(M G) (rejection sampling of the
neighbours), not O(nnz).
"""

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from vibank.ld import LDRows

log = logging.getLogger(__name__)

class MismatchResult(NamedTuple):
    """``keep``: boolean mask over the variants; ``removed``: one row per removed variant
    (index, T, P, round; SNP when names were given), in removal order; ``rounds`` run."""

    keep: np.ndarray
    removed: pd.DataFrame
    rounds: int


def mismatch_filter(z, ld, *, n_neighbours=100, r_max=0.99, alpha=0.05, max_rounds=10, seed=0,
                    removal="local", snps=None):
    """Remove variants whose z-score disagrees with the LD of their neighbours (section 9).

    Parameters
    ----------
    z : (M,) z-scores, signed for the LD's A1, in the LD's variant order
    ld : LDRows (or what ``LDRows.of`` accepts), with its scale
    n_neighbours : G, neighbours drawn per variant (with replacement)
    r_max : neighbours with |R_ij| above this are not drawn
    alpha : family-wise level; the threshold is alpha / M with M the variants still in
    max_rounds : maximum test-and-remove rounds
    seed : seed of the neighbour draws (same seed, same result)
    removal : ``"local"`` removes per round the flagged variants with the largest T among the
        flagged variants of their LD row; ``"all"`` removes every flagged variant (section 9)
    snps : optional variant IDs, copied into ``removed``

    Returns
    -------
    MismatchResult (keep, removed, rounds)
    """
    z = np.asarray(z, dtype=np.float64)
    rows = LDRows.of(ld).symmetric()  # every neighbour of a variant in its own row
    if z.shape != (rows.n_variants,):
        raise ValueError(f"z has shape {z.shape}, the LD has {rows.n_variants} variants")
    if not np.isfinite(z).all():
        raise ValueError("z has non-finite values; harmonise the summary statistics first")
    if n_neighbours < 1 or not 0 < r_max < 1 or max_rounds < 1:
        raise ValueError("need n_neighbours >= 1, 0 < r_max < 1 and max_rounds >= 1")
    if removal not in ("local", "all"):
        raise ValueError(f"removal must be 'local' or 'all', not {removal!r}")
    rng = np.random.default_rng(seed)
    keep = np.ones(rows.n_variants, bool)
    removed = []
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        t = neighbour_statistic(z, rows, keep, n_neighbours=n_neighbours, r_max=r_max, rng=rng)
        p = special.chdtrc(1, t)  # chi2_1 survival
        out = keep & (p < alpha / keep.sum())  # NaN (no eligible neighbour) never removes
        if removal == "local":
            out &= ~_flagged_neighbour_larger(t, out, rows)
        log.info("mismatch round %d: %d of %d variants removed (p < %.3g)", rounds,
                 int(out.sum()), int(keep.sum()), alpha / keep.sum())
        if not out.any():
            break
        idx = np.flatnonzero(out)
        removed.append(pd.DataFrame({"index": idx, "T": t[idx], "P": p[idx], "round": rounds}))
        keep &= ~out
    table = pd.concat(removed, ignore_index=True) if removed else pd.DataFrame(
        {"index": pd.Series(dtype=np.int64), "T": pd.Series(dtype=float),
         "P": pd.Series(dtype=float), "round": pd.Series(dtype=np.int64)})
    if snps is not None:
        table.insert(0, "SNP", np.asarray(snps)[table["index"].to_numpy()])
    return MismatchResult(keep, table, rounds)


def neighbour_statistic(z, rows, keep, *, n_neighbours=100, r_max=0.99, rng=None):
    """T_i = mean over G sampled neighbours of (z_i - R_ij z_j)^2 / (1 - R_ij^2).

    Only variants and neighbours with ``keep`` take part; T_i is NaN for a dropped variant or one
    with no eligible neighbour. ``rows`` is an :class:`~vibank.ld.LDRows`.

    Draws are uniform over a row's eligible entries by rejection: an offset uniform over all
    its stored entries is redrawn while it lands on an ineligible one (zero, |R| > r_max, the
    diagonal, a removed neighbour). A round so costs O(M G), not O(nnz); the few rows still
    unfilled after ``_TRIES`` redraws (mostly ineligible rows) are sampled exactly from their
    compressed eligible entries.
    """
    rng = np.random.default_rng(rng)
    t = np.full(rows.n_variants, np.nan)
    lengths = np.diff(rows.indptr)
    tested = np.flatnonzero(keep & (lengths > 0))
    if not len(tested):
        return t
    owner = np.repeat(tested, n_neighbours)  # one slot per draw
    col = np.zeros(len(owner), np.int64)
    r = np.zeros(len(owner))
    todo = np.arange(len(owner))
    for _ in range(_TRIES):
        i = owner[todo]
        pos = rows.indptr[i] + (rng.random(len(todo)) * lengths[i]).astype(np.int64)
        pos = np.minimum(pos, rows.indptr[i + 1] - 1)
        c, v = rows.at(pos, i)
        ok = (v != 0) & (np.abs(v) <= r_max) & (c != i) & keep[c]
        col[todo[ok]], r[todo[ok]] = c[ok], v[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    filled = np.ones(len(owner), bool)
    if len(todo):
        filled[todo] = _sample_exact(todo, owner, col, r, rows, keep, r_max, rng)
    terms = np.where(filled, (z[owner] - r * z[col]) ** 2 / (1 - r * r), 0.0)
    counts = np.bincount(owner, weights=filled, minlength=rows.n_variants)[tested]
    sums = np.bincount(owner, weights=terms, minlength=rows.n_variants)[tested]
    with np.errstate(invalid="ignore"):
        t[tested] = np.where(counts > 0, sums / counts, np.nan)
    return t


#: rejection rounds before the remaining draws are made from the compressed eligible entries
_TRIES = 16


def _sample_exact(todo, owner, col, r, rows, keep, r_max, rng):
    """Fill the slots ``todo`` from their rows' eligible entries; False where a row has none."""
    slot_rows = owner[todo]
    i, c, v = rows.entries_of(np.unique(slot_rows))
    ok = (v != 0) & (np.abs(v) <= r_max) & (c != i) & keep[c]
    i, c, v = i[ok], c[ok], v[ok]  # sorted by row (entries_of keeps row order)
    first = np.searchsorted(i, slot_rows, side="left")
    count = np.searchsorted(i, slot_rows, side="right") - first
    has = count > 0
    pick = first[has] + np.minimum((rng.random(int(has.sum())) * count[has]).astype(np.int64),
                                   count[has] - 1)
    col[todo[has]], r[todo[has]] = c[pick], v[pick]
    return has


def _flagged_neighbour_larger(t, flagged, rows):
    """True for flagged variants with a flagged LD neighbour of larger T (ties: lower index)."""
    out = np.zeros(rows.n_variants, bool)
    i, j, v = rows.entries_of(np.flatnonzero(flagged))
    both = (v != 0) & flagged[j] & (j != i)
    i, j = i[both], j[both]
    beaten = (t[j] > t[i]) | ((t[j] == t[i]) & (j < i))
    out[i[beaten]] = True
    return out


def mismatch_audit(matched, result):
    """Audit rows (``vibank.sumstats.AUDIT_COLUMNS``) for the variants the filter removed.

    ``matched`` is the harmonised table the z-scores came from (same order).
    """
    from vibank.sumstats.qc import audit_rows

    idx = result.removed["index"].to_numpy()
    detail = [f"T = {t:.4g}, p = {p:.3g}, round {r}" for t, p, r in
              zip(result.removed["T"], result.removed["P"], result.removed["round"])]
    return audit_rows(matched.iloc[idx], "ld_mismatch").assign(detail=detail).astype(
        {"detail": "string"})
