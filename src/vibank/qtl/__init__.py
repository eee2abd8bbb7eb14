"""Multi-trait QTL mapping: the atlasQTL hotspot model with annealed CAVI and adaptive focus."""

from vibank.qtl.focus import EPSILON_SCHEMES, MODES
from vibank.qtl.model import AtlasQTL, ConvergenceWarning, QTLResult
from vibank.qtl.moments import mean_inv_lambda2, truncated_latent_mean
from vibank.qtl.priors import Hyperparameters, anneal_ladder, elicit_n0_t02

__all__ = ["AtlasQTL", "ConvergenceWarning", "EPSILON_SCHEMES", "Hyperparameters", "MODES",
           "QTLResult", "anneal_ladder", "elicit_n0_t02", "mean_inv_lambda2",
           "truncated_latent_mean"]
