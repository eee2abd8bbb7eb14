"""Pure-NumPy twins of the compiled PRS kernels (the specification they are tested against)."""

import numpy as np


def _coordinate(j, r, log_null, var_mu, log_prior, gamma, mu):
    """Variant j: mu_jk = v_jk r, gamma_j. = softmax(u_j0 = log_null, u_jk); returns eta_j."""
    m_j = var_mu[j].astype(np.float64) * r
    u = np.concatenate([[log_null], log_prior[j] + m_j**2 / (2.0 * var_mu[j])])
    w = np.exp(u - u.max())
    g = w[1:] / w.sum()
    mu[j], gamma[j] = m_j, g
    return float(g @ m_j)


def _apply(j, step, ld, q):
    """q_k += R_kj step for the neighbours k of variant j (either layout, through LDRows)."""
    columns, values = ld.row(j)
    q[columns] += values * ld.scale * step


def e_step(ld, std_beta, n_per_variant, var_mu, log_prior, log_null, gamma, mu, eta, q,
           sigma2_eps, n_threads=1, pending=None, lazy_tol=0.0, *, tiny=1e-280):
    """NumPy twin of ``_kernels._e_step.e_step``: one sweep in variant order (the segments are
    independent, so visiting them in order gives the kernel's result), in place; max |delta eta|.
    ``ld`` an ``LDRows``; the kernel's arguments in its order (``n_threads`` has no effect
    here). With ``lazy_tol > 0`` a variant's change
    waits in ``pending`` until |pending_j| reaches ``lazy_tol`` (then q = R (eta - pending)).
    Upper rows go to :func:`upper_e_step`, as in the kernel."""
    if ld.layout == "upper":
        if lazy_tol > 0:
            raise ValueError("lazy E-step sweeps need both triangles of the LD rows")
        return upper_e_step(ld, std_beta, n_per_variant, var_mu, log_prior, log_null, gamma, mu,
                            eta, q, sigma2_eps, tiny=tiny)
    max_delta = 0.0
    for j in range(len(std_beta)):
        r = n_per_variant[j] * (std_beta[j] - q[j]) / sigma2_eps
        eta_new = _coordinate(j, r, log_null, var_mu, log_prior, gamma, mu)
        delta = float(eta.dtype.type(eta_new)) - float(eta[j])  # the stored value's change
        if abs(delta) < tiny:  # the kernel's rule against subnormal numbers in q
            continue
        eta[j] = eta_new
        max_delta = max(max_delta, abs(delta))
        step = delta
        if lazy_tol > 0:
            step = float(pending[j]) + delta
            if abs(step) < lazy_tol:
                pending[j] = step
                continue
            pending[j] = 0.0
        _apply(j, step, ld, q)
    return max_delta


def flush(ld, pending, q):
    """NumPy twin of ``_kernels._e_step.flush``: q += R pending, pending = 0; returns how many
    variants had a pending change."""
    if ld.layout == "upper":
        return upper_flush(ld, pending, q)
    changed = np.flatnonzero(pending)
    for j in changed:
        _apply(j, float(pending[j]), ld, q)
        pending[j] = 0.0
    return len(changed)


def upper_e_step(ld, std_beta, n_per_variant, var_mu, log_prior, log_null, gamma, mu, eta, q,
                 sigma2_eps, n_threads=1, *, tiny=1e-280):
    """NumPy twin of ``_kernels._upper.upper_e_step``: one exact sweep on upper band rows
    (``ld.row(j)``: the columns after j), in variant order, in place; max |delta eta|. q is the
    scratch L (q_j = L_j + U_j . eta[j+1:], then L[j+1:] += U_j eta_j) and holds 2 L at the end."""
    max_delta = 0.0
    q[:] = 0.0
    for j in range(len(std_beta)):
        columns, values = ld.row(j)
        q_j = float(q[j]) + ld.scale * float(values @ eta[columns].astype(np.float64))
        r = n_per_variant[j] * (std_beta[j] - q_j) / sigma2_eps
        eta_new = _coordinate(j, r, log_null, var_mu, log_prior, gamma, mu)
        delta = float(eta.dtype.type(eta_new)) - float(eta[j])
        if abs(delta) >= tiny:
            eta[j] = eta_new
            max_delta = max(max_delta, abs(delta))
        q[columns] += values * ld.scale * float(eta[j])
    q *= 2
    return max_delta


