"""Variational polygenic scores (VIPRS): spike-and-slab VEM on summary statistics."""

from vibank.prs.model import VIPRS, FitResult, std_beta_from_z, symmetric_offdiagonal

__all__ = ["VIPRS", "FitResult", "std_beta_from_z", "symmetric_offdiagonal"]
