"""Pure-NumPy twins of the compiled PRS kernels (the specification they are tested against)."""

import numpy as np


def e_step_spike_slab(ld_data, ld_indices, ld_indptr, ld_scale, std_beta, n_per_variant, var_mu,
                      logit_prior, gamma, mu, eta, q, sigma2_eps):
    """NumPy twin of ``_kernels._e_step.e_step_spike_slab``: one sweep, in place; max |delta eta|."""
    max_delta = 0.0
    for j in range(len(std_beta)):
        mu_j = n_per_variant[j] * var_mu[j] / sigma2_eps * (std_beta[j] - q[j])
        u = logit_prior[j] + mu_j**2 / (2.0 * var_mu[j])
        gamma_j = 0.5 * (1.0 + np.tanh(0.5 * u))  # sigmoid without overflow
        eta_new = gamma_j * mu_j
        delta = eta_new - eta[j]
        mu[j], gamma[j], eta[j] = mu_j, gamma_j, eta_new
        max_delta = max(max_delta, abs(delta))
        lo, hi = ld_indptr[j], ld_indptr[j + 1]
        q[ld_indices[lo:hi]] += ld_data[lo:hi].astype(np.float64) * ld_scale * delta
    return max_delta


def e_step_spike_slab_band(ld_data, ld_first, ld_indptr, ld_scale, std_beta, n_per_variant,
                           var_mu, logit_prior, gamma, mu, eta, q, sigma2_eps):
    """NumPy twin of ``_kernels._e_step.e_step_spike_slab_band`` (band rows, zero diagonal)."""
    max_delta = 0.0
    for j in range(len(std_beta)):
        mu_j = n_per_variant[j] * var_mu[j] / sigma2_eps * (std_beta[j] - q[j])
        u = logit_prior[j] + mu_j**2 / (2.0 * var_mu[j])
        gamma_j = 0.5 * (1.0 + np.tanh(0.5 * u))
        eta_new = gamma_j * mu_j
        delta = eta_new - eta[j]
        mu[j], gamma[j], eta[j] = mu_j, gamma_j, eta_new
        max_delta = max(max_delta, abs(delta))
        lo, hi = ld_indptr[j], ld_indptr[j + 1]
        q[ld_first[j]:ld_first[j] + hi - lo] += ld_data[lo:hi].astype(np.float64) * ld_scale * delta
    return max_delta


def cavi_individual(x, y, *, pi, sigma2_beta, sigma2_eps, n_iter):
    """Individual-level spike-and-slab VEM on standardised X (n, M) and y: the reference that the
    summary-statistics fit must reproduce with in-sample LD (R = X'X/n, b = X'y/n).

    Works on the residual r = y - X eta instead of q, an independent route to the same updates.
    Returns a dict of eta, gamma, mu, var_mu, pi, sigma2_beta, sigma2_eps and the ELBO trace.
    """
    n, m = x.shape
    gamma, mu, eta = np.full(m, pi), np.zeros(m), np.zeros(m)
    var_mu = np.zeros(m)
    resid = y.astype(np.float64).copy()
    elbos = []
    for _ in range(n_iter):
        var_mu[:] = sigma2_eps / (n + sigma2_eps / sigma2_beta)
        for j in range(m):
            xj = x[:, j]
            # x_j' (y - sum_{k != j} x_k eta_k) / n
            partial = xj @ resid / n + eta[j] * (xj @ xj) / n
            mu[j] = n * var_mu[j] / sigma2_eps * partial
            u = np.log(pi / (1 - pi)) + 0.5 * np.log(var_mu[j] / sigma2_beta) + mu[j] ** 2 / (2 * var_mu[j])
            gamma[j] = 0.5 * (1 + np.tanh(0.5 * u))
            new = gamma[j] * mu[j]
            resid -= xj * (new - eta[j])
            eta[j] = new
        zeta = gamma * (mu**2 + var_mu)
        pi = float(np.clip(gamma.mean(), 1 / m, 1 - 1 / m))
        sigma2_beta = float(zeta.sum() / gamma.sum())
        # E||y - X beta||^2 / n = ||y - X eta||^2 / n + sum_j (x_j'x_j / n) Var(beta_j)
        fit = resid @ resid / n + np.sum((np.sum(x * x, axis=0) / n) * (zeta - eta**2))
        sigma2_eps = float(np.clip(fit, 1e-6, 1.0))
        g = np.clip(gamma, 1e-10, 1 - 1e-10)
        elbos.append(-0.5 * n * np.log(2 * np.pi * sigma2_eps) - n / (2 * sigma2_eps) * fit
                     + np.sum(g * np.log(pi / g) + (1 - g) * np.log((1 - pi) / (1 - g)))
                     + np.sum(0.5 * gamma * (1 + np.log(var_mu / sigma2_beta) - (mu**2 + var_mu) / sigma2_beta)))
    return {"eta": eta, "gamma": gamma, "mu": mu, "var_mu": var_mu, "pi": pi,
            "sigma2_beta": sigma2_beta, "sigma2_eps": sigma2_eps, "elbo": elbos}
