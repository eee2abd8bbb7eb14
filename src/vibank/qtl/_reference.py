"""Pure-NumPy twins of the atlasQTL kernel (the specification the Cython loop is tested against).

``cavi_sweep`` is the specification of ``_kernels._cavi.cavi_sweep`` on the Gram matrix
(pqtl_afcavi.md (c), step 5), one predictor at a time; ``cavi_sweep_blocked`` mirrors the
kernel's schedule, GB updates delayed over blocks of predictors and applied as one matrix
product, which must give the same coordinate-ascent updates; ``cavi_sweep_individual`` computes
the update directly from X and Y, keeping the residuals y_t - X bbar_t, so the Gram-matrix
formulation (and its NA corrections) is checked. ``probit_refresh``, ``latent_sums``,
``response_sums`` and ``entropy_sums`` are the twins of ``_kernels._probit``; ``local_sums`` and
``elbo_gamma_terms`` specify what ``AtlasQTL`` assembles from them and the cached sums.
"""

import numpy as np
from scipy.special import log_ndtr

from vibank.qtl.moments import truncated_latent_mean


def _sigmoid(x):
    """exp(-log1pexp(-x)), the kernel's overflow-safe logistic function."""
    z = -x
    return np.exp(-(z + np.log1p(np.exp(-z)))) if z > 0 else np.exp(-np.log1p(np.exp(z)))


def _coordinate(t, s, r, s2b, tau, lpd, cst, c):
    """mu_st and g_st for the residual correlation r (annealed as the reference does, (k.3))."""
    v = s2b[t, s]
    m = c * v * tau[t] * r
    logit = c * (lpd[t, s] + m * m / (2.0 * v) + 0.5 * np.log(v) + cst[t])
    return m, _sigmoid(logit)


def cavi_sweep(G, C_miss, miss_index, YtX, s2b, tau, lpd, cst, c, units, order, g, mu, bbar,
               GB):
    """NumPy twin of the kernel: same arguments (no threads), in place, returns len(units)."""
    for t in units:
        k = miss_index[t]
        gram = G if k < 0 else G - C_miss[k]
        for s in order:
            r = YtX[t, s] - (GB[t, s] - gram[s, s] * bbar[t, s])
            m, g_new = _coordinate(t, s, r, s2b, tau, lpd, cst, c)
            delta = g_new * m - bbar[t, s]
            mu[t, s], g[t, s], bbar[t, s] = m, g_new, g_new * m
            if delta != 0.0:
                GB[t] += delta * gram[s]
    return len(units)


def cavi_sweep_blocked(G, C_miss, miss_index, YtX, s2b, tau, lpd, cst, c, units, order, g, mu,
                       bbar, GB, block=64):
    """The kernel's schedule in NumPy: inside a block J of ``order`` only GB[t, J] is kept
    current; after it, GB[units] += Delta[units, J] @ G[J] (minus Delta @ C_t[J] with NAs)."""
    units = np.asarray(units)
    for b0 in range(0, len(order), block):
        J = np.asarray(order[b0:b0 + block])
        delta = np.zeros((len(units), len(J)))
        for i, t in enumerate(units):
            k_miss = miss_index[t]
            gram_jj = G[np.ix_(J, J)] - (C_miss[k_miss][np.ix_(J, J)] if k_miss >= 0 else 0.0)
            h = GB[t, J].copy()
            for k, s in enumerate(J):
                r = YtX[t, s] - (h[k] - gram_jj[k, k] * bbar[t, s])
                m, g_new = _coordinate(t, s, r, s2b, tau, lpd, cst, c)
                delta[i, k] = g_new * m - bbar[t, s]
                mu[t, s], g[t, s], bbar[t, s] = m, g_new, g_new * m
                h[k + 1:] += delta[i, k] * gram_jj[k, k + 1:]
        GB[units] += delta @ G[J]
        for i, t in enumerate(units):
            if miss_index[t] >= 0:
                GB[t] -= delta[i] @ C_miss[miss_index[t]][J]
    return len(units)


