"""Summary statistics against an LD panel: the canonical table from any format with the values
it lacks derived (``derive``), allele matching, strand and build checks, QC with a per-variant
audit (``harmonise``), and the per-variant checks and derivations (``qc``)."""

from vibank.sumstats.derive import OUTPUT_COLUMNS, derive_values, read_sumstats_any
from vibank.sumstats.harmonise import FILTER_ORDER, HarmoniseResult, harmonise
from vibank.sumstats.qc import AUDIT_COLUMNS, normalise_chrom, p_from_z, z_from_beta_se, z_from_p

__all__ = ["AUDIT_COLUMNS", "FILTER_ORDER", "OUTPUT_COLUMNS", "HarmoniseResult", "derive_values",
           "harmonise", "normalise_chrom", "p_from_z", "read_sumstats_any", "z_from_beta_se",
           "z_from_p"]
