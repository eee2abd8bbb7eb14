"""LD estimators from reference-panel genotypes, computed in cache-sized tiles with BLAS.

Genotypes are standardised per variant (missing calls mean-imputed, then scaled to unit variance
over all samples), so a stored value equals ``np.corrcoef`` of the mean-imputed allele counts.
No estimator except ``sample`` ever holds the dense M x M matrix: rows are processed in tiles of
``tile`` variants, each multiplied only with the columns its rows keep.

Estimators (``prs_vi.md`` section 11):

- ``sample``: every pair (dense; refused above ``max_dense_variants``).
- ``windowed``: pairs within a window in cM, kb and/or variant count (the intersection). With
  ``taper="bartlett"`` each value is multiplied by max(0, 1 - d / w) for each window, d the
  pair's distance and w the window in that unit (:func:`taper_band`): the Schur product of the
  panel's full correlation matrix (positive semi-definite) with a positive-definite kernel, so
  the stored matrix is positive semi-definite, where a hard window is not (prs_vi.md 11).
- ``block``: pairs inside the same LD block: half-open BED intervals from ``blocks_file``, or
  vibank's block finder (``vibank.ld.blocks``) run on the windowed (``window_cm``) matrix.
- ``shrinkage`` (Wen & Stephens 2010): r_jk exp(-rho_jk / (2 m)) with rho_jk = 4 Ne d_jk
  (d in Morgans, m = 2 n haplotypes), then Sigma = (1 - theta)^2 S + (theta/2)(1 - theta/2) I
  with Watterson's theta for m, rescaled to unit diagonal; entries with |value| < cutoff are dropped.
"""

import logging
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from vibank.errors import VibankError
from vibank.ld import _ld_ops
from vibank.ld.genotypes import standardise_genotypes
from vibank.parallel import thread_map

log = logging.getLogger(__name__)

ESTIMATORS = ("sample", "windowed", "block", "shrinkage")
#: tapers of the windowed estimator: none (a hard window) or bartlett (module docstring)
TAPERS = ("none", "bartlett")
NE_HUMAN = 11490.672


def panel_window_cm(n_ref):
    """The tapered windowed estimator's window (cM) for a panel of ``n_ref`` people.

    0.7 cM (n_ref / 378)^(3/4), between 0.5 and 3: a panel's sampling error in each stored value
    is about 1 / sqrt(n_ref) whatever the distance, while true LD decays with it, so a small
    panel's far pairs add noise and little LD. Too wide a window understates h2 (the noise),
    too narrow a one overstates it (the LD it cuts is counted twice); the rule passes through
    the windows where a polygenic trait's h2 meets the truth in
    verification/ld_reference_noise.py (a GWAS of 5e5 against panels of 378 and 1,000 people,
    5 replicates each, docs/benchmarks.md): 0.7 cM for 378 people, 1.45 cM for 1,000, 3 cM
    from about 2,600 on.
    """
    return round(float(np.clip(0.7 * (n_ref / 378.0) ** 0.75, 0.5, 3.0)), 2)


@dataclass(frozen=True)
class LDEstimator:
    """An LD estimator and its parameters (config ``ld.estimators`` entries)."""

    name: str = "windowed"
    window_cm: float | str | None = 3.0  # "auto": panel_window_cm(n_ref) when windowed
    window_kb: float | None = None
    window_variants: int | None = None
    blocks_file: str | None = None
    ne: float = NE_HUMAN
    cutoff: float = 1e-3
    max_dense_variants: int = 20_000
    block_min_variants: int = 200
    block_max_variants: int = 2000
    taper: str = "bartlett"

    def __post_init__(self):
        if self.name not in ESTIMATORS:
            raise VibankError(f"unknown LD estimator {self.name!r}; choose from {', '.join(ESTIMATORS)}")
        if self.taper not in TAPERS:
            raise VibankError(f"unknown LD taper {self.taper!r}; choose from {', '.join(TAPERS)}")

    def for_panel(self, n_ref):
        """This estimator with an ``"auto"`` window resolved for a panel of ``n_ref`` people:
        :func:`panel_window_cm` for the windowed estimator, 3 cM for the block finder."""
        if self.window_cm != "auto":
            return self
        return replace(self, window_cm=panel_window_cm(n_ref) if self.name == "windowed" else 3.0)

    def params(self):
        """The parameters that define this estimator (stored in the Zarr attributes)."""
        keep = {"sample": ("max_dense_variants",),
                "windowed": ("window_cm", "window_kb", "window_variants", "taper"),
                "block": ("blocks_file",) if self.blocks_file else
                         ("window_cm", "block_min_variants", "block_max_variants"),
                "shrinkage": ("ne", "cutoff")}[self.name]
        return {k: v for k, v in asdict(self).items() if k in keep}


