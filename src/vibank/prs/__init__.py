"""Variational polygenic scores (VIPRS) on summary statistics, their hyperparameter strategies
and the in-engine baselines (LDpred-inf, Gibbs spike-and-slab, C+T)."""

from vibank.prs.baselines import (P_THRESHOLDS, GibbsSpikeSlab, clump_and_threshold,
                                  gibbs_fit_point, ldpred_inf, threshold_column)
from vibank.prs.model import (PRIORS, VIPRS, FitResult, concatenate_ld, independent_segments,
                              std_beta_from_z, symmetric_offdiagonal)
from vibank.prs.tuning import (METRICS, ModelAverage, TuningResult, bayesian_optimisation,
                               grid_search, hyperparameter_grid, model_average, pi_grid,
                               pseudo_validation, selection_score, training_elbo,
                               validation_auprc, validation_r2, viprs_fit_point)

__all__ = [
    "PRIORS", "VIPRS", "FitResult", "concatenate_ld", "independent_segments", "std_beta_from_z",
    "symmetric_offdiagonal",
    "METRICS", "ModelAverage", "TuningResult", "bayesian_optimisation", "grid_search",
    "hyperparameter_grid", "model_average", "pi_grid", "pseudo_validation", "selection_score",
    "training_elbo", "validation_auprc", "validation_r2", "viprs_fit_point",
    "P_THRESHOLDS", "GibbsSpikeSlab", "clump_and_threshold", "gibbs_fit_point", "ldpred_inf",
    "threshold_column",
]
