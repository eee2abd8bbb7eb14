"""LD-reference noise in the summary-statistics likelihood (prs_vi.md section 6a).

An LD matrix estimated from n_ref people differs from the GWAS population's R by a sampling
error E. Given the effects, the GWAS statistics are b = R_hat beta - E beta + e, and for
Gaussian genotypes Cov(E beta) = (beta' R beta R + R beta beta' R) / n_ref, over the variants
whose LD the matrix holds. So variant j's statistic carries, besides the GWAS noise
sigma2_e / N_j, a panel noise of about h2_w(j) / n_ref, h2_w(j) the heritability of the
variants in its LD row, with the same LD structure as the GWAS noise. The likelihood keeps
its form with N_j replaced by the effective sample size

    N_eff_j = 1 / (1 / N_j + h2_w(j) / n_ref),    h2_w(j) = h2_0 w_j / M,

h2_0 the LD-score-regression h2 of the statistics spread evenly over the M variants and w_j
the number of variants in row j (``LDRows.row_widths``). With N = 5e5, n_ref = 378, h2_0 =
0.02 on 10,000 variants and 3 cM rows of ~2,000 variants the panel noise is 6x the GWAS noise
(N_eff ~ 8e4); with the panel the GWAS was run on (N ~ n_ref) N_eff ~ N. Measured in
``verification/ld_reference_noise.py`` (docs/benchmarks.md).
"""

import numpy as np

#: LD-noise treatments of a fit: "auto" (the effective sample size when the LD records its
#: panel size) or "none" (the GWAS N as given)
LD_NOISE = ("auto", "none")


def effective_sample_size(n, ld, h2):
    """N_eff_j of each variant (module docstring), or ``n`` itself when ``ld.n_ref`` is None.

    Parameters
    ----------
    n : (M,) GWAS sample sizes N_j
    ld : ``vibank.ld.LDRows`` with ``n_ref`` (per variant)
    h2 : heritability of the M variants (e.g. the LD-score-regression estimate)
    """
    n = np.asarray(n, dtype=np.float64)
    if ld.n_ref is None:
        return n
    local_h2 = h2 * ld.row_widths() / ld.n_variants
    return 1.0 / (1.0 / n + local_h2 / ld.n_ref)