@dataclass
class SparseLD:
    """Strict upper triangle of an LD matrix in row-compressed form.

    ``data[indptr[j]:indptr[j+1]]`` are row j's values; their columns are ``indices`` of the same
    slice, or j+1, j+2, ... (a contiguous band) when ``indices`` is None.
    """

    data: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray | None
    n_variants: int

    def rows(self):
        """Row index of every stored value."""
        return np.repeat(np.arange(self.n_variants), np.diff(self.indptr))

    def columns(self):
        """Column index of every stored value (derived from the band layout when implicit)."""
        if self.indices is not None:
            return self.indices.astype(np.int64)
        lengths = np.diff(self.indptr)
        offset = np.arange(len(self.data)) - np.repeat(self.indptr[:-1], lengths)
        return offset + self.rows() + 1

    def masked(self, keep):
        """The rows and columns of the variants ``keep`` (boolean over the variants); a
        contiguous band stays a band in the new numbering."""
        if keep.all():  # nothing to drop: no per-value index arrays (8 bytes a value each)
            return self
        rows, cols = self.rows(), self.columns()
        kept = keep[rows] & keep[cols]
        new_index = np.cumsum(keep) - 1
        m = int(keep.sum())
        counts = np.bincount(new_index[rows[kept]], minlength=m) if m else np.zeros(0, np.int64)
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = None if self.indices is None else new_index[cols[kept]].astype(np.int32)
        return SparseLD(self.data[kept], indptr, indices, m)

    def to_scipy(self, symmetric=False, diagonal=1.0):
        """The matrix as scipy CSR: strict upper triangle, or symmetric with ``diagonal``."""
        import scipy.sparse as sp

        m = self.n_variants
        upper = sp.csr_matrix((self.data, self.columns(), self.indptr), shape=(m, m))
        if not symmetric:
            return upper
        full = upper + upper.T + sp.identity(m, dtype=self.data.dtype, format="csr") * diagonal
        return full.tocsr()


def standardise_panel(dosages, *, dtype=np.float32, n_threads=1):
    """(n_samples, m) int8 A1 counts -> (m, n) standardised rows, frequencies and n observed.

    Missing calls are imputed to the mean; rows are then scaled to unit variance over all
    samples, so ``X @ X.T / n`` is the Pearson correlation of the imputed counts.
    """
    geno = np.ascontiguousarray(np.asarray(dosages, dtype=np.int8).T)
    x, mean, std, n_obs = standardise_genotypes(geno, dtype=dtype, n_threads=n_threads)
    n = x.shape[1]
    norm = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64) / n)
    monomorphic = norm == 0
    if monomorphic.any():
        raise VibankError(f"{int(monomorphic.sum())} variants are monomorphic in the LD panel; "
                          "filter them (e.g. by MAF) before computing LD")
    x *= (1.0 / norm).astype(dtype)[:, None]
    return x, mean.astype(np.float64) / 2.0, n_obs


def watterson_theta(n_haplotypes):
    """Population-scaled mutation rate estimate used by the shrinkage estimator."""
    nsum = np.sum(1.0 / np.arange(1, n_haplotypes))
    return (1.0 / nsum) / (n_haplotypes + 1.0 / nsum)


def _tiles(m, tile):
    return [(a, min(a + tile, m)) for a in range(0, m, tile)]


