"""VIPRS: sparse Bayesian regression on GWAS summary statistics by variational EM.

Implements prs_vi.md sections 2-6 for three priors: spike-and-slab, the sparse Gaussian mixture
and the frequency-dependent (alpha) spike-and-slab. The E-step is the compiled kernel
``_kernels._e_step`` (NumPy twin in ``_reference.py``); the M-step and the ELBO use only b, eta,
zeta, q, gamma, mu and v, so one iteration reads the LD matrix once.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from vibank.errors import VibankError
from vibank.ld import LDRows
from vibank.ld.spectral import column_space, treatable
from vibank.prs._kernels import _e_step
from vibank.prs.guards import fit_flags
from vibank.prs.ld_noise import LD_NOISE, effective_sample_size

log = logging.getLogger(__name__)

PRIORS = ("spike_slab", "mixture", "alpha")
HYPERPARAMETERS = ("pi", "sigma2_beta", "sigma2_eps", "alpha")
#: an ELBO falling by more than this (relative) is divergence, not rounding
DIVERGENCE_TOL = 1e-3
#: added to -lambda_min when regularising a block that is not positive semi-definite
RIDGE_MARGIN = 0.01
#: if the eigenvalue-based ridge is not enough, restart with these ridge floors in turn
RIDGE_ESCALATION = (0.1, 0.5, 1.0, 2.0)
#: lazy sweeps hold back changes below min(lazy_tol, this x the previous sweep's max |delta eta|),
#: so the lag shrinks as the fit converges and the exact sweeps after the flush have little to do
LAZY_FRACTION = 0.1
#: accelerations of the exact sweeps' fixed point (``VIPRS(accelerate=...)``)
ACCELERATIONS = ("squarem", "none")
#: SQUAREM extrapolates only once an exact sweep moved no eta by more than this: the early
#: sweeps choose the basin (from the start, extrapolation can jump to another local optimum,
#: of higher ELBO but further from the truth on rank-deficient panel LD); after it, it only
#: shortens the crawl to the fixed point the plain iterations reach (the same ELBO to 1e-4 on
#: chromosomes 12-22 and on tests/unit/test_ld_noise.py's regimes, in 0.58x the iterations)
SQUAREM_START = 1e-3
#: SQUAREM: the largest step length grows (and after a rejected extrapolation shrinks) by this
SQUAREM_STEP_GROWTH = 4.0
#: bounds of the fitted alpha (prs_vi.md section 2)
ALPHA_BOUNDS = (-1.5, 0.5)


@dataclass
class FitResult:
    """Convergence record of a fit (viprs ``OptimizeResult`` habit)."""

    success: bool
    stop_reason: str
    n_iter: int
    elbo: float
    seconds: float
    history: list = field(default_factory=list)
    #: (name, sentence) of each guard that fired (``vibank.prs.guards``)
    flags: list = field(default_factory=list)


def std_beta_from_z(z, n):
    """b_j = z_j / sqrt(N_j + z_j^2) (Mak et al. 2017), prs_vi.md section 1."""
    z, n = np.asarray(z, float), np.asarray(n, float)
    return z / np.sqrt(n + z**2)


def ldsc_h2(std_beta, n_per_variant, ld_score):
    """SNP heritability from the LD-score regression slope with intercept 1 (prs_vi.md
    section 6): h2 = M (mean chi2 - 1) / (N mean l), N the median N_j, chi2_j = b_j^2 N_j /
    (1 - b_j^2), clipped to [1e-3, 0.9]. The initial h2 of VIPRS and LDpred-inf's h2.

    ``ld_score``: the variants' LD scores l_j, or their mean. Lists (one array per chromosome)
    are joined."""
    if isinstance(std_beta, (list, tuple)):
        std_beta, n_per_variant = np.concatenate(std_beta), np.concatenate(n_per_variant)
    if isinstance(ld_score, (list, tuple)):
        ld_score = np.concatenate(ld_score)
    b, n = np.asarray(std_beta, float), np.asarray(n_per_variant, float)
    chi2 = b**2 * n / np.maximum(1 - b**2, 1e-12)
    h2 = len(b) * (chi2.mean() - 1) / (np.median(n) * np.mean(ld_score))
    return float(np.clip(h2, 1e-3, 0.9))


def join_chromosomes(std_beta, n_per_variant, ld, *, allele_frequency=None):
    """The per-chromosome inputs of a joint fit as one set (what ``VIPRS.fit`` does with lists).

    Returns a dict with ``std_beta``, ``n_per_variant``, ``ld`` (``LDRows.concatenate``: its
    ``parts`` are the chromosomes' sizes, its eigenvalue blocks in the joint indices) and
    ``allele_frequency`` (None when not given). ``VIPRS.fit(**joined)`` equals the fit on the
    lists; joining once serves every fit of a grid search.
    """
    ld = LDRows.concatenate(ld)
    n_per_variant = np.concatenate([np.broadcast_to(np.asarray(n, float), (s,))
                                    for n, s in zip(n_per_variant, ld.parts)])
    if allele_frequency is not None:
        allele_frequency = np.concatenate(allele_frequency)
    return {"std_beta": np.concatenate(std_beta), "n_per_variant": n_per_variant, "ld": ld,
            "allele_frequency": allele_frequency}


class VIPRS:
    """Variational sparse Bayesian PRS fitted by coordinate-ascent VI with variational EM.

    Parameters
    ----------
    prior : {"spike_slab", "mixture", "alpha"}
        spike_slab: beta_j ~ pi N(0, s2b) + (1 - pi) delta_0.
        mixture: beta_j ~ sum_k pi_k N(0, s2_k) + pi_0 delta_0, K = ``n_components`` slabs
        starting at s2_k = d_k s2b, d_k = 10^-(k-1).
        alpha: spike-and-slab with slab variance s2b [2 p_j (1 - p_j)]^(1 + alpha) on the
        standardised scale (needs ``allele_frequency`` in ``fit``); alpha = -1 is spike_slab.
    pi, sigma2_beta, sigma2_eps : float or None, keyword-only
        Initial hyperparameters (None: prs_vi.md section 6 defaults). For the mixture ``pi`` is
        the total non-null weight, split equally over the components (or give K values), and
        ``sigma2_beta`` the variance of the first (widest) component.
    n_components : int, slabs of the mixture prior (default 4)
    update_components : bool, mixture M-step: update each s2_k (True) or keep the multipliers
        d_k fixed and update only s2b (False)
    alpha : float, initial or fixed alpha of the alpha prior (default -0.25)
    fix : tuple of str
        Hyperparameters kept at their initial value instead of updated in the M-step, from
        "pi", "sigma2_beta", "sigma2_eps", "alpha" (alpha is fixed unless ``fit_alpha``).
    fit_alpha : bool, fit alpha in the M-step by maximising ELBO - alpha^2 / 2 (L-BFGS-B on
        [-1.5, 0.5]); the objective then reported as ELBO includes the penalty
    max_iter : int
    tol_elbo : float, relative ELBO tolerance (absolute floor ``tol_elbo_abs``)
    tol_eta : float, tolerance on max |delta eta|
    lazy_tol : float, lazy neighbour updates: a variant's change of eta reaches its neighbours'
        q only once it has grown to min(lazy_tol, ``LAZY_FRACTION`` x the previous sweep's max
        |delta eta|, not below ``LAZY_FRACTION`` x tol_eta) (0, the default: every change at
        once, the exact coordinate ascent of section 3). When the lazy sweeps meet the
        convergence test, the pending changes are applied (q = R eta again) and the fit goes on
        with exact sweeps until they meet it too: it ends at a fixed point of the exact sweep,
        reached by another path (where the ELBO has several local optima it may be another
        one). Lazy sweeps skip the LD rows of the many variants that barely move (cheaper grid
        fits); at max_iter the pending changes are applied too. On LD of layout "upper"
        (``LDRows.from_upper(layout="upper")``, the strict upper triangle alone) lazy updates
        are not available and the fit runs exact sweeps, logged; give ``ld.symmetric()`` to
        have them.
    initial_ridge : {"none", "block"}, the ridge of the first run. "none" (default): no ridge;
        the block ridge comes only after a divergence (section 6). "block": start with the block
        ridge where the LD's eigenvalue blocks (``LDRows.block_eigenvalues``) show
        blocks that are not positive semi-definite: the fit the default reaches when its first
        run, without a ridge, diverges (as it does on such LD in practice; in a grid search
        that wasted run recurs at every point). Positive semi-definite blocks get no ridge.
    ld_noise : {"auto", "none"}, the LD-reference noise term (``vibank.prs.ld_noise``):
        "auto" (default), when the LD records its panel size n_ref (LD stores do): each N_j
        becomes the effective sample size 1 / (1 / N_j + h2_w / n_ref), so a GWAS far larger
        than the LD panel is not fitted as if the panel's LD were exact, and block LD is
        restricted to the panel's column space (``vibank.ld.spectral``: the statistics
        projected on each block's eigenvectors of positive eigenvalue), which keeps the
        likelihood proper where a block has more variants than the panel has people;
        "none": N_j as given and the LD as it is
    accelerate : {"squarem", "none"}, the exact iterations' fixed point: "squarem" (default)
        extrapolates it every third iteration once the sweeps have settled (max |delta eta|
        below ``SQUAREM_START``): SQUAREM, Varadhan & Roland 2008, scheme S3: two VEM
        iterations, a step along their differences in eta and the log hyperparameters, one
        stabilising iteration, the step undone when it lowers the ELBO. Where coordinate
        ascent crawls along a ridge of strongly correlated variants (hundreds of sweeps on a
        biobank genome) it reaches the plain iterations' fixed point in fewer iterations, to
        the same stopping rule; each iteration is still a whole sweep. "none": plain VEM
        iterations. Lazy sweeps are never extrapolated.
    n_threads : int, OpenMP threads of the E-step, over independent LD segments
    dtype : numpy.float64 or numpy.float32, precision of the variational parameters
    progress : show a tqdm progress bar over the iterations

    Attributes (after fit)
    ----------------------
    eta_, pip_ : posterior mean and inclusion probability (sum over the slabs) per variant
    gamma_, mu_, var_mu_ : (M, K) per-slab responsibilities, means and variances
    var_beta_ : posterior variance of each effect, zeta - eta^2
    pi_, sigma2_beta_, sigma2_eps_, h2_ : total non-null weight, first-slab variance, residual
        variance, SNP heritability; ``pi_components_``, ``sigma2_components_`` per slab; ``alpha_``
    initial_hyperparameters_ : the starting pi, sigma2_beta, sigma2_eps and alpha of the last run
    ridge_ : per-variant ridge added to the diagonal of R (0 unless the fit needed it)
    elbo_history_ : ELBO after every iteration (also after a rejected SQUAREM extrapolation, whose
        state was then undone: ``result_.history`` marks each one in its "squarem" field)
    h2_parts_ : after a fit on a list of chromosomes, each one's share of h2_
    h2_ldsc_ : the LD-score-regression h2 of the statistics (the initial h2, and a guard's yardstick)
    n_gwas_ : the GWAS sample size of each variant, as given
    dropped_dimensions_ : eigenvalues of the block LD dropped by the column-space treatment
    n_eff_ : the sample size of each variant the likelihood used (N_j, or N_eff_j with ``ld_noise``)
    flags_ : names of the guards that fired (``result_.flags`` holds their sentences)
    segments_ : boundaries of the independent LD segments the E-step ran in parallel
    result_ : FitResult
    """

    def __init__(self, prior="spike_slab", *, pi=None, sigma2_beta=None, sigma2_eps=None,
                 n_components=4, update_components=True, alpha=-0.25, fix=(), fit_alpha=False,
                 max_iter=1000, tol_elbo=1e-6, tol_elbo_abs=1e-3, tol_eta=1e-6, lazy_tol=0.0,
                 initial_ridge="none", ld_noise="auto", accelerate="squarem", n_threads=1,
                 dtype=np.float64, progress=False):
        self.prior = prior
        self.pi = pi
        self.sigma2_beta = sigma2_beta
        self.sigma2_eps = sigma2_eps
        self.n_components = n_components
        self.update_components = update_components
        self.alpha = alpha
        self.fix = fix
        self.fit_alpha = fit_alpha
        self.max_iter = max_iter
        self.tol_elbo = tol_elbo
        self.tol_elbo_abs = tol_elbo_abs
        self.tol_eta = tol_eta
        self.lazy_tol = lazy_tol
        self.initial_ridge = initial_ridge
        self.ld_noise = ld_noise
        self.accelerate = accelerate
        self.n_threads = n_threads
        self.dtype = dtype
        self.progress = progress

    # -- set-up ---------------------------------------------------------------------------
    def _validate(self, std_beta, n_per_variant, shape, allele_frequency):
        b = np.asarray(std_beta, dtype=np.float64)
        n = np.broadcast_to(np.asarray(n_per_variant, dtype=np.float64), b.shape)
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, not {self.prior!r}")
        if b.ndim != 1 or shape != (len(b), len(b)):
            raise ValueError(f"LD is {shape} but there are {len(b)} variants")
        if not (np.all(np.isfinite(b)) and np.all(n > 0)):
            raise ValueError("std_beta must be finite and N positive")
        if not (np.isfinite(self.lazy_tol) and self.lazy_tol >= 0):
            raise ValueError(f"lazy_tol must be a number >= 0, not {self.lazy_tol!r}")
        if self.initial_ridge not in ("none", "block"):
            raise ValueError(f"initial_ridge must be 'none' or 'block', not {self.initial_ridge!r}")
        if self.accelerate not in ACCELERATIONS:
            raise ValueError(f"accelerate must be one of {ACCELERATIONS}, not {self.accelerate!r}")
        if self.ld_noise not in LD_NOISE:
            raise ValueError(f"ld_noise must be one of {LD_NOISE}, not {self.ld_noise!r}")
        unknown = set(self.fix) - set(HYPERPARAMETERS)
        if unknown:
            raise ValueError(f"fix: unknown hyperparameters {sorted(unknown)}")
        k = self.n_components if self.prior == "mixture" else 1
        if not 1 <= k <= _e_step.MAX_COMPONENTS:
            raise ValueError(f"n_components must be in [1, {_e_step.MAX_COMPONENTS}]")
        if self.prior == "alpha":
            if allele_frequency is None:
                raise ValueError("the alpha prior needs allele_frequency")
            p = np.asarray(allele_frequency, dtype=np.float64)
            if p.shape != b.shape or not np.all((p > 0) & (p < 1)):
                raise ValueError("allele_frequency must hold one value in (0, 1) per variant")
            self._het = 2 * p * (1 - p)
        else:
            self._het = None
        return b, np.ascontiguousarray(n), k

    def _slab_weights(self):
        """w_j: the slab variance of variant j is s2_k w_j (alpha prior), else w_j = 1."""
        if self._het is None:
            return np.ones(len(self._b))
        return self._het ** (1 + self.alpha_)

    def _initial_hyperparameters(self):
        """pi_k, s2_k, s2e from prs_vi.md section 6 (h2_0 from the LD-score regression slope)."""
        k = self._k
        h2 = self.h2_ldsc_
        pi = np.asarray(self.pi if self.pi is not None else 0.01, dtype=np.float64)
        pis = np.full(k, pi / k) if pi.ndim == 0 else pi.copy()
        if pis.shape != (k,) or pis.sum() >= 1 or np.any(pis <= 0):
            raise ValueError(f"pi must be a total in (0, 1) or {k} positive weights summing below 1")
        multipliers = 10.0 ** -np.arange(k)
        s2e = self.sigma2_eps if self.sigma2_eps is not None else 1 - h2
        if self.sigma2_beta is not None:
            s2b = self.sigma2_beta
        else:  # expected genetic variance sum_j sum_k pi_k s2_k w_j equals h2_0
            s2b = h2 / (np.sum(pis * multipliers) * self._slab_weights().sum())
        return pis, float(s2b) * multipliers, float(s2e)

    # -- the steps ------------------------------------------------------------------------
    def _slab_variances(self):
        """(M, K) prior variance s2_k w_j of each slab for each variant; (1, K) when w_j = 1
        (broadcasts the same way, without an (M, K) array at every iteration)."""
        if self._het is None:
            return self._s2[None, :]
        return np.outer(self._slab_weights(), self._s2)

    def e_step(self):
        """One coordinate-ascent sweep (compiled kernel); returns max |delta eta|."""
        s2e = self.sigma2_eps_
        s2 = self._slab_variances()
        # with a ridge lambda the diagonal of R is 1 + lambda: N_j (1 + lambda) in v_j;
        # v = s2e / (N d + s2e / s2) and log_prior = log pi + log(v / s2) / 2 in work arrays
        nd = np.multiply(self._n, self._diag, out=self._scratch("nd", self._n.shape))
        work = self._scratch("mk", self._var_mu.shape)
        np.divide(s2e, s2, out=work)
        np.add(nd[:, None], work, out=work)
        np.divide(s2e, work, out=work)
        self._var_mu[:] = work
        np.divide(self._var_mu, s2, out=work)
        np.log(work, out=work)
        work *= 0.5
        work += np.log(self._pis)
        log_prior = self._scratch("log_prior", work.shape, self.dtype)
        log_prior[:] = work
        log_null = float(np.log1p(-self._pis.sum()))
        self._cached_moments = None
        return _e_step.e_step(
            self._ld, self._b, self._n, self._var_mu, log_prior, log_null,
            self._gamma, self._mu, self._eta, self._q, s2e, self.n_threads, self._pending,
            self._lazy_threshold())

    def _scratch(self, name, shape, dtype=np.float64):
        """A work array of ``shape`` kept between iterations (not its values): at every step of
        a genome-wide fit fresh (M, K) temporaries cost more in page faults than in arithmetic.
        The arithmetic done in them is the same, operation by operation."""
        work = self.__dict__.setdefault("_work", {})
        array = work.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = work[name] = np.empty(shape, dtype)
        return array

    def _gamma64(self):
        """gamma in float64: the state itself, or its copy in a work array."""
        if self._gamma.dtype == np.float64:
            return self._gamma
        gamma = self._scratch("gamma", self._gamma.shape)
        gamma[:] = self._gamma
        return gamma

    def _lazy_threshold(self):
        """The lazy sweep's tolerance (0: exact sweep)."""
        if not self._lazy:
            return 0.0
        # changes far below tol_eta cannot decide convergence; with float32 state the rounding
        # of eta alone moves every variant by about that much at each sweep
        return min(self.lazy_tol, LAZY_FRACTION * max(self._last_delta, self.tol_eta))

    def flush(self):
        """Apply the lazy sweeps' pending changes of eta to q, so q = R_offdiag eta again."""
        self._cached_moments = None  # q changes
        return _e_step.flush(self._ld, self._pending, self._q, self.n_threads)

    def _moments(self):
        """eta and zeta = E[beta^2] per variant (kept until the next E-step changes them)."""
        return self._moment_arrays()[:2]

    def _second_moments(self):
        """(M, K) mu_jk^2 + v_jk in float64, E[beta_j^2] given slab k (kept with the moments)."""
        return self._moment_arrays()[2]

    def _moment_arrays(self):
        # float64 views where the state already is float64 (the VEM default): each of these
        # passes over ~1e6 variants costs milliseconds at every iteration of a genome-wide fit
        if self._cached_moments is None:
            eta = np.asarray(self._eta, np.float64)
            second = np.square(np.asarray(self._mu, np.float64))
            second += self._var_mu
            if self._k == 1:
                zeta = self._gamma[:, 0] * second[:, 0]
            else:
                zeta = np.einsum("jk,jk->j", self._gamma, second)
            self._cached_moments = eta, zeta, second
            self._cached_fit = None
        return self._cached_moments

    def _fit_term(self):
        """E||y - X beta||^2 / N from sufficient statistics: 1 - 2 b'eta + sum d zeta + eta'q,
        of the current moments (the M-step and the ELBO share it: kept with them)."""
        return self._fit_parts()[0]

    def _h2(self):
        """h2 = E[beta'R beta] = sum d zeta + eta'q of the current moments."""
        return self._fit_parts()[1]

    def _fit_parts(self):
        eta, zeta = self._moments()
        if self._cached_fit is None:
            # einsum reads q in the state's type without a float64 copy of it (a fresh 9 MB
            # array per iteration of a genome-wide fit, most of its cost in page faults)
            h2 = float(zeta @ self._diag + np.einsum("j,j->", eta, self._q))
            self._cached_fit = 1 - 2 * float(self._b @ eta) + h2, h2
        return self._cached_fit

    def _kl_beta(self, s2):
        """sum_jk gamma_jk / 2 [1 + log(v_jk / s2_jk) - (mu_jk^2 + v_jk) / s2_jk]."""
        inner = np.divide(self._var_mu, s2, out=self._scratch("kl", self._var_mu.shape))
        np.log(inner, out=inner)
        inner += 1
        inner -= np.divide(self._second_moments(), s2, out=self._scratch("mk", inner.shape))
        return 0.5 * float(np.einsum("jk,jk->", self._gamma, inner))

    def m_step(self):
        """Closed-form hyperparameter updates (section 4), within their bounds; then alpha."""
        eta, zeta = self._moments()
        m = len(eta)
        gamma = self._gamma64()
        if "pi" not in self.fix:
            pis = np.maximum(gamma.mean(axis=0), 1e-12)
            self._pis = pis * np.clip(pis.sum(), 1 / m, 1 - 1 / m) / pis.sum()
        if "sigma2_beta" not in self.fix:
            weighted = np.multiply(gamma, self._second_moments(),
                                   out=self._scratch("mk", gamma.shape))
            if self._het is not None:
                weighted /= self._slab_weights()[:, None]
            if self.update_components:
                self._s2 = np.maximum(weighted.sum(0) / np.maximum(gamma.sum(0), 1e-12), 1e-12)
            else:  # multipliers d_k fixed: one scale s2b
                d = self._s2 / self._s2[0]
                s2b = np.sum(weighted / d) / max(gamma.sum(), 1e-12)
                self._s2 = max(s2b, 1e-12) * d
        if "sigma2_eps" not in self.fix:
            self.sigma2_eps_ = float(np.clip(self._fit_term(), 1e-6, 1.0))
        if self.fit_alpha and "alpha" not in self.fix:
            self.update_alpha()

    def update_alpha(self):
        """alpha (and s2b with it) maximising ELBO - alpha^2 / 2 given the variational factors:
        only the slab KL term depends on them; s2b has a closed form for each alpha."""
        gamma = np.asarray(self._gamma[:, 0], np.float64)
        second = gamma * self._second_moments()[:, 0]
        log_het = np.log(self._het)

        def objective(a):
            w = np.exp((1 + a[0]) * log_het)
            s2b = max(np.sum(second / w) / max(gamma.sum(), 1e-12), 1e-12)
            return -(self._kl_beta(np.outer(w, [s2b])) - 0.5 * a[0] ** 2)

        res = minimize(objective, [self.alpha_], method="L-BFGS-B", bounds=[ALPHA_BOUNDS])
        if -res.fun >= -objective([self.alpha_]):
            self.alpha_ = float(res.x[0])
            w = self._slab_weights()
            if "sigma2_beta" not in self.fix:
                self._s2 = np.array([max(np.sum(second / w) / max(gamma.sum(), 1e-12), 1e-12)])

    def elbo(self):
        """Evidence lower bound (section 5), N = median N_j (minus alpha^2/2 when alpha is fitted)."""
        n = self._n_median
        s2e = self.sigma2_eps_
        fit = self._fit_term()
        ll = -0.5 * n * np.log(2 * np.pi * s2e) - n / (2 * s2e) * fit
        gamma = self._gamma64()
        m = len(gamma)
        null = self._scratch("null", (m,))
        if self._k == 1:
            np.subtract(1.0, gamma[:, 0], out=null)
        else:
            np.subtract(1.0, gamma.sum(axis=1), out=null)
        np.maximum(null, 0.0, out=null)
        # sum_jk g_jk log(prior_k / g_jk) = sum_k log(prior_k) sum_j g_jk - sum_jk g_jk log g_jk
        g = np.clip(gamma, 1e-10, 1 - 1e-10, out=self._scratch("mk", gamma.shape))
        g_null = np.clip(null, 1e-10, 1 - 1e-10, out=null)
        g_log_g = np.log(g, out=self._scratch("kl", g.shape))
        g_log_g *= g
        kl_gamma = (np.log1p(-self._pis.sum()) * g_null.sum() + np.log(self._pis) @ g.sum(axis=0)
                    - np.sum(g_log_g)
                    - g_null @ np.log(g_null, out=self._scratch("null_log", (m,))))
        elbo = float(ll + kl_gamma + self._kl_beta(self._slab_variances()))
        if self.fit_alpha and "alpha" not in self.fix:
            elbo -= 0.5 * self.alpha_**2
        return elbo

    # -- the loop -------------------------------------------------------------------------
    def fit(self, std_beta, n_per_variant, ld, *, allele_frequency=None, mean_ld_score=None,
            label="chromosome"):
        """Fit on one chromosome, or jointly on several with shared hyperparameters.

        The likelihood uses the effective sample size of each variant (``ld_noise``). If the
        fit still diverges (non-finite values, h2 outside [0, 1], or a falling ELBO), which a
        non positive semi-definite LD matrix from a small panel can do, each block of 2,000
        variants gets a ridge lambda_b = -min eigenvalue_b + 0.01 (R + lambda_b I), which
        depends on the LD alone, and the fit restarts; if it still diverges, the ridge is raised
        to at least 0.1, 0.5, 1 and 2 in turn, everywhere. Each restart is logged, the ridge
        kept in ``ridge_`` and flagged (``flags_``, with the other guards of
        ``vibank.prs.guards``). A fit that still diverges raises VibankError and no result is
        kept.

        Parameters
        ----------
        std_beta : (M,) standardised marginal effects b_j, or a list of them (one per chromosome)
        n_per_variant : (M,) or scalar GWAS sample sizes N_j, or a list
        ld : R without its diagonal as :class:`vibank.ld.LDRows` (or what ``LDRows.of``
            accepts), with its scale and per-block eigenvalues (a block's smallest eigenvalue
            sets its ridge; computed in blocks of 2,000 when needed and absent). A list of them
            fits the chromosomes jointly (``LDRows.concatenate``): one set of hyperparameters,
            the E-steps of the chromosomes in parallel, the results concatenated in the given
            order, and ``h2_parts_`` each chromosome's share of h2 (also after a fit on an LD
            that ``join_chromosomes`` joined).
        allele_frequency : (M,) allele frequencies (or MAF), or a list; needed by the alpha prior
        mean_ld_score : ``ld.mean_ld_score()`` when already known (computed when not given: it
            reads the whole LD once)
        label : name of the data in messages (e.g. "chromosome 3")

        Returns
        -------
        self
        """
        t0 = time.perf_counter()
        if isinstance(ld, (list, tuple)):
            joined = join_chromosomes(std_beta, n_per_variant, ld,
                                      allele_frequency=allele_frequency)
            std_beta, n_per_variant, ld = joined["std_beta"], joined["n_per_variant"], joined["ld"]
            allele_frequency = joined["allele_frequency"]
        ld = LDRows.of(ld)
        b, n, self._k = self._validate(std_beta, n_per_variant, ld.shape, allele_frequency)
        self._ld = ld
        self.segments_ = ld.segments
        # BLAS held to one thread for the whole fit: the LD score, the M-step and the ELBO are
        # dot products, and a threaded BLAS would fight the E-step's OpenMP threads for the cores
        # (measured: 4x slower iterations at 2 threads on 2 cores) and sum in another order with
        # another thread count (same config, other core count: other last digits)
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit(b, n, ld, mean_ld_score, label, t0)
        return self

    def _fit(self, b, n, ld, mean_ld_score, label, t0):
        """The fit after validation (``fit``), BLAS on one thread."""
        if mean_ld_score is None:
            mean_ld_score = ld.mean_ld_score()
        self.h2_ldsc_ = ldsc_h2(b, n, mean_ld_score)
        self.n_gwas_ = n
        noise = self.ld_noise == "auto" and ld.n_ref is not None
        self.n_eff_ = effective_sample_size(n, ld, self.h2_ldsc_) if noise else n
        if noise:
            log.info("%s: LD from a panel of %d people against a GWAS of N = %.4g: the likelihood "
                     "uses the effective sample size N_eff (median %.4g; LD-reference noise)",
                     label, int(np.median(ld.n_ref)), np.median(n), np.median(self.n_eff_))
        self.dropped_dimensions_ = 0
        if noise and treatable(ld):
            space = column_space(ld)
            b, ld, self.dropped_dimensions_ = space.project(b), space.rows, space.dropped
            self._ld = ld
            log.info("%s: block LD in the panel's column space (%d of %d dimensions dropped)",
                     label, space.dropped, ld.n_variants)
        if self.lazy_tol > 0 and self._ld.layout == "upper":
            log.info("%s: LD in upper band rows: exact E-step sweeps instead of lazy ones "
                     "(lazy_tol %g needs LDRows.symmetric())", label, self.lazy_tol)
        self._b, self._n = b.astype(self.dtype), self.n_eff_.astype(self.dtype)
        self._n_median = float(np.median(self._n))
        stop, history = self._run_with_ridges(t0, label)
        self._store_results(stop, history, t0)
        for name, sentence in self.result_.flags:
            log.warning("VIPRS (%s) %s: %s [%s]", self.prior, label, sentence, name)
        if ld.parts is not None:  # each chromosome's share of h2 (its zeta and eta'q terms)
            eta, zeta = self._moments()
            terms = zeta * self._diag + eta * self._q
            bounds = np.cumsum([0] + ld.parts)
            self.h2_parts_ = [float(terms[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:])]
        log.info("VIPRS (%s) %s: %s after %d iterations, ELBO %.4f, h2 %.4f, pi %.3g", self.prior,
                 label, stop, len(history), self.result_.elbo, self.h2_, self.pi_)

    def _store_results(self, stop, history, t0):
        eta, zeta = self._moments()
        self.eta_ = self._eta
        self.gamma_, self.mu_, self.var_mu_ = self._gamma, self._mu, self._var_mu
        self.pip_ = self._gamma.sum(axis=1)
        self.var_beta_ = zeta - eta**2
        self.h2_ = self._h2()
        # the ELBO of the state kept (after a rejected extrapolation, not the last one recorded)
        elbo = self.elbo()
        self.__dict__.pop("_work", None)
        flags = fit_flags(h2=self.h2_, h2_ldsc=self.h2_ldsc_, sigma2_eps=self.sigma2_eps_,
                          elbo=elbo, stop=stop,
                          h2_history=[h["h2"] for h in history], ridge_max=float(self.ridge_.max()))
        self.result_ = FitResult(stop == "converged", stop, len(history), elbo,
                                 time.perf_counter() - t0, history, flags)

    @property
    def flags_(self):
        return [name for name, _ in self.result_.flags]

    @property
    def pi_(self):
        return float(self._pis.sum())

    @property
    def pi_components_(self):
        return self._pis.copy()

    @property
    def sigma2_beta_(self):
        return float(self._s2[0])

    @property
    def sigma2_components_(self):
        return self._s2.copy()

    def _block_ridge(self):
        """Per-variant ridge: -min eigenvalue + 0.01 for blocks that are not PSD, else 0."""
        ridge = np.zeros(len(self._b))
        for block in self._ld.block_eigenvalues(n_threads=self.n_threads):
            if block["min"] < 0:
                ridge[block["start"]:block["stop"]] = -block["min"] + RIDGE_MARGIN
        return ridge

    def _run_with_ridges(self, t0, label):
        """Runs from the initial state until one does not diverge: without a ridge (or with the
        block ridge, ``initial_ridge="block"``), then the block ridge, then escalating ridges
        (section 6); raises VibankError when the last one diverges too."""
        started = self._block_ridge() if self.initial_ridge == "block" else None
        self.ridge_ = np.zeros(len(self._b)) if started is None else started
        if started is not None and started.any():
            log.info("the LD matrix of %s is not positive semi-definite: starting with a block "
                     "ridge (lambda up to %.4g)", label, started.max())
        stop, history = self._run(t0)
        psd = True
        if stop == "diverged":
            if started is None:
                self.ridge_ = self._block_ridge()
            psd = not self.ridge_.any()
            if psd:
                log.warning("VIPRS diverged on %s although its LD matrix is positive "
                            "semi-definite: the summary statistics disagree with the panel's LD "
                            "(out-of-sample LD); restarting with a ridge", label)
            elif started is not None:
                log.warning("VIPRS diverged on %s with the block ridge (lambda up to %.4g)",
                            label, self.ridge_.max())
            else:
                log.warning("VIPRS diverged on %s: the LD matrix is not positive semi-definite; "
                            "restarting with a block ridge (lambda up to %.4g)", label,
                            self.ridge_.max())
                stop, history = self._run(t0)
        for floor in RIDGE_ESCALATION:
            if stop != "diverged":
                break
            if np.all(self.ridge_ >= floor):
                continue  # this floor would not change the ridge: the same run would diverge again
            # the panel's LD and the GWAS sample disagree more than the smallest eigenvalue
            # shows (typical when N is large against the panel): strengthen the ridge everywhere
            self.ridge_ = np.maximum(self.ridge_, floor)
            log.warning("VIPRS still diverged on %s; restarting with a ridge of at least %.3g",
                        label, floor)
            stop, history = self._run(t0)
        if stop == "diverged":
            kind = "is" if psd else "is not"
            raise VibankError(f"VIPRS diverged on {label} even with a ridge of up to "
                              f"{self.ridge_.max():.4g} (the LD matrix {kind} positive "
                              "semi-definite); check the summary statistics against the LD panel "
                              "(allele coding, sample size) or use the mismatch filter")
        return stop, history

    def _run(self, t0):
        """VEM from the initial state until convergence, max_iter or divergence (BLAS held to
        one thread by the caller, ``fit``)."""
        m, k = len(self._b), self._k
        self._diag = (1.0 if self._ld.diagonal is None else self._ld.diagonal) + self.ridge_
        self.alpha_ = float(self.alpha) if self.prior == "alpha" else -1.0
        self._pis, self._s2, self.sigma2_eps_ = self._initial_hyperparameters()
        self.initial_hyperparameters_ = {"pi": self.pi_, "sigma2_beta": self.sigma2_beta_,
                                         "sigma2_eps": self.sigma2_eps_, "alpha": self.alpha_}
        self._gamma = np.tile(self._pis.astype(self.dtype), (m, 1))
        self._mu = np.zeros((m, k), dtype=self.dtype)
        self._var_mu = np.zeros((m, k), dtype=self.dtype)
        self._eta = np.zeros(m, dtype=self.dtype)
        self._q = np.zeros(m, dtype=self.dtype)
        self._pending = np.zeros(m, dtype=self.dtype)
        # upper rows: exact sweeps only (q then holds 2 L, with the same eta'q: _kernels/_upper)
        self._lazy = self.lazy_tol > 0 and self._ld.layout != "upper"
        self._last_delta = np.inf  # max |delta eta| of the previous sweep
        self._cached_moments = None
        self.elbo_history_, self._history = [], []
        self._step_max = 1.0  # SQUAREM's largest step length (grows while steps reach it)
        stop, previous, it = None, -np.inf, 0
        self._progress = tqdm(total=self.max_iter, desc="VIPRS", unit="it", leave=False,
                              disable=not self.progress)
        while stop is None and it < self.max_iter:
            if (self.accelerate == "squarem" and not self._lazy
                    and self._last_delta < SQUAREM_START):
                stop, it, previous = self._squarem_cycle(it, previous, t0)
                continue
            it += 1
            elbo, max_delta, h2 = self._iterate(it, t0)
            stop = self._check(it, elbo, previous, max_delta, h2)
            previous = elbo
        self._progress.close()
        stop = stop or "max_iter"
        history = self._history
        if self._lazy:  # max_iter or divergence during the lazy sweeps: q = R eta at the end
            self.flush()
            self._lazy = False
            self.elbo_history_[-1] = history[-1]["elbo"] = self.elbo()
            history[-1]["h2"] = self._h2()
        return stop, history

    def _iterate(self, it, t0, squarem=""):
        """One VEM iteration (E-step sweep, M-step, ELBO), recorded in the history; returns
        (ELBO, max |delta eta|, h2)."""
        max_delta = self._last_delta = self.e_step()
        self.m_step()
        elbo = self.elbo()
        h2 = self._h2()
        self.elbo_history_.append(elbo)
        self._history.append({"iteration": it, "elbo": elbo, "pi": self.pi_,
                              "sigma2_beta": self.sigma2_beta_, "sigma2_eps": self.sigma2_eps_,
                              "h2": h2, "max_delta_eta": max_delta, "lazy": self._lazy,
                              "squarem": squarem, "seconds": time.perf_counter() - t0})
        if self.prior == "alpha":
            self._history[-1]["alpha"] = self.alpha_
        log.info("iteration %d: ELBO %.6f, h2 %.4f, pi %.3g, sigma2_eps %.4f, max|d eta| %.2e%s",
                 it, elbo, h2, self.pi_, self.sigma2_eps_, max_delta,
                 f" ({squarem})" if squarem else "")
        self._progress.update()
        return elbo, max_delta, h2

    def _check(self, it, elbo, previous, max_delta, h2):
        """The stopping rule after an iteration: "diverged", "converged" or None (go on; after
        converged lazy sweeps, their pending changes are applied and exact sweeps go on)."""
        if (not np.isfinite(elbo) or not np.all(np.isfinite(self._eta)) or not 0 <= h2 <= 1
                or elbo < previous - DIVERGENCE_TOL * abs(previous)):
            return "diverged"
        if abs(elbo - previous) < max(self.tol_elbo * abs(elbo), self.tol_elbo_abs) \
                and max_delta < self.tol_eta:
            if not self._lazy:
                return "converged"
            # the lazy sweeps have settled: apply what is pending and let exact sweeps
            # confirm (or finish) the convergence
            log.info("iteration %d: lazy sweeps converged; %d pending changes applied, "
                     "going on with exact sweeps", it, self.flush())
            self._lazy = False
        return None

    # -- SQUAREM (Varadhan & Roland 2008, scheme S3) ------------------------------------------
    def _point(self):
        """The state an exact iteration starts from, as vectors: eta (float64), q (the band
        sweep reads it; q = R_offdiag eta is linear in eta), and the hyperparameters on the
        scale they are extrapolated on (log pi_k, log s2_k, log s2e, alpha)."""
        hyper = np.concatenate([np.log(self._pis), np.log(self._s2),
                                [np.log(self.sigma2_eps_), self.alpha_]])
        q = None if self._ld.layout == "upper" else np.asarray(self._q, np.float64).copy()
        return np.asarray(self._eta, np.float64).copy(), q, hyper

    def _set_point(self, eta, q, hyper):
        """Start the next iteration from an extrapolated state (``_point``'s vectors),
        the hyperparameters brought back within their M-step bounds."""
        k = self._k
        self._eta[:] = eta
        if q is not None:
            self._q[:] = q
        m = len(eta)
        pis = np.maximum(np.exp(hyper[:k]), 1e-12)
        self._pis = pis * min(pis.sum(), 1 - 1 / m) / pis.sum()
        self._s2 = np.maximum(np.exp(hyper[k:2 * k]), 1e-12)
        self.sigma2_eps_ = float(np.clip(np.exp(hyper[2 * k]), 1e-6, 1.0))
        if self.prior == "alpha":
            self.alpha_ = float(np.clip(hyper[2 * k + 1], *ALPHA_BOUNDS))
        self._cached_moments = None

    def _save_state(self):
        return (self._gamma.copy(), self._mu.copy(), self._var_mu.copy(), self._eta.copy(),
                self._q.copy(), self._pis.copy(), self._s2.copy(), self.sigma2_eps_, self.alpha_)

    def _restore_state(self, saved):
        (self._gamma[:], self._mu[:], self._var_mu[:], self._eta[:], self._q[:], self._pis,
         self._s2, self.sigma2_eps_, self.alpha_) = saved
        self._cached_moments = None

    def _squarem_cycle(self, it, previous, t0):
        """One SQUAREM cycle of exact iterations: x1 = F(x0), x2 = F(x1) (plain VEM iterations
        with the usual stopping rule), then, with r = x1 - x0, v = x2 - 2 x1 + x0 and the step
        length a = |r| / |v| in [1, step_max], the extrapolated x' = x0 + 2 a r + a^2 v and one
        stabilising iteration F(x'). When that lowers the ELBO below x2's (or leaves h2 outside
        [0, 1]) x2 is restored and step_max shrinks; when a reaches step_max, step_max grows
        4-fold (a = 1 is x' = x2: plain iterations). Every iteration counts towards max_iter.
        Returns (stop or None, iterations so far, the last accepted ELBO)."""
        x0 = self._point()
        x1 = None
        for _ in range(2):
            it += 1
            elbo, max_delta, h2 = self._iterate(it, t0)
            stop = self._check(it, elbo, previous, max_delta, h2)
            previous = elbo
            if stop is not None or it >= self.max_iter:
                return stop, it, previous
            if x1 is None:
                x1 = self._point()
        x2 = self._point()
        parts = [(a, b, c) for a, b, c in zip(x0, x1, x2) if a is not None]
        r = [b - a for a, b, _ in parts]
        v = [c - 2 * b + a for a, b, c in parts]
        vv = sum(float(u @ u) for u in v)
        step = np.sqrt(sum(float(u @ u) for u in r) / vv) if vv > 0 else 1.0
        step = float(np.clip(step, 1.0, self._step_max))
        if step == self._step_max:
            self._step_max *= SQUAREM_STEP_GROWTH
        if step == 1.0:  # x' = x2: the next cycle starts from here
            return None, it, previous
        saved = self._save_state()
        extrapolated = [None if a is None else a + 2 * step * (b - a) + step**2 * (c - 2 * b + a)
                        for a, b, c in zip(x0, x1, x2)]
        self._set_point(*extrapolated)
        it += 1
        elbo, max_delta, h2 = self._iterate(it, t0, squarem=f"extrapolated, step {step:.3g}")
        if (not np.isfinite(elbo) or not np.all(np.isfinite(self._eta)) or not 0 <= h2 <= 1
                or elbo < previous - self.tol_elbo_abs):
            self._restore_state(saved)
            self._step_max = max(1.0, self._step_max / SQUAREM_STEP_GROWTH)
            self._history[-1]["squarem"] = f"rejected, step {step:.3g}"
            log.info("iteration %d: extrapolation rejected (ELBO %.6f below %.6f); back to "
                     "iteration %d's state", it, elbo, previous, it - 1)
            return None, it, previous
        stop = self._check(it, elbo, previous, max_delta, h2)
        return stop, it, elbo
