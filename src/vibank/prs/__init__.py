"""Variational polygenic scores (VIPRS). The E-step kernel is in place; the model arrives with issue 4."""
