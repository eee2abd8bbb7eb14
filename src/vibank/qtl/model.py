"""atlasQTL: multi-response spike-and-slab regression with horseshoe hotspot propensities, fitted
by annealed CAVI with optional adaptive focus (pqtl_afcavi.md sections (a)-(g)).

All (predictor, response) arrays are held response-major, shape (q, p), so that the core loop
(the compiled kernel ``_kernels._cavi``, NumPy twin in ``_reference.py``) reads contiguous rows;
results are returned predictor-major (p, q) as in the reference.

Under adaptive focus a response the core loop did not sweep keeps its g, mu, bbar and GB, so what
depends on its own block alone is cached and recomputed only after it is swept again: the
per-response sums behind steps 1-2 and the ELBO, the entropy of q(gamma) and the focus relevance;
the sums of Z over responses move by the swept responses' change only. The values are those a
recomputation gives (up to rounding: tests/unit/test_qtl_model.py). What depends on
m_st = theta_s + zeta_t (step 12's Mills ratios and Z, log Phi for the ELBO) changes for every
pair every iteration and is recomputed for all of them, as the reference does (its options to
restrict the tau and Z updates, ``ifTau`` and ``ifZ``, are hard-coded off); the log-odds the loop
reads are computed for the swept responses only when no ELBO needs log Phi.
"""

import logging
import time
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from scipy.special import digamma, gammaln, ndtr
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from vibank.errors import VibankError
from vibank.qtl import focus
from vibank.qtl._kernels import _cavi, _probit
from vibank.qtl.data import precompute, prepare
from vibank.qtl.moments import log_q_function, mean_inv_lambda2
from vibank.qtl.priors import Hyperparameters, anneal_ladder, default_hyperparameters

log = logging.getLogger(__name__)

#: the reference's debug guard: an evaluated ELBO may not fall by more than sqrt(machine eps)
#: (relative to the ELBO's size here, so that rounding in sums over p x q terms does not trip it)
ELBO_DROP_TOL = np.sqrt(np.finfo(float).eps)
#: eps in the entropy of gamma, machine eps^0.75 (section (d), term B)
ENTROPY_EPS = np.finfo(float).eps ** 0.75
PHASES = ("precompute", "init", "select", "loop", "local", "global", "elbo")
#: fewest (response, predictor) pairs for which the kernels use more than one thread: below it an
#: OpenMP region costs more in thread wake-ups (milliseconds on a loaded machine) than it saves
MIN_PARALLEL_PAIRS = 100_000


class ConvergenceWarning(UserWarning):
    """The fit stopped at max_iter, or its ELBO fell (a numerical problem)."""


@dataclass
class QTLResult:
    """Convergence record (viprs ``OptimizeResult`` habit). ``history`` holds one dict per
    iteration: iteration, c, partial, confirming, epsilon, n_units (responses swept), elbo and
    elbo_diff (NaN when not evaluated) and seconds (wall time of the whole iteration)."""

    success: bool
    stop_reason: str
    n_iter: int
    elbo: float
    elbo_diff: float
    seconds: float
    history: list = field(default_factory=list)


def _gamma_kl(a, b, a_s, b_s, e_log, e_x):
    """E_q[log p(x) - log q(x)] for Gamma(a, b) prior and Gamma(a_s, b_s) factor (terms E-H)."""
    return ((a - a_s) * e_log - (b - b_s) * e_x + a * np.log(b) - a_s * np.log(b_s)
            - gammaln(a) + gammaln(a_s))


