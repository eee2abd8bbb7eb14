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
