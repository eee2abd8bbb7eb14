"""PLINK 1 binary filesets (.bed/.bim/.fam), the variant and sample tables of PLINK 2 filesets
(.pgen/.pvar/.psam), keep files and sample tables.

vibank reads and writes genotypes with bed-reader (maintained, Rust core, works with pandas 3;
pandas-plink does not). bed-reader counts allele 1 of the .bim (column 5) by default, which is
also the allele plink2 treats as ALT for a .bed fileset, so A1 below is always the counted allele.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.atomic import atomic_path, write_table

BIM_COLUMNS = [col.CHR, col.SNP, col.CM, col.POS, col.A1, col.A2]
FAM_COLUMNS = [col.FID, col.IID, "PAT", "MAT", col.SEX, "PHENO"]


def _require(path):
    path = Path(path)
    if not path.exists():
        raise VibankError(f"{path}: file not found")
    return path


def _read_plink_text(path, names):
    """A whitespace-separated .bim/.fam as text columns ``names``; one-line errors."""
    if path.is_dir():
        raise VibankError(f"{path}: is a directory")
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str)
    except pd.errors.EmptyDataError:
        raise VibankError(f"{path}: file is empty") from None
    except pd.errors.ParserError as err:
        raise VibankError(f"{path}: malformed ({' '.join(str(err).split())})") from None
    if table.shape[1] != len(names):
        raise VibankError(f"{path}: expected {len(names)} columns, found {table.shape[1]} (row 1)")
    table.columns = names
    return table


def _numeric(table, name, dtype, path):
    """Column ``name`` as ``dtype``; the first value that is not a number is named by row."""
    values = pd.to_numeric(table[name], errors="coerce")
    bad = values.isna() | (dtype is np.int64) & (values != values.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "an integer" if dtype is np.int64 else "a number"
        raise VibankError(f"{path}: row {row + 1}, column {table.columns.get_loc(name) + 1} "
                          f"({name}): {table[name].iloc[row]!r} is not {kind}")
    return values.astype(dtype)


def read_bim(prefix):
    """Read ``prefix.bim`` into a DataFrame with columns CHR SNP CM POS A1 A2."""
    path = _require(f"{prefix}.bim")
    bim = _read_plink_text(path, BIM_COLUMNS)
    bim[col.POS] = _numeric(bim, col.POS, np.int64, path)
    bim[col.CM] = _numeric(bim, col.CM, float, path)
    return bim


def is_pgen(prefix):
    """Whether ``prefix`` names a PLINK 2 fileset (its .pgen exists) rather than a .bed one."""
    return Path(f"{prefix}.pgen").exists()


def plink2_input_flag(prefix):
    """plink2's option reading the fileset ``prefix``: --pfile or --bfile."""
    return "--pfile" if is_pgen(prefix) else "--bfile"


def read_pvar(prefix):
    """Read ``prefix.pvar`` (``##`` header lines, then #CHROM POS ID REF ALT ...) into CHR SNP
    POS A1 A2, with REF as A1 and ALT as A2."""
    path = _require(f"{prefix}.pvar")
    with open(path) as fh:
        skip = sum(1 for line in fh if line.startswith("##"))
    pvar = pd.read_csv(path, sep="\t", skiprows=skip, dtype=str,
                       usecols=["#CHROM", "POS", "ID", "REF", "ALT"])
    return pd.DataFrame({col.CHR: pvar["#CHROM"], col.SNP: pvar["ID"],
                         col.POS: _numeric(pvar, "POS", np.int64, path), col.A1: pvar["REF"],
                         col.A2: pvar["ALT"]})


def read_variants(prefix):
    """CHR SNP POS A1 A2 of a fileset: its .pvar when it is PLINK 2, else its .bim."""
    return read_pvar(prefix) if is_pgen(prefix) else read_bim(prefix)[
        [col.CHR, col.SNP, col.POS, col.A1, col.A2]]


def read_samples(prefix):
    """FID IID of every sample of a fileset: its .psam (FID = IID when it has none) or .fam."""
    if not is_pgen(prefix):
        return read_fam(prefix)[[col.FID, col.IID]]
    psam = pd.read_csv(_require(f"{prefix}.psam"), sep="\t", dtype=str)
    psam = psam.rename(columns={"#FID": col.FID, "#IID": col.IID})
    if col.FID not in psam.columns:
        psam.insert(0, col.FID, psam[col.IID])
    return psam[[col.FID, col.IID]]


def read_fam(prefix):
    """Read ``prefix.fam`` into a DataFrame with columns FID IID PAT MAT SEX PHENO.

    Sample IDs (IID) must be unique: vibank matches samples by IID.
    """
    path = _require(f"{prefix}.fam")
    fam = _read_plink_text(path, FAM_COLUMNS)
    fam[col.SEX] = _numeric(fam, col.SEX, np.int64, path).astype(int)
    dup = fam[col.IID].duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((fam[col.IID] == fam[col.IID].iloc[row]).to_numpy())[0])
        raise VibankError(f"{path}: row {row + 1}: duplicated sample ID {fam[col.IID].iloc[row]} "
                          f"(also row {first + 1}); sample IDs (column 2) must be unique")
    return fam