class AtlasQTL:
    """atlasQTL with annealed CAVI and adaptive focus (AF-CAVI).

    Parameters
    ----------
    p0 : (mean, variance) of the prior number of predictors associated with each response,
        turned into (n0, t02) by Owen's T elicitation (section (a))
    cavi : {"adaptive", "random", "full"}, keyword-only
        Which responses the core loop sweeps after ``start_partial`` (section (f)): adaptive
        focus, random focus (each response with probability 0.5), or all (vanilla CAVI).
    epsilon_scheme : {"iteration", "ELBO", "minimum"}, exploration level of adaptive focus
    alpha : geometric decay of epsilon under "iteration" (0.95)
    min_epsilon : floor of epsilon (0.01, so every response keeps a chance to be revisited);
        under "minimum" the constant epsilon, in (0, 1] (1: every response every iteration)
    fix_size : None or f in (0, 1): sweep floor(f q) responses drawn without replacement
    start_partial : first partial iteration (50); in every mode also the iteration from which
        the ELBO evaluation may be thinned
    thinned_elbo : None, True or False. Thin the ELBO evaluations after ``start_partial``
        (section (f), "Convergence under AF"): evaluate only at partial iterations it0 with
        it0 mod B in {0, 1}, B from the last evaluated difference. None (default) thins for
        "adaptive" and "random" (AFIO, the reference's default) and not for "full", which then
        evaluates the ELBO at every post-annealing iteration as the reference's full CAVI does
        (Vanilla). True with "full" is the thinned schedule on all-response sweeps, a separate
        option (fewer evaluations, convergence noticed in batches); False with "adaptive" is AFI.
    final_full_sweep : under "adaptive" or "random", when a partial iteration meets the
        tolerance, run one more iteration that sweeps every response and declare convergence
        only if that one meets it too (True, vibank's default: it closes the fixed-point gap
        of (k.7), at the cost of one full iteration, ``n_confirming_sweeps_`` counts them).
        False stops at the first partial iteration within tolerance, as AFatlasqtl does.
    anneal : (type, T0, rungs) of the annealing ladder, default geometric (1, 2, 10); None: off
    tol : signed ELBO difference below which the fit has converged (0.01)
    max_iter : int
    shuffle : visit the predictors in a fresh random order every iteration (as AFatlasqtl)
    hyperparameters : a ``Hyperparameters`` to use instead of the defaults from p0 and Y
    seed : seed of the numpy Generator (initialisation, predictor order, response selection)
    n_threads : OpenMP threads of the kernels (over responses); 1 when p q < 100,000
    progress : show a tqdm progress bar

    Attributes (after fit)
    ----------------------
    gamma_ : (p, q) posterior inclusion probabilities (PPI)
    beta_ : (p, q) posterior mean effects on the standardised-X scale; ``beta_per_allele_`` the
        same per unit of the original X (per allele for dosages), on the centred-Y scale
    mu_, s2b_ : (p, q) slab means and variances
    theta_, zeta_ : hotspot (per predictor) and response propensities; ``s2theta_``
    tau_ : E tau_t; ``sigma2_inv_``, ``sigma0_inv_``: E sigma^-2, E sigma_0^-2
    lambda2_inv_ : E lambda_s^-2
    elbo_history_, elbo_iterations_ : evaluated ELBOs and their iterations
    n_confirming_sweeps_ : iterations run to confirm a partial-phase convergence (see
        ``final_full_sweep``); included in ``n_iter_``
    n_iter_ : iterations run; ``seconds_`` : seconds per phase; ``result_`` : QTLResult
    n0_, t02_ : elicited hyperparameters; ``hyper_`` : all of them
    variant_names_, response_names_, removed_constant_, removed_collinear_
    """

    def __init__(self, p0=(1.0, 4.0), *, cavi="adaptive", epsilon_scheme="iteration",
                 alpha=0.95, min_epsilon=0.01, fix_size=None, start_partial=50,
                 thinned_elbo=None, final_full_sweep=True, anneal=(1, 2.0, 10), tol=0.01,
                 max_iter=1000, shuffle=True, hyperparameters=None, seed=None, n_threads=1,
                 progress=False):
        self.p0 = p0
        self.cavi = cavi
        self.epsilon_scheme = epsilon_scheme
        self.alpha = alpha
        self.min_epsilon = min_epsilon
        self.fix_size = fix_size
        self.start_partial = start_partial
        self.thinned_elbo = thinned_elbo
        self.final_full_sweep = final_full_sweep
        self.anneal = anneal
        self.tol = tol
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.hyperparameters = hyperparameters
        self.seed = seed
        self.n_threads = n_threads
        self.progress = progress

    # -- initialisation (section (e), auto_set_init_) --------------------------------------
    def _initialise(self, rng, c):
        d, h, s = self._data, self.hyper_, self._s
        n, p, q = d.shape
        # t02 enters as an sd here, as in the reference (k.11)
        s.g = ndtr(rng.normal(h.n0[:, None], 1e-4 + h.t02, size=(q, p)))
        s.mu = rng.normal(0.0, 1.0, size=(q, p))
        s.sig2_inv = 1e-2
        var = np.array([np.var(d.Y[d.observed[:, t], t], ddof=1) for t in range(q)])
        tau0 = 1.0 / np.median(var)
        s.tau = np.full(q, tau0 if np.isfinite(tau0) else 1e3)
        s.s2b_row = 1.0 / rng.gamma(2.0, 1e-2 * s.tau)
        s.s2b = np.ascontiguousarray(np.repeat(s.s2b_row[:, None], p, axis=1))
        s.c_s2b = None
        s.sig0_inv = rng.gamma(max(p, q), 1.0)
        s.theta = rng.normal(0.0, 1.0 / np.sqrt(s.sig0_inv * q), size=p)
        s.s2theta = 1.0 / (q + rng.gamma(s.sig0_inv * q, 1.0, size=p))
        s.zeta = rng.normal(h.n0, np.sqrt(h.t02))
        s.bbar = s.g * s.mu
        s.gb = np.ascontiguousarray(s.bbar @ d.gram)
        for t in np.flatnonzero(d.miss_index >= 0):
            s.gb[t] -= d.c_miss[d.miss_index[t]] @ s.bbar[t]
        s.s2zeta = 1.0 / (c * (p + 1.0 / h.t02))
        # work arrays of steps 6, 7 and 12, written in place every iteration
        s.lpd, s.mills_diff = np.empty((q, p)), np.empty((q, p))
        s.probit_sum, s.z_row = np.empty(q), np.empty(q)
        s.z_col_parts = np.empty((-(-q // _probit.ROWS), p))
        # per-response sums of each response's own block, cached between the sweeps that change
        # it (``_local_sums``), and the entropy and relevance, recomputed on demand for the
        # responses swept since (``stale_*``)
        s.na_rows = np.flatnonzero(d.miss_index >= 0).astype(np.int64)
        s.rsums, s.sums = np.empty((7, q)), np.empty((6, q))
        s.entropy, s.relevance = np.empty(q), np.empty(q)
        s.stale_entropy, s.stale_relevance = np.ones(q, dtype=bool), np.ones(q, dtype=bool)
        self._local_sums(np.arange(q, dtype=np.int64))
        self._refresh_probit(True)

    def _refresh_probit(self, logs):
        """Step 12: for m_st = theta_s + zeta_t, the Mills ratios that Z needs at c = 1 and the
        sums of Z at the current g (``update_local`` adds what the next sweep changes) and, if
        ``logs``, the log-odds log Phi(m) - log Phi(-m) and the probit part of ELBO term B at the
        current g (compiled kernel; NumPy twin ``_reference.probit_refresh``). Without ``logs``
        (no ELBO due, a partial sweep next) ``core_loop`` computes the log-odds of the swept
        responses only, the same values."""
        s = self._s
        _probit.probit_refresh(s.theta, s.zeta, s.g, s.lpd, s.mills_diff, s.z_row, s.z_col_parts,
                               s.probit_sum, logs, self._threads)
        s.z_col = s.z_col_parts.sum(axis=0)
        s.lpd_fresh = logs

    # -- the steps of one iteration (section (c), steps 1-12) -------------------------------
    def _local_sums(self, units):
        """Step 6 as sums: per response, sum g, sum m2 (m2 = g (mu^2 + s2b)), sum diag m2 and the
        bracket's sums of bbar Y'X, GB bbar and diag bbar^2, read by steps 1-2 of the next
        iteration and the ELBO. The parts that depend on a response's own block only are
        recomputed for the swept ``units`` (compiled kernel; NumPy twin
        ``_reference.response_sums``) and kept for the others, whose block did not change; the
        slab variance, which changes every iteration, enters through sum m2 = sum g mu^2 +
        s2b_t sum g (s2b constant along a response without NAs; rows with NAs sum g s2b here)."""
        d, s = self._data, self._s
        r = s.rsums
        _probit.response_sums(s.g, s.mu, d.diag, s.bbar, d.ytx, s.gb, units, r,
                              self._threads_for(len(units)))
        s.sums[0] = r[0]
        np.add(r[1], s.s2b_row * r[0], out=s.sums[1])
        np.add(r[2], s.s2b_row * r[3], out=s.sums[2])
        s.sums[3:] = r[4:]
        na = s.na_rows
        if len(na):
            g_s2b = s.g[na] * s.s2b[na]
            s.sums[1, na] = r[1, na] + g_s2b.sum(axis=1)
            s.sums[2, na] = r[2, na] + (d.diag[na] * g_s2b).sum(axis=1)

    def _residual_bracket(self, sig2_inv):
        """E||y_t - X beta_t||^2 + E sigma^-2 sum_s E beta_st^2, from G, Y'X and GB (step 2)."""
        d, s = self._data, self._s
        _, m2_sum, diag_m2, bbar_ytx, gb_bbar, diag_bbar2 = s.sums
        return d.yy - 2.0 * bbar_ytx + sig2_inv * m2_sum + diag_m2 + gb_bbar - diag_bbar2

    def update_sigma(self, c):
        """Step 1: q(sigma^-2) = Gamma(nu*, rho*), tempered."""
        h, s = self.hyper_, self._s
        s.nu_s = c * (h.nu + 0.5 * s.sums[0].sum()) - c + 1.0
        s.rho_s = c * (h.rho + 0.5 * np.sum(s.tau * s.sums[1]))
        s.sig2_inv = s.nu_s / s.rho_s

    def update_tau(self, c):
        """Step 2: q(tau_t) = Gamma(eta*_t, kappa*_t), tempered; n_t observed values."""
        d, h, s = self._data, self.hyper_, self._s
        s.eta_s = c * (h.eta + 0.5 * d.n_obs + 0.5 * s.sums[0]) - c + 1.0
        s.kappa_s = c * (h.kappa + 0.5 * self._residual_bracket(s.sig2_inv))
        s.tau = s.eta_s / s.kappa_s

    def update_slab_variance(self, c, units):
        """Steps 3-4: s2b_st = 1 / (c E tau_t (x_s'O_t x_s + E sigma^-2)); log moments. The
        (q, p) array is written for the responses the core loop sweeps and those with NAs
        (the others read only s2b_row, the value of a response without NAs; ``_store`` fills
        every row, with the same values)."""
        d, s = self._data, self._s
        q = len(s.tau)
        s.s2b_row = 1.0 / ((d.diag[:, 0] + s.sig2_inv) * (c * s.tau))
        s.c_s2b = c
        if len(units) == q:
            # in place, the same operations as 1 / (c tau_t (diag + E sigma^-2)), no temporaries
            np.add(d.diag, s.sig2_inv, out=s.s2b)
            np.multiply(s.s2b, c * s.tau[:, None], out=s.s2b)
            np.divide(1.0, s.s2b, out=s.s2b)
        else:
            rows = np.union1d(units, s.na_rows)
            s.s2b[rows] = 1.0 / ((d.diag[rows] + s.sig2_inv) * (c * s.tau[rows, None]))
        s.log_tau = digamma(s.eta_s) - np.log(s.kappa_s)
        s.log_sig2_inv = digamma(s.nu_s) - np.log(s.rho_s)

    def core_loop(self, c, units, order):
        """Step 5 over the responses ``units`` (compiled kernel, GB updates delayed over blocks
        of predictors and applied as one dgemm per block; BLAS held to one thread by ``fit``)."""
        d, s = self._data, self._s
        if not s.lpd_fresh:
            _probit.probit_lpd(s.theta, s.zeta, units, s.lpd, self._threads_for(len(units)))
        if c == 1.0:  # the PPIs before the sweep, for the change of the Z sums (step 7)
            s.g_old = s.g[units]
        cst = 0.5 * (s.log_tau + s.log_sig2_inv)
        _cavi.cavi_sweep(d.gram, d.c_miss, d.miss_index, d.ytx, s.s2b, s.tau, s.lpd, cst,
                         float(c), units, order, s.g, s.mu, s.bbar, s.gb,
                         self._threads_for(len(units)))
        s.stale_entropy[units] = True
        s.stale_relevance[units] = True

    def update_local(self, c, units):
        """Steps 6-7: sums of the second moments m2 (``_local_sums``, recomputed for the swept
        ``units``) and of the truncated-latent means Z (old m) over predictors and over
        responses, for every pair (m changes with theta and zeta every iteration): at c = 1 the
        sums step 12 left with the PPIs before the sweep, moved by the swept responses' change
        (compiled kernel; NumPy twin ``_reference.latent_sums``); neither m2 nor Z is stored."""
        s = self._s
        self._local_sums(units)
        if c == 1.0:
            parts = np.empty((-(-len(units) // _probit.ROWS), len(s.theta)))
            _probit.latent_update(s.g, s.g_old, units, s.mills_diff, s.z_row, parts,
                                  self._threads_for(len(units)))
            s.z_col = s.z_col + parts.sum(axis=0)
        else:  # annealing: the latent has variance 1/c, its Mills ratios at sqrt(c) m
            _probit.latent_sums_annealed(s.theta, s.zeta, s.g, float(c), s.z_row, s.z_col_parts,
                                         self._threads)
            s.z_col = s.z_col_parts.sum(axis=0)

    def update_hotspots(self, c, logs=True):
        """Steps 8-11: local scales, theta, sigma_0^-2 (via xi) and zeta, in this order; then
        step 12 (``_refresh_probit(logs)``)."""
        d, h, s = self._data, self.hyper_, self._s
        n, p, q = d.shape
        # step 8, with the old theta, s2theta and E sigma_0^-2
        s.L = c * q * s.sig0_inv * ((s.theta - h.m0) ** 2 + s.s2theta) / 2.0
        s.rho_xi = c * (h.a2_inv + s.sig0_inv)
        s.xi_inv = 1.0 / s.rho_xi
        s.lam2_inv = mean_inv_lambda2(s.L, c)
        # step 9, with the old zeta
        prec = q * s.sig0_inv * s.lam2_inv
        s.s2theta = 1.0 / (c * (q + prec))
        s.theta = c * s.s2theta * (s.z_col - s.zeta.sum() + prec * h.m0)
        # step 10, with the new theta
        s.nu0_s = c * (0.5 + p / 2.0) - c + 1.0
        s.rho0_s = c * (s.xi_inv + 0.5 * np.sum(q * s.lam2_inv * ((s.theta - h.m0) ** 2
                                                                  + s.s2theta)))
        s.sig0_inv = s.nu0_s / s.rho0_s
        # step 11, with the new theta
        s.s2zeta = 1.0 / (c * (p + 1.0 / h.t02))
        s.zeta = c * s.s2zeta * (s.z_row - s.theta.sum() + h.n0 / h.t02)
        self._refresh_probit(logs)

    def _gamma_terms(self, g_sum, m2_sum, log_tau, log_sig):
        """Per response, the sum over predictors of the (beta, gamma) part of ELBO term B
        (NumPy twin ``_reference.elbo_gamma_terms``): the entropy of q(gamma) from the cache
        (``_reference.entropy_sums``, recomputed for the responses swept since the last ELBO),
        sum_s g log s2b = log s2b_t sum g without NAs, and the probit part from step 12."""
        d, s = self._data, self._s
        stale = np.flatnonzero(s.stale_entropy).astype(np.int64)
        if len(stale):
            _probit.entropy_sums(s.g, stale, ENTROPY_EPS, s.entropy,
                                 self._threads_for(len(stale)))
            s.stale_entropy[:] = False
        g_log_s2b = np.log(s.s2b_row) * g_sum
        na = s.na_rows
        if len(na):
            g_log_s2b[na] = np.sum(s.g[na] * np.log(s.s2b[na]), axis=1)
        return (s.entropy + 0.5 * g_log_s2b + 0.5 * g_sum * (log_sig + log_tau + 1.0)
                - 0.5 * s.tau * s.sig2_inv * m2_sum + s.probit_sum)

    def elbo(self):
        """ELBO at c = 1 (section (d), terms A-H), reproducing the reference's evaluation point:
        the Gamma factors of tau and sigma^-2 re-optimised from the current g, m2 and GB, but
        E tau and E sigma^-2 from the start of the iteration (k.4); term C mixes the step-8 L_s
        (old E sigma_0^-2) with the new E sigma_0^-2."""
        d, h, s = self._data, self.hyper_, self._s
        n, p, q = d.shape
        g_sum, m2_sum = s.sums[0], s.sums[1]
        eta_s = h.eta + 0.5 * d.n_obs + 0.5 * g_sum
        kappa_s = h.kappa + 0.5 * self._residual_bracket(s.sig2_inv)
        nu_s = h.nu + 0.5 * g_sum.sum()
        rho_s = h.rho + 0.5 * np.sum(s.tau * m2_sum)
        log_tau = digamma(eta_s) - np.log(kappa_s)
        log_sig = digamma(nu_s) - np.log(rho_s)
        a = np.sum(0.5 * d.n_obs * (log_tau - np.log(2 * np.pi))
                   - s.tau * (kappa_s - h.kappa - 0.5 * s.sig2_inv * m2_sum))
        b = (self._gamma_terms(g_sum, m2_sum, log_tau, log_sig).sum() - 0.5 * p * q * s.s2zeta
             - 0.5 * q * s.s2theta.sum())
        log_sig0 = digamma(s.nu0_s) - np.log(s.rho0_s)
        c_term = np.sum(0.5 * (log_sig0 + np.log(q))
                        - 0.5 * q * s.sig0_inv * s.lam2_inv * ((s.theta - h.m0) ** 2 + s.s2theta)
                        + 0.5 * (np.log(s.s2theta) + 1) - np.log(np.pi)
                        + s.L * s.lam2_inv + log_q_function(s.L))
        d_term = 0.5 * (-q * (np.log(h.t02) + np.log(p + 1 / h.t02))
                        - np.sum((s.zeta - h.n0) ** 2) / h.t02 - q * s.s2zeta / h.t02 + q)
        e_term = np.sum(_gamma_kl(h.eta, h.kappa, eta_s, kappa_s, log_tau, s.tau))
        log_xi = digamma(1.0) - np.log(s.rho_xi)
        f_term = (-0.5 * log_sig0 - s.xi_inv * s.sig0_inv + 0.5 * log_xi - gammaln(0.5)
                  - (s.nu0_s - 1) * log_sig0 + s.rho0_s * s.sig0_inv - s.nu0_s * np.log(s.rho0_s)
                  + gammaln(s.nu0_s))
        g_term = _gamma_kl(0.5, h.a2_inv, 1.0, s.rho_xi, log_xi, s.xi_inv)
        h_term = _gamma_kl(h.nu, h.rho, nu_s, rho_s, log_sig, s.sig2_inv)
        return float(a + b + c_term + d_term + e_term + f_term + g_term + h_term)

    # -- adaptive focus (section (f)) -------------------------------------------------------
    def _select(self, partial_iteration, rng, elbo_diff):
        """Selection probabilities pi_t and the swept set S_it; returns (units, epsilon)."""
        q = self._data.shape[2]
        if self.cavi == "random":
            return focus.select_units(np.full(q, 0.5), rng), np.nan
        eps = focus.epsilon(self.epsilon_scheme, partial_iteration, alpha=self.alpha,
                            min_epsilon=self.min_epsilon, elbo_diff=elbo_diff)
        s = self._s
        stale = np.flatnonzero(s.stale_relevance).astype(np.int64)
        if len(stale):  # r_t depends on g_t alone: recomputed for the responses swept since
            # twin: focus.relevance
            _probit.relevance(s.g, stale, s.relevance, self._threads_for(len(stale)))
            s.stale_relevance[:] = False
        prob = (1.0 - eps) * s.relevance + eps
        return focus.select_units(prob, rng, self.fix_size), eps

    # -- the loop ---------------------------------------------------------------------------
    def fit(self, X, Y, *, variant_names=None, response_names=None):
        """Fit atlasQTL on individual-level data.

        Parameters
        ----------
        X : (n, p) predictors (genotype dosages), no missing values; a DataFrame's column
            names become the variant names
        Y : (n, q) responses (proteins); NaN marks a missing value
        variant_names, response_names : optional names (default Cov_x_j, Resp_k)

        Returns
        -------
        self

        Raises
        ------
        VibankError for inputs the model cannot take (shapes, NaN in X, too few observed Y).
        """
        t_start = time.perf_counter()
        focus.check_focus(self.cavi, self.epsilon_scheme, self.alpha, self.min_epsilon,
                          self.fix_size, self.start_partial)
        if not (self.tol > 0 and int(self.max_iter) >= 1):
            raise VibankError(f"tol must be positive and max_iter at least 1 (got {self.tol}, "
                              f"{self.max_iter})")
        ladder = anneal_ladder(self.anneal)
        self.seconds_ = dict.fromkeys(PHASES, 0.0)
        data = prepare(X, Y, variant_names=variant_names, response_names=response_names)
        self._data = precompute(data)
        n, p, q = data.shape
        self.seconds_["precompute"] = time.perf_counter() - t_start
        tick = time.perf_counter()
        self.hyper_ = (self.hyperparameters if self.hyperparameters is not None
                       else default_hyperparameters(data.Y, data.observed, self.p0, p))
        self._check_hyper(q)
        self.n0_, self.t02_ = self.hyper_.n0.copy(), self.hyper_.t02
        self._threads = int(self.n_threads) if p * q >= MIN_PARALLEL_PAIRS else 1
        rng_init, rng_order, rng_select = (np.random.default_rng(s) for s in
                                           np.random.SeedSequence(self.seed).spawn(3))
        self._s = SimpleNamespace()
        self._initialise(rng_init, ladder[0])
        self.seconds_["init"] = time.perf_counter() - tick
        # the kernel calls a single-threaded dgemm from each of its OpenMP threads
        with threadpool_limits(limits=1, user_api="blas"):
            stop, history = self._iterate(ladder, rng_order, rng_select)
        self._store(stop, history, t_start)
        return self

    def _check_hyper(self, q):
        h = self.hyper_
        if not isinstance(h, Hyperparameters):
            raise VibankError("hyperparameters must be a vibank.qtl.Hyperparameters")
        for name in ("eta", "kappa", "n0"):
            v = np.broadcast_to(np.asarray(getattr(h, name), dtype=np.float64), (q,)).copy()
            setattr(h, name, v)
        if np.any(h.eta <= 0) or np.any(h.kappa <= 0) or h.t02 <= 0 or h.nu <= 0 or h.rho <= 0:
            raise VibankError("hyperparameters eta, kappa, t02, nu and rho must be positive")

    def _threads_for(self, n_responses):
        """Threads for a pass over ``n_responses`` rows: one below MIN_PARALLEL_PAIRS pairs (the
        late partial sweeps of adaptive focus touch a few responses; waking a second thread
        for them costs more than it saves, most on a loaded machine)."""
        return self._threads if n_responses * len(self._s.theta) >= MIN_PARALLEL_PAIRS else 1

    def _timed(self, phase, fn, *args):
        tick = time.perf_counter()
        out = fn(*args)
        self.seconds_[phase] += time.perf_counter() - tick
        return out

    def _close_record(self, history):
        """Wall seconds of the last iteration (all steps and its ELBO) into its record."""
        now = time.perf_counter()
        if history and "start" in history[-1]:
            history[-1]["seconds"] = now - history[-1].pop("start")
        self._it_start = now

    def _iterate(self, ladder, rng_order, rng_select):
        d, s = self._data, self._s
        n, p, q = d.shape
        n_rungs = len(ladder)
        all_units = np.arange(q, dtype=np.int64)
        thinned = self.cavi != "full" if self.thinned_elbo is None else bool(self.thinned_elbo)
        schedule = focus.ElboSchedule(self.tol, thinned)
        self.elbo_history_, self.elbo_iterations_, history = [], [], []
        self.n_confirming_sweeps_ = 0
        lb_old, diff, it0, final_sweep, stop = -np.inf, np.inf, 0, False, "max_iter"
        bar = tqdm(total=self.max_iter, desc="atlasQTL", unit="it", leave=False,
                   disable=not self.progress)
        for it in range(1, int(self.max_iter) + 1):
            self._close_record(history)
            c = float(ladder[it - 1]) if it <= n_rungs else 1.0
            units, eps = all_units, np.nan
            in_partial = it >= self.start_partial
            if in_partial and not final_sweep:
                it0 += 1
                if self.cavi != "full":
                    units, eps = self._timed("select", self._select, it0, rng_select, diff)
            order = (rng_order.permutation(p) if self.shuffle else np.arange(p)).astype(np.int64)
            due = c == 1.0 and (final_sweep or schedule.due(it0 if in_partial else 0,
                                                            it <= n_rungs + 1))
            # step 12's log-odds for every response only if this iteration's ELBO needs log Phi
            # or the next sweep covers every response; otherwise for the swept ones on demand
            next_full = self.cavi == "full" or it + 1 < self.start_partial
            self._timed("global", self.update_sigma, c)
            self._timed("global", self.update_tau, c)
            self._timed("local", self.update_slab_variance, c, units)
            self._timed("loop", self.core_loop, c, units, order)
            self._timed("local", self.update_local, c, units)
            self._timed("global", self.update_hotspots, c, due or next_full)
            self.n_confirming_sweeps_ += final_sweep
            record = {"iteration": it, "c": c, "partial": bool(in_partial and self.cavi != "full"),
                      "confirming": final_sweep, "epsilon": eps, "n_units": len(units),
                      "elbo": np.nan, "elbo_diff": np.nan, "start": self._it_start}
            history.append(record)
            bar.update()
            if not due:
                continue
            elbo = self._timed("elbo", self.elbo)
            diff = elbo - lb_old
            record.update(elbo=elbo, elbo_diff=diff)
            self.elbo_history_.append(elbo)
            self.elbo_iterations_.append(it)
            log.info("iteration %d: ELBO %.6f, diff %.3g, %d/%d responses swept", it, elbo, diff,
                     len(units), q)
            if diff < -ELBO_DROP_TOL * max(1.0, 1e-6 * abs(elbo)):
                warnings.warn(f"atlasQTL: the ELBO fell by {-diff:.3g} at iteration {it}",
                              ConvergenceWarning, stacklevel=3)
            within = schedule.update(diff, it0 if in_partial else 0)
            lb_old = elbo
            if within and (len(units) == q or not self.final_full_sweep):
                stop = "converged"
                break
            # a partial iteration met the tolerance: confirm with one sweep over all responses
            final_sweep = within
        self._close_record(history)
        bar.close()
        self.n_iter_ = it
        self._last_diff = diff
        return stop, history

    def _store(self, stop, history, t_start):
        d, s = self._data, self._s
        self.gamma_ = s.g.T.copy()
        self.beta_ = s.bbar.T.copy()
        self.beta_per_allele_ = self.beta_ / d.sd[:, None]
        if s.c_s2b is not None:  # every row, as the last step 3 gave it
            self.update_slab_variance(s.c_s2b, np.arange(d.shape[2], dtype=np.int64))
        self.mu_, self.s2b_ = s.mu.T.copy(), s.s2b.T.copy()
        self.theta_, self.s2theta_, self.zeta_ = s.theta.copy(), s.s2theta.copy(), s.zeta.copy()
        self.tau_, self.sigma2_inv_, self.sigma0_inv_ = s.tau.copy(), s.sig2_inv, s.sig0_inv
        self.lambda2_inv_ = s.lam2_inv.copy()
        self.elbo_history_ = np.asarray(self.elbo_history_)
        self.elbo_iterations_ = np.asarray(self.elbo_iterations_, dtype=np.int64)
        self.variant_names_, self.response_names_ = d.variant_names, d.response_names
        self.removed_constant_, self.removed_collinear_ = d.removed_constant, d.removed_collinear
        seconds = time.perf_counter() - t_start
        self.seconds_["total"] = seconds
        elbo = float(self.elbo_history_[-1]) if len(self.elbo_history_) else np.nan
        self.result_ = QTLResult(stop == "converged", stop, self.n_iter_, elbo,
                                 float(self._last_diff), seconds, history)
        if stop != "converged":
            warnings.warn(f"atlasQTL did not converge in {self.max_iter} iterations (last ELBO "
                          f"difference {self._last_diff:.3g})", ConvergenceWarning, stacklevel=3)
        log.info("atlasQTL (%s): %s after %d iterations, ELBO %.4f, %.1f s", self.cavi, stop,
                 self.n_iter_, elbo, seconds)
        del self._s
