"""Baselines that run on the same inputs as VIPRS (prs_vi.md section 10).

- :func:`ldpred_inf`: the infinitesimal-model posterior mean (R + M / (N h2) I)^-1 b, by
  conjugate gradients on the sparse LD.
- :class:`GibbsSpikeSlab`: a Gibbs sampler for the VIPRS spike-and-slab prior with fixed
  hyperparameters (an LDpred2-grid equivalent); the sweep is the compiled kernel
  ``_kernels._gibbs`` (NumPy twin in ``_reference_gibbs.py``).
- :func:`clump_and_threshold`: C+T by LD clumping in plink, then p-value thresholds.

The first two take std_beta b, N_j and R without its diagonal (a ``vibank.ld.LDRows``, or what
``LDRows.of`` accepts) and return effects on the standardised scale, as VIPRS does; grids over
(pi, h2) are run by ``vibank.prs.tuning``.
"""

import logging
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse.linalg import LinearOperator, cg
from threadpoolctl import threadpool_limits

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.ld import LDRows
from vibank.prs._kernels import _gibbs
from vibank.prs.model import FitResult

log = logging.getLogger(__name__)

#: p-value thresholds of C+T (section 10)
P_THRESHOLDS = (5e-8, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1.0)


def _check_inputs(std_beta, n_per_variant, ld):
    b = np.asarray(std_beta, dtype=np.float64)
    m = ld.n_variants
    if b.ndim != 1 or len(b) != m:
        raise ValueError(f"LD has {m} variants but std_beta has shape {b.shape}")
    n = np.broadcast_to(np.asarray(n_per_variant, dtype=np.float64), b.shape)
    if not (np.all(np.isfinite(b)) and np.all(n > 0)):
        raise ValueError("std_beta must be finite and N positive")
    return b, np.ascontiguousarray(n)


# -- LDpred-inf ------------------------------------------------------------------------------
def ldpred_inf(std_beta, n_per_variant, ld, *, h2, tol=1e-8, max_iter=None):
    """LDpred-inf posterior mean eta = (R + M / (N h2) I)^-1 b by conjugate gradients.

    Parameters
    ----------
    std_beta : (M,) standardised marginal effects b
    n_per_variant : (M,) or scalar N_j; N is their median
    ld : R without its diagonal, ``LDRows`` (or what ``LDRows.of`` accepts)
    h2 : float, or a sequence of values (one solve each, each warm-started from the last)
    tol : relative residual ||(R + lambda I) eta - b|| / ||b|| at which CG stops (section 10)
    max_iter : CG iterations before giving up (default 10 M)

    Returns
    -------
    (M,) eta for a scalar h2, (len(h2), M) for a sequence

    Raises
    ------
    VibankError when CG does not converge (R + lambda I not positive definite: a small or
    mismatched LD panel with a large h2).

    References
    ----------
    Vilhjalmsson et al. (2015) AJHG 97:576, eq. 5 (the infinitesimal posterior mean).
    """
    ld = LDRows.of(ld)
    b, n = _check_inputs(std_beta, n_per_variant, ld)
    h2s = np.atleast_1d(np.asarray(h2, dtype=np.float64))
    if h2s.ndim != 1 or not np.all((h2s > 0) & np.isfinite(h2s)):
        raise ValueError("h2 must be positive")
    m, n_median = len(b), float(np.median(n))
    etas, x0 = [], None
    for value in h2s:
        diagonal = 1.0 + m / (n_median * value)  # R_jj = 1 plus the infinitesimal ridge
        operator = LinearOperator((m, m), matvec=lambda x, d=diagonal: ld.dot(x, diagonal=d),
                                  dtype=np.float64)
        eta, info = cg(operator, b, x0=x0, rtol=tol, atol=0.0,
                       maxiter=max_iter or 10 * max(m, 1))
        if info != 0:
            raise VibankError(f"LDpred-inf (h2 = {value:g}): conjugate gradients did not reach "
                              f"a relative residual of {tol:g}; R + {diagonal - 1:.3g} I may not "
                              "be positive definite (regularise the LD or use a larger h2)")
        etas.append(eta)
        x0 = eta
    return etas[0] if np.ndim(h2) == 0 else np.vstack(etas)


