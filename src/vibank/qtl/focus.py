"""Adaptive focus (AF-CAVI): which responses the core loop sweeps, and when the ELBO is evaluated
(pqtl_afcavi.md section (f) and the vibank decisions at its top)."""

import numpy as np

from vibank.errors import VibankError

MODES = ("full", "random", "adaptive")
EPSILON_SCHEMES = ("iteration", "ELBO", "minimum")
#: thinned ELBO evaluation: thresholds (multiples of tol) and the batch sizes they select
THRESHOLDS = (1, 2, 5, 10, 100)
BATCHES = (1, 5, 10, 25, 50)


def check_focus(mode, epsilon_scheme, alpha, min_epsilon, fix_size, start_partial):
    """Validate the AF options (the reference's ``parpare_partial_`` rules, section (f))."""
    if mode not in MODES:
        raise VibankError(f"cavi must be one of {MODES}, not {mode!r}")
    if epsilon_scheme not in EPSILON_SCHEMES:
        raise VibankError(f"epsilon_scheme must be one of {EPSILON_SCHEMES}, not {epsilon_scheme!r}")
    if not 0 < alpha < 1:
        raise VibankError(f"alpha must be in (0, 1), not {alpha}")
    upper_ok = min_epsilon <= 1 if epsilon_scheme == "minimum" else min_epsilon < 1
    if not (0 <= min_epsilon and upper_ok) or (epsilon_scheme == "minimum" and min_epsilon == 0):
        raise VibankError(f"min_epsilon = {min_epsilon} is out of range (0, 1) ((0, 1] for the "
                          "'minimum' scheme)")
    if fix_size is not None and (mode == "random" or not 0 < fix_size < 1):
        raise VibankError("fix_size must be in (0, 1), and only with cavi='adaptive'")
    if int(start_partial) != start_partial or start_partial < 1:
        raise VibankError(f"start_partial must be a positive integer, not {start_partial}")


def relevance(g):
    """r_t = 1 - prod_s (1 - g_st): probability that response t has an associated predictor
    (section (f), selection rule 1). ``g`` is (q, p), response-major."""
    return -np.expm1(np.sum(np.log1p(-np.minimum(g, 1.0 - 1e-16)), axis=1))


def epsilon(scheme, partial_iteration, *, alpha, min_epsilon, elbo_diff):
    """Exploration level epsilon (section (f), rule 2).

    iteration: max(min_epsilon, alpha^(it0 - 1)); ELBO: max(min_epsilon, D / (1 + D)) with D the
    last evaluated signed ELBO difference (0 if it is not positive); minimum: min_epsilon.
    """
    if scheme == "iteration":
        return max(min_epsilon, alpha ** (partial_iteration - 1))
    if scheme == "ELBO":
        d = max(float(elbo_diff), 0.0) if np.isfinite(elbo_diff) else 1e300
        return max(min_epsilon, d / (1.0 + d) if d < 1e300 else 1.0)
    return min_epsilon


def select_units(prob, rng, fix_size=None):
    """S_it: independent Bernoulli(pi_t) draws, or floor(f q) units drawn without replacement
    with weights pi_t; ascending order (section (f), rule 4)."""
    q = len(prob)
    if fix_size is None:
        return np.flatnonzero(rng.random(q) < prob).astype(np.int64)
    size = max(int(np.floor(fix_size * q)), 1)
    chosen = rng.choice(q, size=size, replace=False, p=prob / prob.sum())
    return np.sort(chosen).astype(np.int64)


class ElboSchedule:
    """When to evaluate the ELBO and whether the fit has converged (section (f), convergence).

    Before ``start_partial`` every post-annealing iteration is evaluated. From then on, with
    thinning, the ELBO is evaluated at partial-phase iterations it0 with it0 mod B in {0, 1};
    B only shrinks: an evaluated signed difference exceeding k of the thresholds tol * (1, 2, 5,
    10, 100), k below the current index (initially 6), sets B to the k-th batch size. Without
    thinning (AFI, and the paper's Vanilla) every iteration is evaluated.
    """

    def __init__(self, tol, thinned):
        self.tol, self.thinned = tol, thinned
        self.index, self.batch = len(THRESHOLDS) + 1, 1

    def due(self, partial_iteration, first_untempered):
        """Evaluate at this iteration? ``partial_iteration`` is 0 before the partial phase."""
        if not self.thinned or partial_iteration == 0 or first_untempered:
            return True
        return partial_iteration % self.batch in (0, 1) or self.batch == 1

    def exceeded(self, diff):
        """Number of thresholds the signed difference exceeds (0 means converged)."""
        return int(np.sum(diff > self.tol * np.asarray(THRESHOLDS)))

    def update(self, diff, partial_iteration):
        """Record an evaluated difference; returns True if it is within tolerance."""
        k = self.exceeded(diff)
        if partial_iteration > 0 and 0 < k < self.index:
            self.index, self.batch = k, BATCHES[k - 1]
        return k == 0
