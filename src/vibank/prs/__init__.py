"""Variational polygenic scores (VIPRS) on summary statistics, their hyperparameter strategies
and the in-engine baselines (LDpred-inf, Gibbs spike-and-slab, C+T)."""

from vibank.prs.baselines import (P_THRESHOLDS, GibbsGenome, GibbsSpikeSlab, clump_and_threshold,
                                  gibbs_fit_point, ldpred_inf, ldpred_inf_genome,
                                  select_threshold, threshold_column)
from vibank.prs.effects import effects_table
from vibank.prs.model import PRIORS, VIPRS, FitResult, join_chromosomes, ldsc_h2, std_beta_from_z
from vibank.prs.tuning import (METRICS, ModelAverage, TuningResult, bayesian_optimisation,
                               grid_search, hyperparameter_grid, model_average, pi_grid,
                               pseudo_validation, selection_score, training_elbo, tune,
                               validation_auprc, validation_matrix, validation_r2,
                               viprs_fit_point)
from vibank.prs.spec import GridSettings, ModelSpec, model_spec

__all__ = [
    "PRIORS", "VIPRS", "FitResult", "join_chromosomes", "ldsc_h2", "std_beta_from_z",
    "METRICS", "ModelAverage", "TuningResult", "bayesian_optimisation", "grid_search",
    "hyperparameter_grid", "model_average", "pi_grid", "pseudo_validation", "selection_score",
    "training_elbo", "validation_auprc", "validation_r2", "viprs_fit_point",
    "P_THRESHOLDS", "GibbsSpikeSlab", "clump_and_threshold", "gibbs_fit_point", "ldpred_inf",
    "threshold_column", "GibbsGenome", "ldpred_inf_genome", "select_threshold", "effects_table",
    "tune", "validation_matrix", "GridSettings", "ModelSpec", "model_spec",
]