# -- Gibbs sampler ---------------------------------------------------------------------------
class GibbsSpikeSlab:
    """Gibbs sampler for the spike-and-slab prior on summary statistics, hyperparameters fixed.

    Targets the RSS posterior b | beta ~ N(R beta, s2e R / N), beta_j ~ pi N(0, s2b) +
    (1 - pi) delta_0. Each sweep visits the variants in order and draws s_j with beta_j
    integrated out (logit gamma_j as in the VI E-step, section 3, with the sampled neighbours),
    then beta_j ~ N(mu_j, v_j) if s_j = 1, else 0.

    Random numbers: per sweep M uniforms then M standard normals from
    ``numpy.random.default_rng(seed)``, handed to the kernel, so a seed fixes the chain whatever
    the thread count, and ``_reference_gibbs.gibbs_chain`` reproduces it in NumPy.

    Parameters
    ----------
    pi : prior inclusion probability
    sigma2_beta : prior variance s2b of an included standardised effect; or give
    h2 : the expected SNP heritability instead, s2b = h2 / (M pi) (LDpred2's parametrisation)
    sigma2_eps : residual variance s2e (default 1 - h2, or 1 - M pi s2b, at least 1e-6)
    n_burnin, n_samples : sweeps discarded, then sweeps averaged (LDpred2-grid's defaults,
        burn_in = 50 and num_iter = 100)
    seed : seed of numpy.random.default_rng
    n_threads : OpenMP threads over independent LD segments (the result does not depend on it)
    dtype : numpy.float64 or numpy.float32, precision of the sampler state

    Attributes (after fit)
    ----------------------
    eta_ : posterior mean of beta, averaged over the kept sweeps
    pip_ : posterior inclusion probability, the mean of s_j over the kept sweeps
    var_beta_ : posterior variance of beta over the kept sweeps
    h2_ : mean over the kept sweeps of the sampled genetic variance beta'R beta
    h2_samples_ : beta'R beta of every kept sweep
    pi_, sigma2_beta_, sigma2_eps_ : the hyperparameters used
    segments_ : independent LD segments the sweeps ran in parallel
    result_ : FitResult (stop reason "completed", n_iter = sweeps, elbo NaN, history per sweep)

    References
    ----------
    Prive, Arbel & Vilhjalmsson (2020) Bioinformatics 36:5424 (LDpred2, the grid model).
    """

    def __init__(self, *, pi=0.01, sigma2_beta=None, h2=None, sigma2_eps=None, n_burnin=50,
                 n_samples=100, seed=0, n_threads=1, dtype=np.float64):
        self.pi = pi
        self.sigma2_beta = sigma2_beta
        self.h2 = h2
        self.sigma2_eps = sigma2_eps
        self.n_burnin = n_burnin
        self.n_samples = n_samples
        self.seed = seed
        self.n_threads = n_threads
        self.dtype = dtype

    def _hyperparameters(self, m):
        """(pi, s2b, s2e) from the parameters, checked."""
        if not 0 < self.pi < 1:
            raise ValueError(f"pi must lie in (0, 1), not {self.pi}")
        if (self.sigma2_beta is None) == (self.h2 is None):
            raise ValueError("give exactly one of sigma2_beta and h2")
        if self.h2 is not None:
            if not self.h2 > 0:
                raise ValueError(f"h2 must be positive, not {self.h2}")
            s2b = self.h2 / (m * self.pi)
        else:
            s2b = float(self.sigma2_beta)
            if not s2b > 0:
                raise ValueError(f"sigma2_beta must be positive, not {s2b}")
        if self.sigma2_eps is None:
            s2e = max(1.0 - m * self.pi * s2b, 1e-6)
        else:
            s2e = float(self.sigma2_eps)
            if not s2e > 0:
                raise ValueError(f"sigma2_eps must be positive, not {s2e}")
        if self.n_burnin < 0 or self.n_samples < 1:
            raise ValueError("n_burnin must be >= 0 and n_samples >= 1")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError("dtype must be numpy.float32 or numpy.float64")
        return float(self.pi), float(s2b), float(s2e)

    def fit(self, std_beta, n_per_variant, ld, *, label="chromosome"):
        """Run n_burnin + n_samples sweeps from beta = 0 and average the kept ones.

        Parameters
        ----------
        std_beta : (M,) standardised marginal effects b_j
        n_per_variant : (M,) or scalar N_j
        ld : R without its diagonal, ``LDRows`` (or what ``LDRows.of`` accepts): its values as
            stored, never copied, and its segments computed once, so repeated fits on one LD
            are cheap
        label : name of the data in messages

        Returns
        -------
        self

        Raises
        ------
        VibankError if the chain diverges (non-finite effects, or mean h2 outside [0, 1]: the
        LD is not positive semi-definite or does not match the summary statistics).
        """
        t0 = time.perf_counter()
        ld = LDRows.of(ld).symmetric()  # the sampler's sweep updates q from both triangles
        b, n = _check_inputs(std_beta, n_per_variant, ld)
        m = len(b)
        pi, s2b, s2e = self._hyperparameters(m)
        self.segments_ = ld.segments
        dtype = np.dtype(self.dtype)
        var_mu = s2e / (n + s2e / s2b)
        log_prior_odds = math.log(pi) - math.log1p(-pi) + 0.5 * np.log(var_mu / s2b)
        fixed = [np.ascontiguousarray(a, dtype=dtype) for a in (b, n, var_mu, log_prior_odds)]
        beta, included, q = np.zeros(m, dtype), np.zeros(m, np.uint8), np.zeros(m, dtype)
        rng = np.random.default_rng(self.seed)
        total, sums, history = self.n_burnin + self.n_samples, np.zeros((3, m)), []
        h2_samples = np.empty(self.n_samples)
        with threadpool_limits(limits=1, user_api="blas"):  # the loop's dot products are short
            for sweep in range(total):
                uniform, normal = rng.random(m), rng.standard_normal(m)
                n_included = _gibbs.gibbs_sweep(ld, *fixed, uniform, normal, beta, included, q,
                                                s2e, self.n_threads)
                sample = beta.astype(np.float64)
                with np.errstate(over="ignore", invalid="ignore"):  # a runaway chain: below
                    h2 = float(sample @ sample + sample @ q)  # beta'R beta, R_jj = 1
                history.append({"sweep": sweep + 1, "h2": h2, "n_included": n_included,
                                "seconds": time.perf_counter() - t0})
                if not math.isfinite(h2):
                    raise VibankError(f"Gibbs sampler diverged on {label} at sweep {sweep + 1} "
                                      "(non-finite effects): check the LD against the summary "
                                      "statistics or use the mismatch filter")
                if sweep >= self.n_burnin:
                    sums[0] += sample
                    sums[1] += included
                    sums[2] += sample * sample
                    h2_samples[sweep - self.n_burnin] = h2
        self.eta_, self.pip_, second = sums / self.n_samples
        self.var_beta_ = np.maximum(second - self.eta_**2, 0.0)
        self.h2_samples_ = h2_samples
        self.h2_ = float(h2_samples.mean())
        if not 0 <= self.h2_ <= 1:
            raise VibankError(f"Gibbs sampler diverged on {label}: mean sampled h2 is "
                              f"{self.h2_:.3g}; the summary statistics may not match the LD "
                              "(or it is not positive semi-definite): use the mismatch filter")
        self.pi_, self.sigma2_beta_, self.sigma2_eps_ = pi, s2b, s2e
        self.result_ = FitResult(True, "completed", total, math.nan,
                                 time.perf_counter() - t0, history)
        log.info("Gibbs %s: %d sweeps (%d kept), pi %.3g, h2 %.4f, %.1f s", label, total,
                 self.n_samples, pi, self.h2_, self.result_.seconds)
        return self


