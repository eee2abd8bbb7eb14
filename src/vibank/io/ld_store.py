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

Quantised values: float = stored / 32767 (int16) or stored / 127 (int8), rounded to nearest.
Attributes: ``vibank_ld_format`` (int), ``estimator`` (name), ``estimator_params`` (dict),
``n_ref`` (panel size), ``chrom``, ``dtype``, ``quantisation_scale`` (1, 32767 or 127),
``band`` (bool), ``genome_build``, ``ld_score_bias_corrected`` (bool), and, once computed,
``eigenvalues`` (list of {start, stop, min, max} per block). Arrays are Blosc-zstd compressed
and chunked in 1 M values; the store is written to a temporary path and renamed into place.
"""

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
    if scale == 1:
        return np.asarray(values, dtype=dtype)
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * scale), -scale, scale).astype(dtype)


def dequantise(stored, dtype=np.float32):
    """Stored values back to floating point correlations."""
    scale = QUANTISATION[np.dtype(stored.dtype).name]
    out = stored.astype(dtype)
    if scale != 1:
        out *= np.asarray(1.0 / scale, dtype=out.dtype)
    return out


def _array(group, name, values, chunk=CHUNK):
    values = np.asarray(values)
    if values.dtype.kind in "UO":
        arr = group.create_array(name, shape=values.shape, dtype=str,
                                 chunks=(max(1, min(len(values), chunk)),))
    else:
        arr = group.create_array(name, shape=values.shape, dtype=values.dtype,
                                 chunks=(max(1, min(len(values), chunk)),),
                                 compressors=_compressor())
    if len(values):
        arr[:] = values
    return arr


def write_ld_store(path, ld, variants, attrs, *, dtype="float32"):
    """Write an LD matrix and its variant table atomically.

    Parameters
    ----------
    path : output directory (``.zarr``)
    ld : ``vibank.ld.estimators.SparseLD``
    variants : dict of the variant fields (snp, chr, a1, a2, pos, cm, maf, ld_score, n_ref)
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
        root.attrs.update({
            **attrs,
            "vibank_ld_format": FORMAT_VERSION,
            "dtype": dtype.name,
            "quantisation_scale": QUANTISATION[dtype.name],
            "band": ld.indices is None,
            "n_variants": int(ld.n_variants),
        })


def open_ld_store(path):
    """Open a store for reading; one-line errors for a missing, foreign or truncated store."""
    try:
        root = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        raise VibankError(f"{path}: LD store not found") from None
    version = root.attrs.get("vibank_ld_format")
    if version is None:
        raise VibankError(f"{path}: not a vibank LD store (attribute vibank_ld_format missing)")
    if version != FORMAT_VERSION:
        raise VibankError(f"{path}: LD store format version {version}, this vibank reads {FORMAT_VERSION}")
    for name in ("ld/data", "ld/indptr", "variants/snp"):
        if name not in root:
            raise VibankError(f"{path}: LD store is incomplete ({name} missing)")
    return root
