"""Simulators: the built-in multi-ancestry cohort and phenotypes with known architectures."""

from vibank.simulate.cohort import CohortParams, simulate_cohort

__all__ = ["CohortParams", "simulate_cohort"]