def compute_ld(x, *, estimator, cm=None, pos=None, ends=None, n_threads=1, tile=1024):
    """Compute one chromosome's LD from standardised genotypes.

    Parameters
    ----------
    x : (m, n) float32/float64, rows from :func:`standardise_panel`
    estimator : LDEstimator
    cm, pos : genetic (cM) and physical positions of the m variants
    ends : (m,) window ends from ``vibank.ld.windows`` (required for windowed and block)
    n_threads : tiles computed in parallel threads (BLAS releases the GIL)
    tile : rows per tile

    Returns
    -------
    SparseLD (values in x's dtype): the panel's correlations in the window, untapered (the
    windowed estimator's taper is applied by ``build_ld_store`` with :func:`taper_band`, after
    the LD scores)
    """
    m, n = x.shape
    t0 = time.perf_counter()
    if estimator.name == "sample":
        if m > estimator.max_dense_variants:
            raise VibankError(f"sample LD estimator refused: {m} variants > max_dense_variants = "
                              f"{estimator.max_dense_variants}; use windowed or block")
        ends = np.full(m, m, dtype=np.int64)
    if estimator.name == "shrinkage":
        result = _compute_shrinkage(x, cm, estimator, n_threads, tile)
    else:
        if ends is None:
            raise ValueError(f"{estimator.name} LD needs window ends")
        result = _compute_band(x, np.ascontiguousarray(ends, dtype=np.int64), n_threads, tile)
    log.info("ld %s: %d variants, %d stored pairs (%.1f per variant) in %.2f s", estimator.name, m,
             len(result.data), len(result.data) / max(m, 1), time.perf_counter() - t0)
    return result


def _compute_band(x, ends, n_threads, tile):
    """Rows j keep columns j+1 .. ends[j]-1: one GEMM per tile against the columns it needs."""
    m, n = x.shape
    lengths = ends - np.arange(m) - 1
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    data = np.empty(indptr[-1], dtype=x.dtype)
    scale = x.dtype.type(1.0 / n)

    def work(bounds):
        a, b = bounds
        hi = int(ends[a:b].max())
        if hi <= a + 1:
            return
        block = (x[a:b] @ x[a:hi].T) * scale  # r[j, k] for j in [a, b), k in [a, hi)
        # data[indptr[j]:indptr[j+1]] = clip(block[j - a, j + 1 - a:ends[j] - a], -1, 1)
        _ld_ops.copy_band_tile(block, a, ends, indptr, data)

    _run_tiles(work, _tiles(m, tile), n_threads)
    return SparseLD(data, indptr, None, m)


def taper_band(ld, distances, *, chunk=1 << 22):
    """Multiply a band-layout ``SparseLD`` in place by the Bartlett taper of each window.

    ``distances`` pairs a coordinate per variant (cM, kb or the variant's index) with its window
    width w; every stored value r_jk becomes r_jk prod max(0, 1 - |c_k - c_j| / w). Rows are
    taken in chunks of about ``chunk`` values so the index arrays stay small.
    """
    if ld.indices is not None:
        raise ValueError("taper_band needs the band layout (indices None)")
    indptr, m = ld.indptr, ld.n_variants
    distances = [(np.asarray(coord, dtype=np.float64), width) for coord, width in distances]
    start = 0
    while start < m:
        stop = int(np.searchsorted(indptr, indptr[start] + chunk, side="right")) - 1
        stop = min(max(stop, start + 1), m)
        lengths = np.diff(indptr[start:stop + 1])
        rows = np.repeat(np.arange(start, stop), lengths)
        lo, hi = indptr[start], indptr[stop]
        cols = rows + 1 + np.arange(hi - lo) - np.repeat(indptr[start:stop] - lo, lengths)
        weight = np.ones(hi - lo)
        for coord, width in distances:
            weight *= np.maximum(0.0, 1.0 - np.abs(coord[cols] - coord[rows]) / width)
        ld.data[lo:hi] *= weight.astype(ld.data.dtype)
        start = stop
    return ld


