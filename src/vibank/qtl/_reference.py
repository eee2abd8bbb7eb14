"""Pure-NumPy twins of the atlasQTL kernel (the specification the Cython loop is tested against).

``cavi_sweep`` mirrors ``_kernels._cavi.cavi_sweep`` on the Gram matrix (pqtl_afcavi.md (c),
step 5); ``cavi_sweep_individual`` computes the same update directly from X and Y, keeping the
residuals y_t - X bbar_t, so the Gram-matrix formulation (and its NA corrections) is checked.
"""

import numpy as np


def _sigmoid(x):
    """exp(-log1pexp(-x)), the kernel's overflow-safe logistic function."""
    z = -x
    return np.exp(-(z + np.log1p(np.exp(-z)))) if z > 0 else np.exp(-np.log1p(np.exp(z)))


def _coordinate(t, s, r, s2b, tau, log_phi, log_phi_neg, cst, c):
    """mu_st and g_st for the residual correlation r (annealed as the reference does, (k.3))."""
    v = s2b[t, s]
    m = c * v * tau[t] * r
    logit = c * (log_phi[t, s] - log_phi_neg[t, s] + m * m / (2.0 * v) + 0.5 * np.log(v) + cst[t])
    return m, _sigmoid(logit)


def cavi_sweep(G, C_miss, miss_index, YtX, s2b, tau, log_phi, log_phi_neg, cst, c, units, order,
               g, mu, bbar, GB):
    """NumPy twin of the kernel: same arguments (no threads), in place, returns len(units)."""
    for t in units:
        k = miss_index[t]
        gram = G if k < 0 else G - C_miss[k]
        for s in order:
            r = YtX[t, s] - (GB[t, s] - gram[s, s] * bbar[t, s])
            m, g_new = _coordinate(t, s, r, s2b, tau, log_phi, log_phi_neg, cst, c)
            delta = g_new * m - bbar[t, s]
            mu[t, s], g[t, s], bbar[t, s] = m, g_new, g_new * m
            if delta != 0.0:
                GB[t] += delta * gram[s]
    return len(units)


def cavi_sweep_individual(X, Y, observed, s2b, tau, log_phi, log_phi_neg, cst, c, units, order,
                          g, mu, bbar):
    """Step 5 from individual-level data: r = x_s' O_t (y_t - sum_{l != s} x_l bbar_lt).

    X (n, p) standardised, Y (n, q) centred with NAs set to 0, ``observed`` the (n, q) mask.
    """
    for t in units:
        rows = observed[:, t]
        x = X[rows]
        resid = Y[rows, t] - x @ bbar[t]
        for s in order:
            r = x[:, s] @ resid + (x[:, s] @ x[:, s]) * bbar[t, s]
            m, g_new = _coordinate(t, s, r, s2b, tau, log_phi, log_phi_neg, cst, c)
            resid -= x[:, s] * (g_new * m - bbar[t, s])
            mu[t, s], g[t, s], bbar[t, s] = m, g_new, g_new * m
    return len(units)
