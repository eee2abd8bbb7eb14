"""Pure-NumPy twins of the compiled kernels in ``_ld_ops.pyx`` and ``_band_rows.pyx`` (the
specifications they are tested against)."""

import numpy as np


def standardise_genotypes(geno, dtype=np.float64):
    """NumPy twin of ``_ld_ops.standardise_genotypes``.

    Parameters
    ----------
    geno : int8 array (n_variants, n_samples); negative values are missing calls.
    dtype : output float dtype.

    Returns
    -------
    out, mean, std, n_observed
    """
    obs = geno >= 0
    g = np.where(obs, geno, 0).astype(np.float64)
    n_obs = obs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_obs > 0, g.sum(axis=1) / n_obs, 0.0)
        var = np.where(n_obs > 0, (g * g).sum(axis=1) / n_obs - mean**2, 0.0)
    std = np.where(var > 1e-12, np.sqrt(np.maximum(var, 0.0)), 0.0)
    scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    out = np.where(obs, (g - mean[:, None]) * scale[:, None], 0.0)
    return out.astype(dtype), mean.astype(dtype), std.astype(dtype), n_obs.astype(np.intp)


def copy_band_tile(block, a, ends, indptr, data):
    """NumPy twin of ``_ld_ops.copy_band_tile`` (fills ``data`` in place)."""
    for j in range(a, a + block.shape[0]):
        data[indptr[j]:indptr[j + 1]] = np.clip(block[j - a, j + 1 - a:ends[j] - a], -1.0, 1.0)


def quantise_values(values, dtype, scale):
    """NumPy twin of ``_ld_ops.quantise_values`` (as ``vibank.io.ld_store.quantise``)."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * scale)
    return np.clip(scaled, -scale, scale).astype(dtype)


def band_r2_sums(data, indptr, n_ref=0.0):
    """NumPy twin of ``_ld_ops.band_r2_sums``: (row sums, column sums) of r^2."""
    m = len(indptr) - 1
    r2 = np.asarray(data, dtype=np.float64) ** 2
    if n_ref > 2:
        r2 = r2 - (1 - r2) / (n_ref - 2)
    rows, cols = np.zeros(m), np.zeros(m)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        rows[nonempty] = np.add.reduceat(r2, indptr[nonempty])
    for j in nonempty:
        cols[j + 1:j + 1 + indptr[j + 1] - indptr[j]] += r2[indptr[j]:indptr[j + 1]]
    return rows, cols


def symmetric_band(upper, upper_indptr, variant, keep, first, indptr):
    """NumPy twin of ``_band_rows.symmetric_band`` (returns ``out``): the kept values of the
    upper triangle, then each value R_jk scattered into row j and row k through per-value
    int64 row and column indices."""
    n_stored = len(upper_indptr) - 1
    rows = np.repeat(np.arange(n_stored), np.diff(upper_indptr))
    cols = np.arange(len(upper)) - upper_indptr[rows] + rows + 1
    new_index = np.full(n_stored, -1, np.int64)
    new_index[variant] = np.arange(len(variant))
    if len(keep):
        kept = (keep[rows] == 1) & (keep[cols] == 1)
        upper, rows, cols = upper[kept], new_index[rows[kept]], new_index[cols[kept]]
    out = np.zeros(indptr[-1], dtype=upper.dtype)
    out[indptr[rows] + (cols - first[rows])] = upper  # R_jk in row j
    out[indptr[cols] + (rows - first[cols])] = upper  # R_kj in row k
    return out


def kept_upper(upper, upper_indptr, keep):
    """NumPy twin of ``_band_rows.kept_upper`` (returns ``out``): the values of the strict upper
    triangle whose row and column are both kept, in row order."""
    n_stored = len(upper_indptr) - 1
    rows = np.repeat(np.arange(n_stored), np.diff(upper_indptr))
    cols = np.arange(len(upper)) - upper_indptr[rows] + rows + 1
    kept = (keep[rows] == 1) & (keep[cols] == 1)
    return upper[kept]


def band_dense_block(data, indptr, start, stop, scale):
    """NumPy twin of ``_band_rows.dense_block`` (returns the block): R[start:stop, start:stop]
    with a unit diagonal from a band strict upper triangle, as dequantising the triangle and
    symmetrising it with scipy gives it (each value times ``scale``, plus 0 from the other
    triangle)."""
    size = stop - start
    dense = np.zeros((size, size))
    for j in range(start, stop):
        lo = int(indptr[j])
        count = min(int(indptr[j + 1]) - lo, stop - j - 1)  # row j's columns j+1 .. stop-1
        if count > 0:
            r = j - start
            dense[r, r + 1:r + 1 + count] = data[lo:lo + count]
    if scale != 1:
        dense *= np.float64(scale)
    dense = dense + dense.T
    np.fill_diagonal(dense, 1.0)
    return dense
