"""Simulators: the built-in multi-ancestry cohort, phenotypes with known architectures and
protein panels with hotspot QTLs."""

from vibank.simulate.cohort import CohortParams, simulate_cohort
from vibank.simulate.proteins import ProteinPanel, simulate_protein_panel

__all__ = ["CohortParams", "ProteinPanel", "simulate_cohort", "simulate_protein_panel"]
