"""Multi-trait QTL mapping: the atlasQTL hotspot model with annealed CAVI and adaptive focus,
its input preparation, and the genome-wide scan around the fits (chunks, calls, loci, hotspots)."""

from vibank.qtl.data import impute_dosages, residualise
from vibank.qtl.focus import EPSILON_SCHEMES, MODES
from vibank.qtl.model import AtlasQTL, ConvergenceWarning, QTLResult
from vibank.qtl.moments import mean_inv_lambda2, truncated_latent_mean
from vibank.qtl.priors import Hyperparameters, anneal_ladder, elicit_n0_t02
from vibank.qtl.scan import (association_table, bayesian_fdr, call_pairs, check_calling,
                             chunk_tables, cis_trans, clump_loci, fit_record, gene_positions,
                             hotspot_table, make_chunks, mode_metrics, runtime_summary)

__all__ = ["AtlasQTL", "ConvergenceWarning", "EPSILON_SCHEMES", "Hyperparameters", "MODES",
           "QTLResult", "anneal_ladder", "elicit_n0_t02", "mean_inv_lambda2",
           "truncated_latent_mean",
           "impute_dosages", "residualise",
           "bayesian_fdr", "call_pairs", "check_calling", "chunk_tables", "cis_trans",
           "clump_loci", "gene_positions",
           "hotspot_table", "make_chunks", "mode_metrics", "runtime_summary", "association_table",
           "fit_record"]