def write_bfile(prefix, dosages, bim, fam):
    """Write a PLINK 1 fileset atomically.

    Parameters
    ----------
    prefix : path prefix of the .bed/.bim/.fam files
    dosages : int8 array (n_samples, n_variants) of A1 counts, -127 for missing calls
    bim : DataFrame with columns CHR SNP CM POS A1 A2
    fam : DataFrame with columns FID IID SEX (PAT, MAT, PHENO optional)
    """
    from bed_reader import to_bed

    properties = {
        "fid": fam[col.FID].to_numpy(str),
        "iid": fam[col.IID].to_numpy(str),
        "father": np.full(len(fam), "0"),
        "mother": np.full(len(fam), "0"),
        "sex": fam[col.SEX].to_numpy(np.int32),
        "pheno": np.full(len(fam), "-9"),
        "chromosome": bim[col.CHR].astype(str).to_numpy(),
        "sid": bim[col.SNP].to_numpy(str),
        "cm_position": bim[col.CM].to_numpy(float),
        "bp_position": bim[col.POS].to_numpy(np.int32),
        "allele_1": bim[col.A1].to_numpy(str),
        "allele_2": bim[col.A2].to_numpy(str),
    }
    # bed, bim and fam appear together: write all three under temporary names, then rename
    with atomic_path(f"{prefix}.bed") as bed_tmp:
        to_bed(bed_tmp, dosages, properties=properties, count_A1=True, num_threads=None)
        for ext in (".bim", ".fam"):
            with atomic_path(f"{prefix}{ext}") as tmp:
                bed_tmp.with_suffix(ext).replace(tmp)


def read_dosages(prefix, *, sample_index=None, variant_index=None, num_threads=None):
    """Read A1 allele counts as int8 (n_samples, n_variants), -127 for missing calls."""
    from bed_reader import open_bed

    path = _require(f"{prefix}.bed")
    _check_bed_magic(path)
    with open_bed(path, count_A1=True, num_threads=num_threads) as bed:
        _check_bed_size(path, prefix, bed.iid_count, bed.sid_count)
        index = (
            slice(None) if sample_index is None else sample_index,
            slice(None) if variant_index is None else variant_index,
        )
        return bed.read(index=index, dtype=np.int8, order="F")


def _check_bed_magic(path):
    """Refuse a file that is not a variant-major PLINK 1 .bed."""
    with open(path, "rb") as handle:
        magic = handle.read(3)
    if magic[:2] != b"\x6c\x1b":
        raise VibankError(f"{path}: not a PLINK 1 .bed file (starts with {magic[:2].hex()}, "
                          f"expected 6c1b)")
    if magic[2:] != b"\x01":
        raise VibankError(f"{path}: a sample-major .bed file; rewrite it with plink --make-bed")


def _check_bed_size(path, prefix, n_samples, n_variants):
    """Refuse a .bed whose size does not fit the .fam and .bim (bed-reader reads a subset of a
    too-short file without complaint)."""
    want = 3 + n_variants * ((n_samples + 3) // 4)
    size = path.stat().st_size
    if size != want:
        raise VibankError(f"{path}: {size} bytes, but {n_samples} samples ({prefix}.fam) and "
                          f"{n_variants} variants ({prefix}.bim) need {want}: the .bed is "
                          f"truncated or the .bim/.fam belong to another fileset")


def read_sample_table(path):
    """Read a sample table (IID, POP, SEX, AGE; FID optional) and check it."""
    path = _require(path)
    table = pd.read_csv(path, sep="\t", dtype={col.FID: str, col.IID: str, col.POP: str})
    for name in (col.IID, col.POP, col.SEX, col.AGE):
        if name not in table.columns:
            raise VibankError(f"{path}: required column {name} is missing")
    if col.FID not in table.columns:
        table.insert(0, col.FID, table[col.IID])
    dup = table[col.IID].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup)[0]) + 2
        raise VibankError(f"{path}: row {row}: duplicated IID {table[col.IID][dup].iloc[0]}")
    return table


def samples_for_fam(sample_table, bfile):
    """Rows of the sample table in .fam order (FID from the .fam); error if a sample is absent."""
    fam = read_fam(bfile)
    table = read_sample_table(sample_table)
    missing = ~fam[col.IID].isin(table[col.IID])
    if missing.any():
        raise VibankError(
            f"{sample_table}: sample {fam[col.IID][missing].iloc[0]} of {bfile}.fam is missing "
            f"({int(missing.sum())} samples in all)"
        )
    out = table.set_index(col.IID).loc[fam[col.IID]].reset_index()
    out[col.FID] = fam[col.FID].to_numpy()
    return out


def write_keep(path, samples):
    """Write a plink ``--keep`` file (#FID IID) for the rows of ``samples``."""
    keep = samples[[col.FID, col.IID]].rename(columns={col.FID: "#FID"})
    write_table(keep, path)


def read_keep(path):
    """Read a keep file written by :func:`write_keep`."""
    keep = pd.read_csv(_require(path), sep="\t", dtype=str)
    return keep.rename(columns={"#FID": col.FID})


def read_id_list(path):
    """The IDs of a plink ``--extract`` style file: the first field of each non-empty line."""
    ids = [line.split()[0] for line in _require(path).read_text().splitlines() if line.strip()]
    if not ids:
        raise VibankError(f"{path}: no ID (expected one variant ID a line)")
    return ids


def read_phenotype_column(path, trait):
    """Column ``trait`` of a phenotype table (tab-separated, with IID) as a Series IID -> value;
    missing values (NA, empty, -9) are NaN. A value that is not a number is named by row."""
    table = pd.read_csv(_require(path), sep="\t", dtype={col.IID: str})
    if trait not in table.columns:
        raise VibankError(f"{path}: no column {trait}")
    values = pd.to_numeric(table[trait], errors="coerce")
    bad = values.isna() & table[trait].notna() & (table[trait].astype(str) != "NA")
    if bad.any():
        raise VibankError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 2}, column {trait}: "
                          f"{table[trait][bad].iloc[0]!r} is not a number")
    return values.set_axis(table[col.IID]).replace(-9, np.nan).astype(float)
