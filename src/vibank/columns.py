"""Canonical column names, dtypes and meanings used in every vibank table.

A1 is always the effect (counted) allele; effects and frequencies refer to it.
"""

CHR = "CHR"
POS = "POS"
SNP = "SNP"
A1 = "A1"
A2 = "A2"
N = "N"
MAF = "MAF"
A1_FREQ = "A1_FREQ"
BETA = "BETA"
SE = "SE"
Z = "Z"
P = "P"
CM = "CM"
FID = "FID"
IID = "IID"
POP = "POP"
SEX = "SEX"
AGE = "AGE"

#: column -> (dtype, description) for the canonical summary-statistics table
SUMSTATS_COLUMNS = {
    CHR: ("string", "chromosome name as in the genotype .bim (no 'chr' prefix)"),
    SNP: ("string", "variant identifier"),
    POS: ("int64", "base-pair position"),
    A1: ("string", "effect allele: BETA, Z and the score weights refer to it"),
    A2: ("string", "other allele"),
    N: ("int64", "samples with a non-missing phenotype and genotype for this variant"),
    MAF: ("float64", "minor allele frequency in the GWAS sample"),
    BETA: ("float64", "per-allele effect of A1 (log odds ratio for binary traits)"),
    SE: ("float64", "standard error of BETA"),
    Z: ("float64", "test statistic BETA / SE (t for linear, z for logistic regression)"),
    P: ("float64", "two-sided p-value"),
}

#: canonical order of the summary-statistics columns
SUMSTATS_ORDER = list(SUMSTATS_COLUMNS)

#: column -> (dtype, description) for the sample table that accompanies a genotype set
SAMPLE_COLUMNS = {
    FID: ("string", "family ID as in the .fam"),
    IID: ("string", "individual ID as in the .fam (unique)"),
    POP: ("string", "population label (EUR, AFR, EAS for the built-in cohort)"),
    SEX: ("int64", "1 = male, 2 = female (PLINK coding)"),
    AGE: ("float64", "age in years"),
}

# pQTL tables (vibank.qtl.scan, vibank.stages.qtl; described in docs/formats.md)
CHUNK = "CHUNK"
PROTEIN = "protein"
PPI = "PPI"
#: posterior mean effect on the standardised-genotype scale (atlasQTL's beta_vb); BETA is per A1
BETA_STD = "BETA_STD"
#: column order of the long table of a chunk fit: one row per variant x protein pair
QTL_LONG_COLUMNS = [SNP, CHR, POS, A1, A2, PROTEIN, PPI, BETA_STD, BETA]
