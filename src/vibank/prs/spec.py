"""One path for PRS model settings: a config entry of ``prs.models`` (plus ``prs.grid`` and the
iteration limits) becomes a :class:`ModelSpec` through :func:`model_spec`, and the spec builds
the models. The workflow scripts, ``vibank fit`` and the benches all go through it.

Each default is written once: the VIPRS options (n_components, update_components, alpha,
fit_alpha, max_iter) are those of ``VIPRS.__init__``, the grid-fit settings those of
:class:`GridSettings`, the rest those of :class:`ModelSpec`; the config schema's defaults are
tested against them (``tests/unit/test_spec.py``).
"""

import inspect
import sys
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from vibank.errors import VibankError
from vibank.prs.baselines import P_THRESHOLDS
from vibank.prs.ld_noise import LD_NOISE
from vibank.prs.model import ACCELERATIONS, VIPRS
from vibank.prs.pseudo_validation import TRAINING_FRACTION

_VIPRS = {name: p.default for name, p in inspect.signature(VIPRS).parameters.items()}
#: the VIPRS options each prior reads from a model's config
PRIOR_OPTIONS = {"spike_slab": (), "mixture": ("n_components", "update_components"),
                 "alpha": ("alpha", "fit_alpha")}
#: the options each baseline method reads
BASELINE_OPTIONS = {"ldpred-inf": (), "gibbs": ("grid_size", "h2_multipliers", "n_burnin",
                                                "n_samples"), "ct": ("p_thresholds",)}
METHODS = ("viprs", *BASELINE_OPTIONS)
STRATEGIES = ("vem", "gs", "bma", "bo")
#: selection metrics of gs and bo: validation genotypes, held-out summary statistics, the ELBO
METRICS = ("validation", "pseudo", "elbo")


@dataclass(frozen=True)
class GridSettings:
    """VIPRS settings of every fit of a tuning strategy (gs, bma, bo; config ``prs.grid``):
    float32 state, lazy neighbour updates, the block ridge from the start on LD that is not
    positive semi-definite, and convergence at max |delta eta| < 1e-5. Less work, not a faster
    kernel: on the demo's 30-point grid they take 0.54x the time of exact float32 fits (0.30x of
    exact float64) at the same chosen pi and R^2 (docs/benchmarks.md, grid search against the
    Gibbs sampler, where this saving is reported apart from the speed ratios)."""

    dtype: str = "float32"
    lazy_tol: float = 1e-4
    initial_ridge: str = "block"
    tol_eta: float = 1e-5

    def viprs_options(self):
        """The settings as ``VIPRS`` keyword arguments."""
        return {**asdict(self), "dtype": np.dtype(self.dtype).type}


