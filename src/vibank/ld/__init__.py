"""LD computation and the LD matrix object (estimators arrive with the LD issue)."""

from vibank.ld.genotypes import standardise_genotypes

__all__ = ["standardise_genotypes"]
