"""Genotype-level stages run with plink2: QC, principal components, sample splits and GWAS."""

from vibank.genotypes.gwas import glm_to_sumstats, run_gwas, run_gwas_many
from vibank.genotypes.pca import compute_pcs, make_covariates
from vibank.genotypes.prune import extract_bed, prune_variants
from vibank.genotypes.qc import QCParams, run_qc
from vibank.genotypes.splits import SplitParams, make_splits

__all__ = [
    "QCParams",
    "SplitParams",
    "compute_pcs",
    "extract_bed",
    "glm_to_sumstats",
    "make_covariates",
    "make_splits",
    "prune_variants",
    "run_gwas",
    "run_gwas_many",
    "run_qc",
]