@dataclass(frozen=True)
class ModelSpec:
    """One PRS model: its method, prior, hyperparameter strategy and their settings.

    Attributes mirror a ``prs.models`` config entry (see config/README.md); ``max_iter`` is
    the VEM fits' limit and ``grid_max_iter`` that of each fit of a tuning strategy.
    """

    method: str = "viprs"
    prior: str = "spike_slab"
    strategy: str = "vem"
    metric: str = "validation"
    pseudo_training_fraction: float = TRAINING_FRACTION
    grid_size: int = 30
    bo_calls: int = 20
    n_components: int = _VIPRS["n_components"]
    update_components: bool = _VIPRS["update_components"]
    alpha: float = _VIPRS["alpha"]
    fit_alpha: bool = _VIPRS["fit_alpha"]
    ld_noise: str = _VIPRS["ld_noise"]
    #: SQUAREM extrapolation of the exact iterations ("none": plain VEM iterations)
    accelerate: str = _VIPRS["accelerate"]
    #: state type of a VEM fit (the grid fits' is ``GridSettings.dtype``); float32 halves the
    #: int16 -> float conversions of every sweep (1.4x faster sweeps on chromosomes 12-22)
    dtype: str = np.dtype(_VIPRS["dtype"]).name
    h2_multipliers: tuple = (1.0,)
    n_burnin: int = 50  # LDpred2-grid's burn_in and num_iter (bigsnpr snp_ldpred2_grid)
    n_samples: int = 100
    p_thresholds: tuple = P_THRESHOLDS
    max_iter: int = _VIPRS["max_iter"]
    grid_max_iter: int = 300
    grid: GridSettings = field(default_factory=GridSettings)

    def __post_init__(self):
        for name, value, allowed in (("method", self.method, METHODS),
                                     ("prior", self.prior, tuple(PRIOR_OPTIONS)),
                                     ("strategy", self.strategy, STRATEGIES),
                                     ("metric", self.metric, METRICS),
                                     ("ld_noise", self.ld_noise, LD_NOISE),
                                     ("accelerate", self.accelerate, ACCELERATIONS),
                                     ("dtype", self.dtype, ("float32", "float64"))):
            if value not in allowed:
                raise VibankError(f"model {name} {value!r} is not one of {', '.join(allowed)}")

    @property
    def tuned(self):
        """True for a VIPRS model whose hyperparameters a strategy tunes (gs, bma, bo)."""
        return self.method == "viprs" and self.strategy != "vem"

    @property
    def ld_layout(self):
        """The LD rows its fit reads (``LDMatrix.rows``): "upper" for a VIPRS fit with exact
        sweeps only (lazy_tol 0: a VEM fit), the stores' upper triangles as they are, half the
        memory; else "band" (lazy sweeps, the Gibbs sampler and the other baselines)."""
        exact = (self.method == "viprs"
                 and self.viprs_options().get("lazy_tol", _VIPRS["lazy_tol"]) == 0)
        return "upper" if exact else "band"

    def prior_options(self):
        """The VIPRS options of the prior (e.g. n_components for the mixture)."""
        return {key: getattr(self, key) for key in PRIOR_OPTIONS[self.prior]}

    def baseline_options(self):
        """The settings of a baseline method (gibbs: grid and sweeps; ct: p thresholds)."""
        return {key: getattr(self, key) for key in BASELINE_OPTIONS.get(self.method, ())}

    def viprs_options(self, *, n_threads=1):
        """Keyword arguments of ``VIPRS`` for this model: the prior's options, and for a tuned
        model the grid settings and ``grid_max_iter`` (else ``max_iter``); a VEM fit shows a
        progress bar on a terminal (in a job log the per-iteration ELBO lines do that work)."""
        options = {**self.prior_options(), "n_threads": n_threads, "ld_noise": self.ld_noise,
                   "accelerate": self.accelerate,
                   "max_iter": self.grid_max_iter if self.tuned else self.max_iter,
                   "progress": sys.stderr.isatty() and not self.tuned}
        if self.tuned:
            options.update(self.grid.viprs_options())
        else:
            options["dtype"] = np.dtype(self.dtype).type
        return options

    def viprs(self, *, n_threads=1):
        """A VIPRS model with this spec's prior and options."""
        return VIPRS(self.prior, **self.viprs_options(n_threads=n_threads))


def model_spec(entry=None, *, grid=None, max_iter=None, grid_max_iter=None):
    """The :class:`ModelSpec` of a config entry (``prs.models.<name>``), with ``prs.grid`` and
    the iteration limits (``prs.max_iter``, ``prs.grid_max_iter``); absent keys take the
    defaults. Keys that are not model settings (``traits``) are ignored; unknown keys raise
    VibankError naming them."""
    entry = dict(entry or {})
    entry.pop("traits", None)
    known = {f.name for f in fields(ModelSpec)} - {"grid", "max_iter", "grid_max_iter"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise VibankError(f"unknown model settings {unknown}; known: {sorted(known)}")
    for key in ("h2_multipliers", "p_thresholds"):
        if key in entry:
            entry[key] = tuple(entry[key])
    limits = {k: v for k, v in (("max_iter", max_iter), ("grid_max_iter", grid_max_iter))
              if v is not None}
    grid = dict(grid or {})
    unknown = sorted(set(grid) - {f.name for f in fields(GridSettings)})
    if unknown:
        raise VibankError(f"unknown grid settings {unknown}; known: "
                          f"{sorted(f.name for f in fields(GridSettings))}")
    return ModelSpec(**entry, **limits, grid=GridSettings(**grid))
