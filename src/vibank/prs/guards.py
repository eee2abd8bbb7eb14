"""Guards on a finished VIPRS fit: signs that its likelihood does not fit the data (the panel's
LD against a much larger GWAS, prs_vi.md section 6a), reported with the fit instead of a plain
"converged" or "max_iter". Each flag has a name (kept in the fit JSON) and a sentence (logged as
a warning and shown in the report).
"""

import numpy as np

#: h2 more than this many times the LD-score-regression estimate of the same statistics, or
#: less than its inverse, is flagged (when the estimate is above its clip floor)
H2_LDSC_FACTOR = 3.0
#: no trait has more SNP heritability on one chromosome (or a genome-wide fit more than this)
H2_MAX = 0.5
#: sigma2_eps at or below this is at its floor (the M-step's bound is 1e-6)
SIGMA2_EPS_FLOOR = 1e-5
#: a fit stopped at max_iter whose h2 still moved by more than this (relative) over its last
#: DRIFT_WINDOW iterations is drifting
DRIFT_TOL = 0.01
DRIFT_WINDOW = 50


def fit_flags(*, h2, h2_ldsc, sigma2_eps, elbo, stop, h2_history, ridge_max):
    """The flags of a fit as (name, sentence) pairs; empty when nothing looks wrong.

    Parameters
    ----------
    h2 : the fit's SNP heritability
    h2_ldsc : LD-score-regression h2 of the same statistics (``vibank.prs.model.ldsc_h2``)
    sigma2_eps : the fitted residual variance
    elbo : the final ELBO
    stop : the stop reason ("converged", "max_iter")
    h2_history : h2 after each iteration
    ridge_max : the largest ridge the fit needed (0: none)
    """
    flags = []
    if h2 > H2_MAX:
        flags.append(("h2_implausible", f"h2 {h2:.3g} is above {H2_MAX}, more than any trait "
                      "has on these variants"))
    if h2_ldsc > 1e-3 and not 1 / H2_LDSC_FACTOR <= h2 / h2_ldsc <= H2_LDSC_FACTOR:
        flags.append(("h2_vs_ldsc", f"h2 {h2:.3g} is {h2 / h2_ldsc:.2g}x the LD-score-regression "
                      f"estimate {h2_ldsc:.3g} of the same statistics"))
    if sigma2_eps <= SIGMA2_EPS_FLOOR:
        flags.append(("sigma2_eps_floor", f"the residual variance is at its floor "
                      f"({sigma2_eps:.2g}): the statistics lie outside what the LD matrix can "
                      "explain"))
    if elbo > 0:
        flags.append(("positive_elbo", f"the ELBO is positive ({elbo:.3g}), which a proper "
                      "likelihood of the statistics cannot give"))
    if stop == "max_iter" and len(h2_history) > DRIFT_WINDOW:
        before, last = h2_history[-DRIFT_WINDOW - 1], h2_history[-1]
        if abs(last - before) > DRIFT_TOL * max(abs(last), 1e-12):
            flags.append(("drift", f"stopped at max_iter with h2 still moving ({before:.4g} -> "
                          f"{last:.4g} over the last {DRIFT_WINDOW} iterations)"))
    if ridge_max > 0:
        flags.append(("ridge", f"fitted with a ridge of up to {ridge_max:.3g} on the LD "
                      "diagonal (effects and h2 shrunk by about 1/(1 + ridge))"))
    if not np.isfinite(h2):
        flags.append(("non_finite", "h2 is not finite"))
    return flags