def upper_flush(ld, pending, q):
    """NumPy twin of ``_kernels._upper.upper_flush``: q += R_offdiag pending from upper band
    rows (row j: q_j += U_j . pending[j+1:] and q[j+1:] += U_j pending_j), pending = 0."""
    for j in range(len(q)):
        columns, values = ld.row(j)
        q[j] += ld.scale * float(values @ pending[columns].astype(np.float64))
        q[columns] += values * ld.scale * float(pending[j])
    count = int(np.count_nonzero(pending))
    pending[:] = 0
    return count


def cavi_individual(x, y, *, pi, sigma2_beta, sigma2_eps, n_iter, multipliers=(1.0,),
                    slab_weights=None, update_components=True):
    """Individual-level VEM on standardised X (n, M) and y for the spike-and-slab, mixture and
    (fixed-alpha) alpha priors: the reference that the summary-statistics fit must reproduce with
    in-sample LD (R = X'X/n, b = X'y/n).

    Slab k of variant j has prior variance s2b d_k w_j (``multipliers`` d, ``slab_weights`` w;
    spike-and-slab: d = (1,), w = 1); ``pi`` is split equally over the slabs. Works on the
    residual r = y - X eta instead of q, an independent route to the same updates. Returns a dict
    of eta, gamma (M, K), mu (M, K), var_mu (M, K), pi (total), pis, sigma2 (per slab),
    sigma2_beta, sigma2_eps and the ELBO trace.
    """
    n, m = x.shape
    d = np.asarray(multipliers, dtype=np.float64)
    k = len(d)
    w = np.ones(m) if slab_weights is None else np.asarray(slab_weights, dtype=np.float64)
    pis, s2 = np.full(k, pi / k), sigma2_beta * d
    gamma, mu, var_mu = np.tile(pis, (m, 1)), np.zeros((m, k)), np.zeros((m, k))
    eta = np.zeros(m)
    resid = y.astype(np.float64).copy()
    xx = np.sum(x * x, axis=0) / n
    elbos = []
    for _ in range(n_iter):
        prior_var = np.outer(w, s2)
        for j in range(m):
            xj = x[:, j]
            var_mu[j] = sigma2_eps / (n * xx[j] + sigma2_eps / prior_var[j])
            # x_j' (y - sum_{k != j} x_k eta_k) / n
            partial = xj @ resid / n + eta[j] * xx[j]
            mu[j] = n * var_mu[j] / sigma2_eps * partial
            u = np.concatenate([[np.log1p(-pis.sum())],
                                np.log(pis) + 0.5 * np.log(var_mu[j] / prior_var[j]) + mu[j] ** 2 / (2 * var_mu[j])])
            e = np.exp(u - u.max())
            gamma[j] = e[1:] / e.sum()
            new = gamma[j] @ mu[j]
            resid -= xj * (new - eta[j])
            eta[j] = new
        second = gamma * (mu**2 + var_mu)
        zeta = second.sum(axis=1)
        pis = np.maximum(gamma.mean(axis=0), 1e-12)
        pis = pis * np.clip(pis.sum(), 1 / m, 1 - 1 / m) / pis.sum()
        weighted = second / w[:, None]
        if update_components:
            s2 = np.maximum(weighted.sum(0) / gamma.sum(0), 1e-12)
        else:
            s2 = np.sum(weighted / d) / gamma.sum() * d
        # E||y - X beta||^2 / n = ||y - X eta||^2 / n + sum_j (x_j'x_j / n) Var(beta_j)
        fit = resid @ resid / n + np.sum(xx * (zeta - eta**2))
        sigma2_eps = float(np.clip(fit, 1e-6, 1.0))
        prior_var = np.outer(w, s2)
        g = np.clip(np.hstack([np.maximum(1 - gamma.sum(1, keepdims=True), 0), gamma]), 1e-10, 1 - 1e-10)
        prior = np.concatenate([[1 - pis.sum()], pis])
        elbos.append(-0.5 * n * np.log(2 * np.pi * sigma2_eps) - n / (2 * sigma2_eps) * fit
                     + np.sum(g * np.log(prior / g))
                     + np.sum(0.5 * gamma * (1 + np.log(var_mu / prior_var) - (mu**2 + var_mu) / prior_var)))
    return {"eta": eta, "gamma": gamma, "mu": mu, "var_mu": var_mu, "pi": float(pis.sum()),
            "pis": pis, "sigma2": s2, "sigma2_beta": float(s2[0]), "sigma2_eps": sigma2_eps,
            "elbo": elbos}
