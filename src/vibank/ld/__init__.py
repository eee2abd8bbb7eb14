"""LD matrices: estimators from reference-panel genotypes, the Zarr store (``LDMatrix``), and
``LDRows``, the one form in which the models and kernels read them."""

from vibank.ld.build import build_ld_store
from vibank.ld.eigenvalues import extremal_eigenvalues, extremal_eigenvalues_csr
from vibank.ld.estimators import (
    ESTIMATORS,
    TAPERS,
    LDEstimator,
    SparseLD,
    compute_ld,
    ld_scores,
    panel_window_cm,
    row_sums_of_squares,
    taper_band,
)
from vibank.ld.genotypes import standardise_genotypes
from vibank.ld.matrix import LDMatrix
from vibank.ld.rows import LDRows

__all__ = [
    "ESTIMATORS",
    "LDEstimator",
    "LDMatrix",
    "LDRows",
    "SparseLD",
    "TAPERS",
    "build_ld_store",
    "compute_ld",
    "extremal_eigenvalues",
    "extremal_eigenvalues_csr",
    "ld_scores",
    "panel_window_cm",
    "row_sums_of_squares",
    "standardise_genotypes",
    "taper_band",
]