def gibbs_fit_point(std_beta, n_per_variant, ld, **model_params):
    """``fit_point`` callback for ``vibank.prs.tuning``: one :class:`GibbsSpikeSlab` per grid
    point (``{"pi", "sigma2_beta", "sigma2_eps"}`` from ``hyperparameter_grid(pi, h2, ...)``, or
    ``{"pi", "h2"}``); ``model_params`` (n_burnin, n_samples, seed, n_threads) go to every
    model. The LD (its segments computed once) serves the whole grid.

    Lists (one item per chromosome): with the hyperparameters fixed the chromosomes are
    independent, so each is sampled on its own, with its share m_c / M of a point's ``h2``,
    and the fit is a :class:`GibbsGenome` of their concatenated posteriors."""
    if not isinstance(ld, (list, tuple)):
        ld = LDRows.of(ld).symmetric()  # once for the grid, not per point

        def fit_point(params):
            model = GibbsSpikeSlab(**{**model_params, **params})
            return model.fit(std_beta, n_per_variant, ld)

        return fit_point
    parts = [gibbs_fit_point(b, n, one, **model_params)
             for b, n, one in zip(std_beta, n_per_variant, ld, strict=True)]
    shares = [len(b) / sum(map(len, std_beta)) for b in std_beta]

    def fit_genome(params):
        return GibbsGenome([fit(_h2_share(params, share)) for fit, share in zip(parts, shares)])

    return fit_genome


