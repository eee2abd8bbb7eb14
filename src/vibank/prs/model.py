"""VIPRS: spike-and-slab regression on GWAS summary statistics by variational EM.

Implements prs_vi.md sections 2-6 for the spike-and-slab prior: the E-step is the compiled
kernel ``_kernels._e_step`` (NumPy twin in ``_reference.py``), the M-step and the ELBO use only
b, eta, zeta, q, gamma, mu and v, so one iteration reads the LD matrix once.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from vibank.errors import VibankError
from vibank.ld import SymmetricBand, extremal_eigenvalues_csr
from vibank.prs._kernels import _e_step

log = logging.getLogger(__name__)

HYPERPARAMETERS = ("pi", "sigma2_beta", "sigma2_eps")
#: an ELBO falling by more than this (relative) is divergence, not rounding
DIVERGENCE_TOL = 1e-3
#: added to -lambda_min when regularising a block that is not positive semi-definite
RIDGE_MARGIN = 0.01
#: if the eigenvalue-based ridge is not enough, restart with these ridge floors in turn
RIDGE_ESCALATION = (0.1, 0.5, 1.0, 2.0)


@dataclass
class FitResult:
    """Convergence record of a fit (viprs ``OptimizeResult`` habit)."""

    success: bool
    stop_reason: str
    n_iter: int
    elbo: float
    seconds: float
    history: list = field(default_factory=list)


def symmetric_offdiagonal(upper, scale=1.0):
    """CSR of R without its diagonal from a strict upper triangle (scipy CSR or SparseLD)."""
    if hasattr(upper, "to_scipy"):
        upper = upper.to_scipy()
    full = (upper + upper.T).tocsr()
    full.sort_indices()
    return full


def std_beta_from_z(z, n):
    """b_j = z_j / sqrt(N_j + z_j^2) (Mak et al. 2017), prs_vi.md section 1."""
    z, n = np.asarray(z, float), np.asarray(n, float)
    return z / np.sqrt(n + z**2)


class VIPRS:
    """Variational spike-and-slab PRS fitted by coordinate-ascent VI with variational EM.

    Parameters
    ----------
    pi, sigma2_beta, sigma2_eps : float or None, keyword-only
        Initial hyperparameters (None: prs_vi.md section 6 defaults).
    fix : tuple of str
        Hyperparameters kept at their initial value instead of updated in the M-step.
    max_iter : int
    tol_elbo : float, relative ELBO tolerance (absolute floor ``tol_elbo_abs``)
    tol_eta : float, tolerance on max |delta eta|
    n_threads : int, OpenMP threads of the E-step
    dtype : numpy.float64 or numpy.float32, precision of the variational parameters
    progress : show a tqdm progress bar over the iterations

    Attributes (after fit)
    ----------------------
    eta_, pip_, mu_, var_mu_ : posterior mean, inclusion probability, slab mean and variance
    var_beta_ : posterior variance of each effect, zeta - eta^2
    pi_, sigma2_beta_, sigma2_eps_, h2_ : hyperparameters and SNP heritability
    ridge_ : per-variant ridge added to the diagonal of R (0 unless the fit needed it)
    elbo_history_ : ELBO after every iteration
    result_ : FitResult
    """

    def __init__(self, *, pi=None, sigma2_beta=None, sigma2_eps=None, fix=(), max_iter=1000,
                 tol_elbo=1e-6, tol_elbo_abs=1e-3, tol_eta=1e-6, n_threads=1, dtype=np.float64,
                 progress=False):
        self.pi = pi
        self.sigma2_beta = sigma2_beta
        self.sigma2_eps = sigma2_eps
        self.fix = fix
        self.max_iter = max_iter
        self.tol_elbo = tol_elbo
        self.tol_elbo_abs = tol_elbo_abs
        self.tol_eta = tol_eta
        self.n_threads = n_threads
        self.dtype = dtype
        self.progress = progress

    # -- set-up ---------------------------------------------------------------------------
    def _validate(self, std_beta, n_per_variant, shape):
        b = np.asarray(std_beta, dtype=np.float64)
        n = np.broadcast_to(np.asarray(n_per_variant, dtype=np.float64), b.shape)
        if b.ndim != 1 or shape != (len(b), len(b)):
            raise ValueError(f"LD is {shape} but there are {len(b)} variants")
        if not (np.all(np.isfinite(b)) and np.all(n > 0)):
            raise ValueError("std_beta must be finite and N positive")
        unknown = set(self.fix) - set(HYPERPARAMETERS)
        if unknown:
            raise ValueError(f"fix: unknown hyperparameters {sorted(unknown)}")
        return b, np.ascontiguousarray(n)

    def _ld_scores(self):
        """1 + sum_k R_jk^2 per variant, from the stored LD without a second copy."""
        data = self._ld.data.astype(np.float64) * self._ld_scale
        indptr = self._ld_indptr
        sums = np.add.reduceat(data**2, np.minimum(indptr[:-1], max(len(data) - 1, 0))) if len(data) \
            else np.zeros(len(indptr) - 1)
        sums[np.diff(indptr) == 0] = 0.0
        return 1.0 + sums

    def _initial_hyperparameters(self, b, n):
        m = len(b)
        chi2 = b**2 * n / np.maximum(1 - b**2, 1e-12)
        ld_score = self._ld_scores()
        h2 = m * (chi2.mean() - 1) / (np.median(n) * ld_score.mean())
        h2 = float(np.clip(h2, 1e-3, 0.9))
        pi = self.pi if self.pi is not None else 0.01
        s2e = self.sigma2_eps if self.sigma2_eps is not None else 1 - h2
        s2b = self.sigma2_beta if self.sigma2_beta is not None else h2 / (m * pi)
        return float(pi), float(s2b), float(s2e)

    # -- the steps ------------------------------------------------------------------------
    def e_step(self):
        """One coordinate-ascent sweep (compiled kernel); returns max |delta eta|."""
        n, s2e, s2b, pi = self._n, self.sigma2_eps_, self.sigma2_beta_, self.pi_
        # with a ridge lambda the diagonal of R is 1 + lambda: N_j (1 + lambda) in v_j
        self.var_mu_[:] = s2e / (n * self._diag + s2e / s2b)
        logit_prior = (np.log(pi / (1 - pi)) + 0.5 * np.log(self.var_mu_ / s2b)).astype(self.dtype)
        if self._band:
            return _e_step.e_step_spike_slab_band(
                self._ld.data, self._ld.first, self._ld_indptr, self._ld_scale, self._b, self._n,
                self.var_mu_, logit_prior, self.pip_, self.mu_, self.eta_, self._q, s2e)
        return _e_step.e_step_spike_slab(
            self._ld.data, self._ld.indices, self._ld_indptr, self._ld_scale, self._b, self._n,
            self.var_mu_, logit_prior, self.pip_, self.mu_, self.eta_, self._q, s2e, self.n_threads)

    def _moments(self):
        """eta, and zeta weighted by the diagonal of R (1 + ridge)."""
        eta = self.eta_.astype(np.float64)
        zeta = self.pip_ * (self.mu_.astype(np.float64) ** 2 + self.var_mu_)
        return eta, zeta

    def _fit_term(self, eta, zeta):
        """E||y - X beta||^2 / N from sufficient statistics: 1 - 2 b'eta + sum d zeta + eta'q."""
        return 1 - 2 * self._b @ eta + zeta @ self._diag + eta @ self._q

    def _h2(self, eta, zeta):
        return float(zeta @ self._diag + eta @ self._q)

    def m_step(self):
        """Closed-form hyperparameter updates (section 4), within their bounds."""
        eta, zeta = self._moments()
        m = len(eta)
        if "pi" not in self.fix:
            self.pi_ = float(np.clip(self.pip_.mean(), 1 / m, 1 - 1 / m))
        if "sigma2_beta" not in self.fix:
            self.sigma2_beta_ = float(max(zeta.sum() / max(self.pip_.sum(), 1e-12), 1e-12))
        if "sigma2_eps" not in self.fix:
            self.sigma2_eps_ = float(np.clip(self._fit_term(eta, zeta), 1e-6, 1.0))

    def elbo(self):
        """Evidence lower bound (section 5), N = median N_j."""
        eta, zeta = self._moments()
        n = np.median(self._n)
        pi, s2b, s2e = self.pi_, self.sigma2_beta_, self.sigma2_eps_
        g = np.clip(self.pip_.astype(np.float64), 1e-10, 1 - 1e-10)
        fit = self._fit_term(eta, zeta)
        ll = -0.5 * n * np.log(2 * np.pi * s2e) - n / (2 * s2e) * fit
        kl_gamma = np.sum(g * np.log(pi / g) + (1 - g) * np.log((1 - pi) / (1 - g)))
        kl_beta = np.sum(0.5 * self.pip_ * (1 + np.log(self.var_mu_ / s2b)
                                            - (self.mu_.astype(np.float64) ** 2 + self.var_mu_) / s2b))
        return float(ll + kl_gamma + kl_beta)

    # -- the loop -------------------------------------------------------------------------
    def fit(self, std_beta, n_per_variant, ld, *, ld_scale=1.0, label="chromosome"):
        """Fit on one chromosome.

        If the fit diverges (non-finite values, h2 outside [0, 1], or a falling ELBO), which is
        what a non positive semi-definite LD matrix from a small panel does, each block of 2,000
        variants gets a ridge lambda_b = -min eigenvalue_b + 0.01 (R + lambda_b I) and the fit
        restarts; if it still diverges, the ridge is raised to at least 0.1, 0.5, 1 and 2 in
        turn, everywhere (out-of-sample LD from a small panel against a precise GWAS needs it).
        Each restart is logged and the ridge kept in ``ridge_``. A fit that still diverges raises
        VibankError and no result is kept.

        Parameters
        ----------
        std_beta : (M,) standardised marginal effects b_j
        n_per_variant : (M,) or scalar GWAS sample sizes N_j
        ld : R without its diagonal: ``vibank.ld.SymmetricBand`` (band rows, the fast layout for
            windowed and block LD) or a scipy sparse matrix (see ``symmetric_offdiagonal``);
            integer values are dequantised on the fly with ``ld_scale``
        ld_scale : factor turning stored LD values into correlations
        label : name of the data in messages (e.g. "chromosome 3")

        Returns
        -------
        self
        """
        t0 = time.perf_counter()
        self._band = isinstance(ld, SymmetricBand)
        if not self._band:
            ld = sp.csr_matrix(ld)
        shape = (ld.n_variants, ld.n_variants) if self._band else ld.shape
        b, n = self._validate(std_beta, n_per_variant, shape)
        self._ld, self._ld_indptr, self._ld_scale = ld, ld.indptr.astype(np.int64), float(ld_scale)
        self._b, self._n = b.astype(self.dtype), n.astype(self.dtype)
        self.ridge_ = np.zeros(len(b))
        stop, history = self._run(t0)
        if stop == "diverged":
            self.ridge_ = self._block_ridge()
            if not self.ridge_.any():
                raise VibankError(f"VIPRS diverged on {label} although its LD matrix is positive "
                                  "semi-definite; check the summary statistics against the LD "
                                  "panel (allele coding, sample size) or use the mismatch filter")
            log.warning("VIPRS diverged on %s: the LD matrix is not positive semi-definite; "
                        "restarting with a block ridge (lambda up to %.4g)", label, self.ridge_.max())
            stop, history = self._run(t0)
        for floor in RIDGE_ESCALATION:
            if stop != "diverged":
                break
            # the panel's LD and the GWAS sample disagree more than the smallest eigenvalue
            # shows (typical when N is small against M): strengthen the ridge everywhere
            self.ridge_ = np.maximum(4 * self.ridge_, floor)
            log.warning("VIPRS still diverged on %s; restarting with a ridge of at least %.3g",
                        label, floor)
            stop, history = self._run(t0)
        if stop == "diverged":
            raise VibankError(f"VIPRS diverged on {label} even with a ridge of up to "
                              f"{self.ridge_.max():.4g}; the summary statistics may not match "
                              "the LD panel: use the mismatch filter")
        eta, zeta = self._moments()
        self.var_beta_ = self.pip_ * (self.mu_.astype(np.float64) ** 2 + self.var_mu_) - eta**2
        self.h2_ = self._h2(eta, zeta)
        self.result_ = FitResult(stop == "converged", stop, len(history), self.elbo_history_[-1],
                                 time.perf_counter() - t0, history)
        log.info("VIPRS %s: %s after %d iterations, ELBO %.4f, h2 %.4f, pi %.3g", label, stop,
                 len(history), self.result_.elbo, self.h2_, self.pi_)
        return self

    def _block_ridge(self):
        """Per-variant ridge: -min eigenvalue + 0.01 for blocks that are not PSD, else 0."""
        ld = self._ld.to_scipy() if self._band else self._ld
        m = ld.shape[0]
        full = ld.astype(np.float64) * self._ld_scale + sp.identity(m, format="csr")
        ridge = np.zeros(m)
        for block in extremal_eigenvalues_csr(full):
            if block["min"] < 0:
                ridge[block["start"]:block["stop"]] = -block["min"] + RIDGE_MARGIN
        return ridge

    def _run(self, t0):
        """VEM from the initial state until convergence, max_iter or divergence."""
        m = len(self._b)
        self._diag = 1.0 + self.ridge_
        self.pi_, self.sigma2_beta_, self.sigma2_eps_ = self._initial_hyperparameters(
            self._b.astype(np.float64), self._n.astype(np.float64))
        self.pip_ = np.full(m, self.pi_, dtype=self.dtype)
        self.mu_ = np.zeros(m, dtype=self.dtype)
        self.eta_ = np.zeros(m, dtype=self.dtype)
        self.var_mu_ = np.zeros(m, dtype=self.dtype)
        self._q = np.zeros(m, dtype=self.dtype)
        self.elbo_history_, history = [], []
        stop, previous = "max_iter", -np.inf
        progress = tqdm(total=self.max_iter, desc="VIPRS", unit="it", leave=False,
                        disable=not self.progress)
        for it in range(1, self.max_iter + 1):
            max_delta = self.e_step()
            self.m_step()
            elbo = self.elbo()
            eta, zeta = self._moments()
            h2 = self._h2(eta, zeta)
            self.elbo_history_.append(elbo)
            history.append({"iteration": it, "elbo": elbo, "pi": self.pi_,
                            "sigma2_beta": self.sigma2_beta_, "sigma2_eps": self.sigma2_eps_,
                            "h2": h2, "max_delta_eta": max_delta,
                            "seconds": time.perf_counter() - t0})
            log.info("iteration %d: ELBO %.6f, h2 %.4f, pi %.3g, sigma2_eps %.4f, max|d eta| %.2e",
                     it, elbo, h2, self.pi_, self.sigma2_eps_, max_delta)
            progress.update()
            if (not np.isfinite(elbo) or not np.all(np.isfinite(self.eta_)) or not 0 <= h2 <= 1
                    or elbo < previous - DIVERGENCE_TOL * abs(previous)):
                stop = "diverged"
                break
            if abs(elbo - previous) < max(self.tol_elbo * abs(elbo), self.tol_elbo_abs) \
                    and max_delta < self.tol_eta:
                stop = "converged"
                break
            previous = elbo
        progress.close()
        return stop, history
