"""Summary statistics against an LD panel: allele matching, strand and build checks, QC with a
per-variant audit (``harmonise``), and the per-variant checks and derivations (``qc``)."""

from vibank.sumstats.harmonise import FILTER_ORDER, HarmoniseResult, harmonise
from vibank.sumstats.qc import AUDIT_COLUMNS, normalise_chrom, p_from_z, z_from_beta_se, z_from_p

__all__ = ["AUDIT_COLUMNS", "FILTER_ORDER", "HarmoniseResult", "harmonise", "normalise_chrom",
           "p_from_z", "z_from_beta_se", "z_from_p"]
