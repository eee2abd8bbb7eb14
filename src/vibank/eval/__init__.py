"""Evaluation of fitted polygenic scores: scoring with plink2, prediction metrics,
cross-validation summaries and ancestry transfer, as tables for ``vibank.plot`` and the report;
and the classification metrics of pQTL calls against a simulated truth.

``scoring`` scores sample sets, ``metrics`` holds the statistics (NumPy least squares,
scikit-learn ranking metrics), ``tables`` builds the result tables from saved files.
"""

from vibank.eval.metrics import (binary_metrics, bootstrap_incremental_r2_se, centroid_distance,
                                 classification_metrics, incremental_r2, observed_to_liability_h2,
                                 r2_ols, relative_r2)
from vibank.eval.scoring import read_score_files, read_scores, score_samples, score_samples_many
from vibank.eval.tables import (cv_summary_table, evaluate_prs, h2_table, metrics_table,
                                pc_distance_table, runtime_table, summarise_fits,
                                transfer_table)

__all__ = [
    "binary_metrics", "bootstrap_incremental_r2_se", "centroid_distance",
    "classification_metrics", "incremental_r2", "observed_to_liability_h2", "r2_ols",
    "relative_r2",
    "read_score_files", "read_scores", "score_samples", "score_samples_many",
    "cv_summary_table", "evaluate_prs", "h2_table", "metrics_table", "pc_distance_table",
    "runtime_table", "summarise_fits", "transfer_table",
]