def _h2_share(params, share):
    return {**params, "h2": params["h2"] * share} if "h2" in params else dict(params)


class GibbsGenome:
    """Gibbs fits of several chromosomes with the same hyperparameters, read as one model:
    ``eta_``, ``pip_``, ``var_beta_`` concatenated, ``h2_`` their sum, ``result_`` the sweeps
    and the total time."""

    def __init__(self, fits):
        self.fits_ = fits
        self.eta_, self.pip_, self.var_beta_ = (
            np.concatenate([getattr(f, name) for f in fits]) for name in ("eta_", "pip_", "var_beta_"))
        self.h2_ = float(sum(f.h2_ for f in fits))
        self.result_ = FitResult(True, "completed", fits[0].result_.n_iter, math.nan,
                                 sum(f.result_.seconds for f in fits), [])


def ldpred_inf_genome(std_beta, n_per_variant, ld, *, h2, **options):
    """:func:`ldpred_inf` of each chromosome with its share m_c / M of the genome's ``h2`` (so
    every chromosome keeps the genome's shrinkage M / (N h2)), concatenated."""
    m_total = sum(len(b) for b in std_beta)
    return np.concatenate([ldpred_inf(b, n, one, h2=h2 * len(b) / m_total, **options)
                           for b, n, one in zip(std_beta, n_per_variant, ld, strict=True)])


# -- C+T -------------------------------------------------------------------------------------
def threshold_column(p):
    """Name of the C+T weight column for p-value threshold ``p`` (e.g. ``BETA_P5e-08``)."""
    return f"BETA_P{p:g}"


def _clump_program():
    """(executable, flavour) of a plink that clumps: plink2 >= 2.00a4, else plink 1.9.

    plink2 only gained --clump in 2.00a4; Debian's plink2 (2.00a3.5) lacks it, and Debian's
    plink1.9 has the same greedy clumping with other flag names.
    """
    exe = shutil.which("plink2")
    if exe:
        usage = subprocess.run([exe, "--help", "clump"], capture_output=True, text=True)
        if "--clump-p-field" in usage.stdout:
            return exe, "plink2"
    for name in ("plink1.9", "plink"):
        exe = shutil.which(name)
        if exe:
            version = subprocess.run([exe, "--version"], capture_output=True, text=True)
            if version.stdout.startswith("PLINK v1.9"):
                return exe, "plink1.9"
    raise VibankError("C+T needs plink2 >= 2.00a4 (for --clump) or plink 1.9 on the PATH "
                      "(Debian: apt-get install plink1.9)")


