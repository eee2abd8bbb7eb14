"""PRS result files: the effect table, a PGS Catalog v2.0 scoring file, a plink2 --score file."""

import gzip
import json

import numpy as np
import pandas as pd

from vibank import __version__
from vibank.io.atomic import atomic_path, format_floats, tsv_text, write_table, write_text

EFFECT_COLUMNS = ["CHR", "SNP", "POS", "A1", "A2", "BETA", "BETA_PER_ALLELE", "PIP", "VAR_BETA"]


def write_effect_table(effects, path):
    """CHR SNP POS A1 A2 BETA (standardised) BETA_PER_ALLELE PIP VAR_BETA, gzip TSV."""
    missing = [c for c in EFFECT_COLUMNS if c not in effects.columns]
    if missing:
        raise ValueError(f"effect table lacks {missing}")
    write_table(effects[EFFECT_COLUMNS], path, float_format="%.8g")


def write_pgs_catalog(effects, path, *, pgs_name, trait, n_gwas, genome_build="NR"):
    """PGS Catalog scoring file, format v2.0: '#' header lines, then the variant table.
    ``n_gwas``: the GWAS sample size, or the per-variant N (their median is written)."""
    n_gwas = np.median(n_gwas)
    header = [
        "###PGS CATALOG SCORING FILE - see https://www.pgscatalog.org/downloads/#dl_ftp_scoring for additional information",
        "#format_version=2.0",
        "##POLYGENIC SCORE (PGS) INFORMATION",
        f"#pgs_name={pgs_name}",
        f"#trait_reported={trait}",
        f"#genome_build={genome_build}",
        f"#variants_number={len(effects)}",
        f"#weight_type=beta",
        "##SOURCE INFORMATION",
        f"#pgp_id=NR",
        f"#citation=vibank {__version__} (VIPRS), GWAS N = {int(n_gwas)}",
    ]
    table = pd.DataFrame({
        "rsID": effects["SNP"], "chr_name": effects["CHR"], "chr_position": effects["POS"],
        "effect_allele": effects["A1"], "other_allele": effects["A2"],
        "effect_weight": effects["BETA_PER_ALLELE"],
    })
    _write_scoring_text(header, table, path)


def _write_scoring_text(header, table, path):
    """Header lines then the tab-separated table, gzip when the name ends in .gz, atomically."""
    table = format_floats(table, "%.8g")
    body = tsv_text(table)
    if body is None:
        body = table.to_csv(sep="\t", index=False)
    write_text("\n".join(header) + "\n" + body, path)


def write_plink_score(effects, path):
    """plink2 --score input: SNP, A1 and the per-allele weight (use cols 1 2 3, header)."""
    table = effects.loc[effects["BETA_PER_ALLELE"] != 0, ["SNP", "A1", "BETA_PER_ALLELE"]]
    write_table(table, path, float_format="%.8g")


def write_json(obj, path):
    """Write a JSON document atomically (NaN/inf written as null)."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.floating, float)):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(clean(obj), indent=1))


def read_pgs_catalog(path):
    """A PGS Catalog scoring file: (header lines, variant table)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    n_header = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    table = pd.read_csv(path, sep="\t", skiprows=n_header, dtype={"chr_name": str})
    return lines[:n_header], table


def combine_scoring_files(pgs_paths, pgs_out, score_out):
    """One genome-wide PGS Catalog file and plink2 --score file from per-chromosome PGS
    Catalog files of one fit (the header of the first, its variant count updated)."""
    parts = [read_pgs_catalog(p) for p in pgs_paths]
    header = parts[0][0]
    table = pd.concat([t for _, t in parts], ignore_index=True)
    header = [f"#variants_number={len(table)}" if line.startswith("#variants_number=") else line
              for line in header]
    _write_scoring_text(header, table, pgs_out)
    weights = table.loc[table["effect_weight"] != 0, ["rsID", "effect_allele", "effect_weight"]]
    write_table(weights.set_axis(["SNP", "A1", "BETA_PER_ALLELE"], axis=1), score_out,
                float_format="%.8g")
    return table
