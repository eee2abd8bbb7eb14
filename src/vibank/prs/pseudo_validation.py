"""Hyperparameter selection without validation genotypes (prs_vi.md section 8).

The GWAS statistics are split as if the GWAS had been run on two disjoint subsets of its
people (PUMAS, Zhao et al. 2021, AJHG 108:1383; the VIPRS paper's pseudo-validation). With
standardised marginal effects b ~ N(R beta, R / N), a training subset of N_t people has

    b_t = b + sqrt((N - N_t) / (N N_t)) e,   e ~ N(0, R),

(Cov(b_t - b) = R / N_t - R / N) and the held-out N_v = N - N_t people

    b_v = (N b - N_t b_t) / N_v,

independent of b_t given beta. A fit on (b_t, N_t) is scored on the held-out statistics by
r_pv = eta' b_v / sqrt(eta' R eta) (``tuning.pseudo_validation``), the correlation a
validation sample would show; the chosen hyperparameters are then refitted on all of b.

The choice is the sparsest pi whose r_pv^2 is within one standard error of the best (the
"one-standard-error rule", Hastie, Tibshirani & Friedman, ESL 7.10), SE(r^2) = 2 |r| (1 - r^2)
/ sqrt(N_v). r_pv^2 is flat over a wide range of pi and biased towards denser fits: the
held-out noise is drawn from the panel's LD R_hat, not the GWAS sample's R, so training and
held-out statistics stay correlated by (R - R_hat) / N and fits that lean on directions where
R_hat underestimates R are rewarded. On the demo's sparse trait the argmax picked pi 50-100x
the genotype-validated choice and lost 0.04-0.07 of test R^2 on three folds of five; the
rule removes that loss, and costs 0.007 on a polygenic fold (docs/benchmarks.md).

e ~ N(0, R) is drawn block by block, L z with R_b = L L' (Cholesky) of each independent LD
segment (block LD), or of consecutive windows of at most ``MAX_BLOCK`` variants when the LD is
one segment per chromosome (windowed LD: the correlation of the noise across window boundaries
is then left out, which for windows of 2,000 variants and LD that decays within a few hundred
is small). A block that is not positive definite (a small panel's rank-deficient or quantised
LD) is drawn from R's positive part instead, U diag(max(lambda, 0))^{1/2} z with R_b = U
diag(lambda) U' (an eigendecomposition, ~10x the Cholesky's cost). Both give N(0, R_b) when R_b
is positive definite.
"""

import logging

import numpy as np

log = logging.getLogger(__name__)

#: largest LD block decomposed at once when drawing e ~ N(0, R)
MAX_BLOCK = 2000
#: share of the GWAS people in the training part by default (PUMAS uses 3/4)
TRAINING_FRACTION = 0.75


def sample_correlated_noise(ld, rng, size=None):
    """Draws of e ~ N(0, R) for an ``LDRows`` (module docstring): (M,), or (size, M)."""
    full = ld.to_csr(diagonal=1.0)
    m = ld.n_variants
    bounds = [0]
    for start, stop in zip(ld.segments[:-1], ld.segments[1:]):
        n_chunks = int(np.ceil((stop - start) / MAX_BLOCK))
        bounds += list(np.linspace(start, stop, n_chunks + 1).round().astype(int)[1:])
    out = np.empty((1 if size is None else size, m))
    for start, stop in zip(bounds[:-1], bounds[1:]):
        block = full[start:stop, start:stop].toarray()
        z = rng.standard_normal((len(out), stop - start))
        try:
            out[:, start:stop] = z @ np.linalg.cholesky(block).T
        except np.linalg.LinAlgError:  # not positive definite: R's positive part
            values, vectors = np.linalg.eigh(block)
            out[:, start:stop] = (z * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return out[0] if size is None else out


def split_sumstats(b, n, ld, rng, *, training_fraction=TRAINING_FRACTION):
    """Training and held-out statistics of one GWAS (module docstring).

    Parameters
    ----------
    b : (M,) standardised marginal effects
    n : (M,) per-variant GWAS sample sizes
    ld : ``LDRows`` of the same variants
    rng : numpy Generator
    training_fraction : N_t / N, in (0, 1)

    Returns
    -------
    (b_t, n_t, b_v, n_v), each (M,)
    """
    if not 0 < training_fraction < 1:
        raise ValueError(f"training_fraction must be in (0, 1), not {training_fraction}")
    b, n = np.asarray(b, np.float64), np.asarray(n, np.float64)
    n_t = n * training_fraction
    n_v = n - n_t
    e = sample_correlated_noise(ld, rng)
    b_t = b + np.sqrt((n - n_t) / (n * n_t)) * e
    b_v = (n * b - n_t * b_t) / n_v
    log.info("pseudo-validation: statistics of N split %.2f / %.2f (median N_t %.0f, N_v %.0f)",
             training_fraction, 1 - training_fraction, np.median(n_t), np.median(n_v))
    return b_t, n_t, b_v, n_v


def one_standard_error_choice(table, n_validation):
    """The sparsest grid point whose pseudo-validation r^2 (``table["metric"]``) is within one
    standard error of the best, SE = 2 |r| (1 - r^2) / sqrt(n_validation); as {"pi": value}.
    Points whose fit failed (metric NaN) are left out."""
    ok = table[np.isfinite(table["metric"].to_numpy(float))]
    if ok.empty:
        raise ValueError("no grid point has a pseudo-validation metric")
    best = float(ok["metric"].max())
    r = np.sqrt(max(best, 0.0))
    se = 2 * r * (1 - r**2) / np.sqrt(n_validation)
    eligible = ok[ok["metric"] >= best - se]
    pi = float(eligible["pi"].min())
    log.info("pseudo-validation: best r2 %.4f (SE %.4f); the sparsest pi within one SE: %.3g "
             "(%d of %d points eligible)", best, se, pi, len(eligible), len(ok))
    return {"pi": pi}
