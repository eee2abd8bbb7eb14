"""LD matrices: estimators from reference-panel genotypes, the Zarr store, the LDMatrix object."""

from vibank.ld.build import build_ld_store
from vibank.ld.estimators import (
    ESTIMATORS,
    LDEstimator,
    SparseLD,
    SymmetricBand,
    compute_ld,
    ld_scores,
    row_sums_of_squares,
    symmetric_band,
)
from vibank.ld.genotypes import standardise_genotypes
from vibank.ld.matrix import LDMatrix, extremal_eigenvalues, extremal_eigenvalues_csr

__all__ = [
    "ESTIMATORS",
    "LDEstimator",
    "LDMatrix",
    "SparseLD",
    "SymmetricBand",
    "build_ld_store",
    "compute_ld",
    "extremal_eigenvalues",
    "extremal_eigenvalues_csr",
    "ld_scores",
    "row_sums_of_squares",
    "standardise_genotypes",
    "symmetric_band",
]