def cavi_sweep_individual(X, Y, observed, s2b, tau, lpd, cst, c, units, order, g, mu, bbar):
    """Step 5 from individual-level data: r = x_s' O_t (y_t - sum_{l != s} x_l bbar_lt).

    X (n, p) standardised, Y (n, q) centred with NAs set to 0, ``observed`` the (n, q) mask.
    """
    for t in units:
        rows = observed[:, t]
        x = X[rows]
        resid = Y[rows, t] - x @ bbar[t]
        for s in order:
            r = x[:, s] @ resid + (x[:, s] @ x[:, s]) * bbar[t, s]
            m, g_new = _coordinate(t, s, r, s2b, tau, lpd, cst, c)
            resid -= x[:, s] * (g_new * m - bbar[t, s])
            mu[t, s], g[t, s], bbar[t, s] = m, g_new, g_new * m
    return len(units)


def probit_refresh(theta, zeta, g):
    """For m = theta_s + zeta_t: log Phi(m) - log Phi(-m), the Mills ratios Z uses at c = 1, and
    per response sum_s g log Phi(m) + (1 - g) log Phi(-m)."""
    m = np.add.outer(zeta, theta)
    log_phi, log_phi_neg = log_ndtr(m), log_ndtr(-m)
    log_dens = -0.5 * m * m - 0.5 * np.log(2.0 * np.pi)
    return (log_phi - log_phi_neg, np.maximum(np.exp(log_dens - log_phi), -m),
            np.minimum(-np.exp(log_dens - log_phi_neg), -m),
            np.sum(g * log_phi + (1 - g) * log_phi_neg, axis=1))


def latent_sums(theta, zeta, g, c=1.0):
    """Row sums (over predictors) and column sums (over responses) of Z (at c < 1: annealed)."""
    z = truncated_latent_mean(np.add.outer(zeta, theta), g, c)
    return z.sum(axis=1), z.sum(axis=0)


def response_sums(g, mu, diag, bbar, ytx, gb):
    """Per response, the sums of its own block: g, g mu^2, diag g mu^2, diag g, bbar YtX,
    GB bbar, diag bbar^2 (rows 0-6 of ``_kernels._probit.response_sums``)."""
    gm2 = g * mu**2
    return np.stack([g.sum(axis=1), gm2.sum(axis=1), (diag * gm2).sum(axis=1),
                     (diag * g).sum(axis=1), (bbar * ytx).sum(axis=1), (gb * bbar).sum(axis=1),
                     (diag * bbar**2).sum(axis=1)])


def local_sums(g, mu, s2b, diag, bbar, ytx, gb):
    """Per response: sums of g, m2 = g (mu^2 + s2b), diag m2, bbar YtX, GB bbar, diag bbar^2
    (what ``AtlasQTL._local_sums`` assembles from ``response_sums`` and s2b)."""
    m2 = g * (mu**2 + s2b)
    return np.stack([g.sum(axis=1), m2.sum(axis=1), (diag * m2).sum(axis=1),
                     (bbar * ytx).sum(axis=1), (gb * bbar).sum(axis=1),
                     (diag * bbar**2).sum(axis=1)])


def entropy_sums(g, eps):
    """Per response, sum_s -g log(g + eps) - (1 - g) log(1 - g + eps)."""
    return np.sum(-g * np.log(g + eps) - (1 - g) * np.log(1 - g + eps), axis=1)


def elbo_gamma_terms(g, s2b, m2_sum, probit_sum, log_tau, tau, log_sig, sig2_inv, eps):
    """Per response, the sum over predictors of the (beta, gamma) part of ELBO term B, given the
    per-response sums of m2 and of g log Phi(m) + (1 - g) log Phi(-m)."""
    return (np.sum(0.5 * g * (log_sig + log_tau[:, None]) - g * np.log(g + eps)
                   - (1 - g) * np.log(1 - g + eps) + 0.5 * g * (np.log(s2b) + 1), axis=1)
            - 0.5 * tau * sig2_inv * m2_sum + probit_sum)