def _clump(clump_input, bfile, out, *, r2, kb, threads, memory_mb, keep=None):
    """Run the clumping; return the SNP IDs of the index variants."""
    exe, flavour = _clump_program()
    # p1 = p2 = 1: every variant can lead a clump and every variant can join one
    args = ["--bfile", bfile, "--clump", clump_input, "--clump-p1", 1, "--clump-p2", 1,
            "--clump-r2", r2, "--clump-kb", kb]
    if keep is not None:
        args += ["--keep", keep]
    if flavour == "plink2":
        args += ["--clump-id-field", col.SNP, "--clump-p-field", col.P]
        report, id_column = Path(f"{out}.clumps"), "ID"
    else:
        args += ["--clump-snp-field", col.SNP, "--clump-field", col.P]
        report, id_column = Path(f"{out}.clumped"), col.SNP
    run_plink2(args, out, threads=threads, memory_mb=memory_mb, exe=exe)
    if not report.exists():  # plink writes no report when no variant could be clumped
        raise VibankError(f"{bfile}: none of the summary statistics' variants are in the "
                          f"reference genotypes ({out}.log)")
    return set(pd.read_csv(report, sep=r"\s+", dtype={id_column: str})[id_column])


def clump_and_threshold(sumstats, bfile, *, out_prefix, r2=0.1, kb=250,
                        p_thresholds=P_THRESHOLDS, threads=1, memory_mb=None, keep=None):
    """Clumping and thresholding: LD-clump the variants in plink, then keep index variants by p.

    Clumping is greedy in increasing p: the most significant unclumped variant becomes an index
    variant and takes every variant within ``kb`` with r^2 > ``r2`` (in the ``bfile`` reference)
    into its clump. A threshold's score keeps the index variants with P <= threshold.

    Parameters
    ----------
    sumstats : canonical summary statistics (``vibank.columns``) as a DataFrame or file path
    bfile : PLINK 1 prefix of the LD reference genotypes
    out_prefix : prefix of plink's files (``.clump_input.tsv``, ``.clumps``/``.clumped``, ``.log``)
    r2, kb : clumping r^2 threshold and window (section 10: 0.1 and 250 kb)
    p_thresholds : p-value thresholds, one weight column each
    threads, memory_mb : plink's --threads and --memory (default: plink's, half the RAM)
    keep : optional plink --keep file: the reference samples of ``bfile`` (e.g. the LD panel)

    Returns
    -------
    DataFrame in the sumstats' order with CHR SNP POS A1 A2 BETA P, INDEX (an index variant)
    and one column ``threshold_column(p)`` per threshold: BETA for index variants with P <= p,
    else 0 (per-allele weights of A1, ready for plink2 --score).

    Raises
    ------
    VibankError for a malformed table or no variant in the reference; ExternalToolError when
    plink fails.
    """
    if isinstance(sumstats, pd.DataFrame):
        table = sumstats
    else:
        # the one file read of ``prs``: C+T is file-to-file by nature (plink reads files too)
        from vibank.io.sumstats import read_sumstats

        table = read_sumstats(sumstats)
    needed = [col.CHR, col.SNP, col.POS, col.A1, col.A2, col.BETA, col.P]
    missing = [name for name in needed if name not in table.columns]
    if missing:
        raise VibankError(f"summary statistics lack the columns {missing}")
    if table[col.SNP].duplicated().any():
        duplicated = table[col.SNP][table[col.SNP].duplicated()].iloc[0]
        raise VibankError(f"summary statistics: SNP {duplicated} appears more than once")
    thresholds = [float(p) for p in p_thresholds]
    if not thresholds or not all(0 < p <= 1 for p in thresholds):
        raise ValueError("p_thresholds must be values in (0, 1]")
    if not 0 < r2 <= 1 or not kb > 0:
        raise ValueError("r2 must lie in (0, 1] and kb be positive")
    out = Path(out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    p = pd.to_numeric(table[col.P], errors="coerce")
    usable = p.between(0, 1)  # variants without a p-value never lead a clump
    clump_input = Path(f"{out}.clump_input.tsv")
    pd.DataFrame({col.SNP: table[col.SNP][usable], col.P: p[usable]}).to_csv(
        clump_input, sep="\t", index=False)
    index = _clump(clump_input, bfile, out, r2=r2, kb=kb, threads=threads, memory_mb=memory_mb,
                   keep=keep)
    result = table[needed].reset_index(drop=True).copy()
    result["INDEX"] = result[col.SNP].isin(index).to_numpy() & usable.to_numpy()
    beta = result[col.BETA].to_numpy(dtype=np.float64)
    for threshold in thresholds:
        keep = result["INDEX"].to_numpy() & (p.to_numpy() <= threshold)
        result[threshold_column(threshold)] = np.where(keep, beta, 0.0)
    log.info("C+T: %d index variants of %d; %s", int(result["INDEX"].sum()), len(result),
             ", ".join(f"p<={t:g}: {int((result[threshold_column(t)] != 0).sum())}"
                       for t in thresholds))
    return result


def select_threshold(table, allele_frequency, score, p_thresholds=P_THRESHOLDS):
    """The C+T score of each p threshold on the standardised scale of the fits (per-allele
    effects of A1 times sqrt(2 p (1 - p))), ranked by ``score(eta)`` (higher is better).

    Returns
    -------
    rows : DataFrame with p_threshold, n_variants, metric (one row per threshold)
    best : the chosen threshold (the first of the highest metric)
    eta : (M,) its standardised effects
    """
    p = np.asarray(allele_frequency, dtype=float)
    sd = np.sqrt(2 * p * (1 - p))
    candidates = {t: table[threshold_column(t)].to_numpy(float) * sd for t in p_thresholds}
    rows = pd.DataFrame([{"p_threshold": t, "n_variants": int((eta != 0).sum()),
                          "metric": score(eta)} for t, eta in candidates.items()])
    best = float(rows["p_threshold"].iloc[int(np.argmax(rows["metric"].to_numpy()))])
    return rows, best, candidates[best]


# -- the baselines as the fit stage runs them ------------------------------------------------
@dataclass
class BaselineFit:
    """A baseline chosen on a validation score: ``table`` (one row per grid point or threshold,
    as grid.tsv holds it), ``chosen`` (the point) and ``posterior`` (eta, pip, var_beta over
    all variants; var_beta NaN where the method has none)."""

    table: pd.DataFrame
    chosen: dict
    posterior: dict


def fit_ldpred_inf(std_beta, n_per_variant, ld, *, h2, score):
    """LDpred-inf over the chromosomes (lists, :func:`ldpred_inf_genome`) at the given h2;
    ``score(eta)`` is reported in the table. PIP 1 for every variant."""
    eta = ldpred_inf_genome(std_beta, n_per_variant, ld, h2=h2)
    return BaselineFit(pd.DataFrame([{"h2": h2, "metric": score(eta)}]), {"h2": h2},
                       {"eta": eta, "pip": np.ones(len(eta)), "var_beta": np.full(len(eta), np.nan)})


def fit_gibbs_grid(std_beta, n_per_variant, ld, *, h2, score, grid_size=30,
                   h2_multipliers=(1.0,), n_burnin=50, n_samples=100, seed=0, n_jobs=1):
    """The Gibbs sampler over the pi grid of GS (``tuning.pi_grid(M, grid_size)``) crossed with
    h2 x ``h2_multipliers``, chromosomes (lists) sampled separately with their h2 shares
    (:func:`gibbs_fit_point`), the best point on ``score(eta)`` (``tuning.grid_search``; a
    diverged chain is reported as failed and never chosen)."""
    from vibank.prs import tuning

    points = [{"pi": float(p), "h2": float(h2 * k)}
              for p in tuning.pi_grid(sum(len(b) for b in std_beta), grid_size)
              for k in h2_multipliers]
    fit_point = gibbs_fit_point(std_beta, n_per_variant, ld, seed=seed, n_burnin=n_burnin,
                                n_samples=n_samples)
    result = tuning.grid_search(points, fit_point, lambda model: score(model.eta_), n_jobs=n_jobs)
    model = result.best_model
    return BaselineFit(result.table[["pi", "h2", "metric", "stop_reason"]], result.best_params,
                       {"eta": model.eta_, "pip": model.pip_, "var_beta": model.var_beta_})


def fit_ct(clumped, allele_frequency, score, p_thresholds=P_THRESHOLDS):
    """C+T's best p threshold (:func:`select_threshold`) on the table of
    :func:`clump_and_threshold`; PIP 1 for the variants in the score."""
    table, best, eta = select_threshold(clumped, allele_frequency, score, p_thresholds)
    return BaselineFit(table, {"p_threshold": best},
                       {"eta": eta, "pip": (eta != 0).astype(float),
                        "var_beta": np.full(len(eta), np.nan)})
