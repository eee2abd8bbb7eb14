"""File formats: PLINK genotypes, sample tables, summary statistics. No statistics here."""
