"""An "external" GWAS for the demo: the study's own summary statistics written the way another
consortium would hand them over (paper section 2.6; issue 7).

The file is in another format (GWAS-SSF or fastGWA), a share of the variants have their alleles
swapped (effect allele = the other allele, sign and frequency turned round) or written on the
other strand (complemented alleles, strand-ambiguous A/T and C/G SNPs left alone), and a few are
corrupted: another base as the other allele (harmonisation drops them: ``allele_mismatch``) or
an effect whose sign disagrees with the LD of its neighbours (the LD-mismatch filter's case,
prs_vi.md section 9). Read back and harmonised to the panel, every variant that is not corrupted
must give the original Z: ``tests/unit/test_external_gwas.py`` checks it, and the workflow
compares the fits of the two files (rule compare_external).
"""

import numpy as np
import pandas as pd

from vibank import columns as col

#: formats the simulator writes: canonical column -> the format's header
WRITERS = {
    "gwas-ssf": {col.CHR: "chromosome", col.POS: "base_pair_location", col.A1: "effect_allele",
                 col.A2: "other_allele", col.BETA: "beta", col.SE: "standard_error",
                 col.A1_FREQ: "effect_allele_frequency", col.P: "p_value",
                 col.SNP: "variant_id", col.N: "n"},
    "fastgwa": {col.CHR: "CHR", col.SNP: "SNP", col.POS: "POS", col.A1: "A1", col.A2: "A2",
                col.N: "N", col.A1_FREQ: "AF1", col.BETA: "BETA", col.SE: "SE", col.P: "P"},
}
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _ambiguous(a1, a2):
    return np.array([x.translate(_COMPLEMENT) == y for x, y in zip(a1, a2)], dtype=bool)


def external_gwas(sumstats, *, format="gwas-ssf", swap_fraction=0.3, flip_fraction=0.2,
                  n_allele_mismatch=10, n_sign_mismatch=5, sign_mismatch_min_z=3.0, seed=0):
    """Rewrite canonical summary statistics as an external file with swaps, flips and errors.

    Parameters
    ----------
    sumstats : canonical table (``vibank.columns.SUMSTATS_ORDER``, ``A1_FREQ`` optional: the
        frequency column is written only with it), one or several chromosomes
    format : a key of ``WRITERS``
    swap_fraction : share of variants written with A1 and A2 exchanged (BETA negated, frequency
        1 - f)
    flip_fraction : share of the strand-unambiguous variants written on the other strand
    n_allele_mismatch : strand-unambiguous variants whose other allele becomes a base the panel
        does not have there
    n_sign_mismatch : variants among those with |Z| >= ``sign_mismatch_min_z`` whose effect sign
        is flipped without touching the alleles (fewer when fewer qualify)
    seed : random seed

    Returns
    -------
    table : DataFrame with the format's columns, rows in the input order
    changes : DataFrame SNP, change (``swapped``, ``strand_flipped``, ``allele_mismatch``,
        ``sign_mismatch``; a variant can be both swapped and strand flipped)
    """
    if format not in WRITERS:
        raise ValueError(f"format {format!r}: one of {', '.join(WRITERS)}")
    rng = np.random.default_rng(seed)
    s = sumstats.reset_index(drop=True).copy()
    m = len(s)
    a1, a2 = s[col.A1].astype(str).to_numpy(object), s[col.A2].astype(str).to_numpy(object)
    beta = s[col.BETA].to_numpy(float).copy()
    # the canonical table has the MAF, which does not say which allele is the minor one: the
    # frequency column is written only when A1_FREQ is known (readers then use the panel's MAF)
    has_freq = col.A1_FREQ in s and s[col.A1_FREQ].notna().any()
    freq = s[col.A1_FREQ].to_numpy(float).copy() if has_freq else np.full(m, np.nan)
    changes = []

    def pick(candidates, count):
        candidates = np.flatnonzero(candidates)
        count = min(int(count), len(candidates))
        return np.sort(rng.choice(candidates, size=count, replace=False))

    corrupt = np.zeros(m, dtype=bool)
    allele_bad = pick(~_ambiguous(a1, a2), n_allele_mismatch)
    corrupt[allele_bad] = True
    strong = np.abs(s[col.Z].to_numpy(float)) >= sign_mismatch_min_z
    sign_bad = pick(strong & ~corrupt, n_sign_mismatch)
    corrupt[sign_bad] = True
    beta[sign_bad] = -beta[sign_bad]
    # another base as the other allele: a valid SNP that is neither the panel's pair nor its
    # complement (and not strand-ambiguous), so it reaches the allele check
    a2[allele_bad] = [min(set("ACGT") - {x, y, x.translate(_COMPLEMENT)})
                      for x, y in zip(a1[allele_bad], a2[allele_bad])]

    swapped = pick(~corrupt, swap_fraction * m)
    a1[swapped], a2[swapped] = a2[swapped], a1[swapped].copy()
    beta[swapped] = -beta[swapped]
    freq[swapped] = 1.0 - freq[swapped]
    flipped = pick(~corrupt & ~_ambiguous(a1, a2), flip_fraction * m)
    a1[flipped] = [x.translate(_COMPLEMENT) for x in a1[flipped]]
    a2[flipped] = [x.translate(_COMPLEMENT) for x in a2[flipped]]

    for change, rows in (("swapped", swapped), ("strand_flipped", flipped),
                         ("allele_mismatch", allele_bad), ("sign_mismatch", sign_bad)):
        changes.append(pd.DataFrame({col.SNP: s[col.SNP].to_numpy()[rows], "change": change}))
    s[col.A1], s[col.A2], s[col.BETA], s[col.A1_FREQ] = a1, a2, beta, freq
    names = {k: v for k, v in WRITERS[format].items() if has_freq or k != col.A1_FREQ}
    table = s[list(names)].rename(columns=names)
    return table, pd.concat(changes, ignore_index=True)