def _compute_shrinkage(x, cm, estimator, n_threads, tile):
    """Wen & Stephens shrinkage over all pairs, tile by tile, dropping |value| < cutoff."""
    if cm is None:
        raise ValueError("shrinkage LD needs cM positions")
    m, n = x.shape
    cm = np.asarray(cm, dtype=np.float64)
    n_hap = 2 * n
    theta = watterson_theta(n_hap)
    diag = (1 - theta) ** 2 + 0.5 * theta * (1 - 0.5 * theta)
    factor = (1 - theta) ** 2 / diag
    rho_scale = 4.0 * estimator.ne / 100.0 / (2.0 * n_hap)  # rho / (2 m) per cM of distance
    rows = [None] * m

    def work(bounds):
        a, b = bounds
        if a + 1 >= m:
            return
        block = (x[a:b] @ x[a:].T).astype(np.float64) / n
        dist = np.abs(cm[a:, None].T - cm[a:b, None])  # (b - a, m - a) cM distances
        block *= factor * np.exp(-rho_scale * dist)
        for j in range(a, b):
            row = block[j - a, j + 1 - a:]
            keep = np.flatnonzero(np.abs(row) >= estimator.cutoff)
            rows[j] = (keep + j + 1, row[keep])

    _run_tiles(work, _tiles(m, min(tile, 256)), n_threads)
    lengths = np.array([0 if r is None else len(r[0]) for r in rows], dtype=np.int64)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate([r[0] for r in rows if r is not None] or [np.empty(0, np.int64)])
    data = np.concatenate([r[1] for r in rows if r is not None] or [np.empty(0)])
    return SparseLD(data.astype(x.dtype), indptr, indices.astype(np.int32), m)


def _run_tiles(work, tiles, n_threads):
    from threadpoolctl import threadpool_limits

    # One BLAS thread per tile: the tiles are the parallel unit, and each tile's product is
    # computed the same way whatever n_threads is, so results do not depend on the thread count.
    with threadpool_limits(limits=1, user_api="blas"):
        thread_map(work, tiles, n_threads)


def row_sums(values, indptr):
    """Sum of each row's slice ``values[indptr[j]:indptr[j+1]]`` of a row-compressed array.

    Empty rows give 0. Safe whatever rows are empty (first, inside, or all the trailing ones):
    ``np.add.reduceat`` runs over the starts of the non-empty rows only, so each segment ends
    where the next non-empty row starts, and the last one at ``indptr[-1]``.
    """
    indptr = np.asarray(indptr)
    sums = np.zeros(len(indptr) - 1)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        values = np.asarray(values, dtype=np.float64)[:indptr[-1]]
        sums[nonempty] = np.add.reduceat(values, indptr[nonempty])
    return sums


def row_sums_of_squares(data, indptr, *, scale=1.0):
    """sum_k (scale R_jk)^2 over each row j of a row-compressed matrix (empty rows give 0).

    ``scale`` undoes a quantisation (stored int8/int16 values times their scale are r).
    """
    values = np.asarray(data, dtype=np.float64) * scale
    return row_sums(values * values, indptr)


def ld_scores(ld, *, n_ref=None, bias_corrected=False):
    """Per-variant LD score: 1 + sum of r^2 over the stored pairs of the variant (both triangles).

    With ``bias_corrected``, each r^2 becomes r^2 - (1 - r^2) / (n_ref - 2).
    """
    if bias_corrected and (not n_ref or n_ref <= 2):
        raise ValueError("bias-corrected LD scores need n_ref > 2")
    m = ld.n_variants
    # row sums: each variant's pairs with later variants; col sums: with earlier ones
    if ld.indices is None:  # band rows: row j adds its values to columns j+1 .. j+len_j
        upper, col_sums = np.empty(m), np.empty(m)
        data = ld.data if ld.data.dtype in (np.float32, np.float64) else ld.data.astype(np.float64)
        _ld_ops.band_r2_sums(np.ascontiguousarray(data), np.ascontiguousarray(ld.indptr, np.int64),
                             upper, col_sums, float(n_ref) if bias_corrected else 0.0)
        return 1.0 + upper + col_sums
    r2 = ld.data.astype(np.float64) ** 2
    if bias_corrected:
        r2 = r2 - (1 - r2) / (n_ref - 2)
    col_sums = np.bincount(ld.indices, weights=r2, minlength=m)
    return 1.0 + row_sums(r2, ld.indptr) + col_sums
