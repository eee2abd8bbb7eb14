"""The LD matrix as the models read it: R without its diagonal, row by row, with its scale,
per-block eigenvalues and independent segments.

:class:`LDRows` is the one LD type from the store to the kernels. ``LDMatrix.rows()`` builds it
from a store (vibank or magenpy format) for the variants a fit keeps; VIPRS, the Gibbs sampler,
LDpred-inf and the mismatch filter take ``(b, n, ld)`` with ``ld`` an ``LDRows`` (or anything
:meth:`LDRows.of` turns into one); the compiled E-step and Gibbs kernels take it whole and
share one row apply (``vibank/prs/_kernels/_ld_rows.pxd``).

Three layouts, the same matrix:

- **band** rows (windowed, block and sample LD): row j holds columns ``first[j] ..
  first[j] + len_j - 1`` contiguously, its own diagonal entry stored as 0. No column indices:
  2 bytes per int16 value, and a row's update of q is one vectorised axpy.
- **csr** rows (shrinkage LD, or any sparse matrix): ``indices`` (int32/int64) name the columns.
- **upper** rows (a banded store as it is, :meth:`LDRows.from_upper` with ``layout="upper"``):
  the strict upper triangle only, row j holding columns ``j+1 .. j+len_j`` (no ``first``):
  half the values of the band rows. The exact E-step sweep reads them once per row
  (``vibank/prs/_kernels/_upper.pyx``); the consumers that need a row's two triangles at once
  (the Gibbs sampler, VIPRS's lazy sweeps, the mismatch filter) take :meth:`LDRows.symmetric`.
  Every method here works on it, with the symmetric matrix's meaning (``to_scipy``, ``dot``,
  ``row_widths``, ``mean_ld_score``, ``segments``, eigenvalues), except that ``row``, ``at``
  and ``entries_of`` give the stored (upper) values and ``kernel_arrays`` refuses it.

Values are float32/float64, or int8/int16 quantised: multiplied by ``scale`` they are
correlations. Outside this module only the kernels branch on the layout, and the consumers that
ask for ``symmetric()``.
"""

import threading

import numpy as np
import scipy.sparse as sp

from vibank.ld._band_rows import kept_upper, symmetric_band
from vibank.ld.estimators import SparseLD
from vibank.ld.eigenvalues import extremal_eigenvalues_csr

#: value types the kernels accept
LD_DTYPES = ("int8", "int16", "float32", "float64")

_EIGEN_LOCK = threading.RLock()  # reentrant: a subset's eigenvalues come from its parent's


class LDRows:
    """R without its diagonal in row-compressed form (band or CSR rows; see the module).

    Parameters
    ----------
    data : values as stored (int8/int16/float32/float64); row j is ``data[indptr[j]:indptr[j+1]]``
    indptr : (M + 1,) row boundaries
    n_variants : M
    first : (M,) first column of each band row (band layout), or None
    indices : column of every value (CSR layout), or None
    upper : True for upper band rows (row j holds columns j+1 .. j+len_j); exactly one of
        ``first``, ``indices`` and ``upper``
    scale : correlations are ``data * scale`` (1/32767 for int16, 1/127 for int8, else 1)
    eigenvalues : extremal eigenvalues of the full R (unit diagonal) in blocks,
        ``[{"start", "stop", "min", "max"}, ...]`` in these rows' indices, as LD stores keep
        them, or None (computed by :meth:`block_eigenvalues` when asked)
    eigenvalue_source : when ``eigenvalues`` is None, a function of ``n_threads`` that gives
        them in these rows' indices when first asked (``LDMatrix.rows`` of a store written
        without them: the store's blocks, as ``vibank ld --eigenvalues`` would keep them), or
        None to compute them from these rows
    parts : sizes of the chromosomes this matrix joins (:meth:`concatenate`), or None
    diagonal : (M,) the diagonal of R, or None for a unit diagonal (a correlation matrix);
        a matrix kept in its leading eigenvectors has d_j < 1
    n_ref : size of the reference panel the LD was estimated from (a number, or one per
        variant), or None when unknown; the fits' LD-noise term (``vibank.prs.ld_noise``)
        reads it

    Attributes
    ----------
    layout : "band", "csr" or "upper"
    segments : boundaries of the independent variant ranges (computed once, on first use)
    """

    def __init__(self, data, indptr, n_variants, *, first=None, indices=None, upper=False,
                 scale=1.0, eigenvalues=None, eigenvalue_source=None, parts=None, diagonal=None,
                 n_ref=None):
        if (first is not None) + (indices is not None) + bool(upper) != 1:
            raise ValueError("LDRows needs exactly one of first (band rows), indices (CSR) and "
                             "upper=True (upper band rows)")
        self.upper = bool(upper)
        self.data = np.ascontiguousarray(data)
        if self.data.dtype.name not in LD_DTYPES:
            raise ValueError(f"LD values must be one of {LD_DTYPES}, not {self.data.dtype}")
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.n_variants = int(n_variants)
        if self.indptr.shape != (self.n_variants + 1,):
            raise ValueError(f"indptr has {len(self.indptr)} entries for {n_variants} variants")
        self.first = None if first is None else np.ascontiguousarray(first, dtype=np.int64)
        if indices is not None:
            indices = np.asarray(indices)
            if indices.dtype not in (np.int32, np.int64):
                indices = indices.astype(np.int64)
            indices = np.ascontiguousarray(indices)
        self.indices = indices
        self.scale = float(scale)
        self.eigenvalues = eigenvalues
        self.eigenvalue_source = None if eigenvalues is not None else eigenvalue_source
        self.parts = None if parts is None else [int(p) for p in parts]
        self.diagonal = None if diagonal is None else np.ascontiguousarray(diagonal, np.float64)
        if self.diagonal is not None and self.diagonal.shape != (self.n_variants,):
            raise ValueError(f"diagonal has {self.diagonal.shape} entries for {n_variants} variants")
        if n_ref is not None:
            n_ref = np.broadcast_to(np.asarray(n_ref, dtype=np.float64), (self.n_variants,)).copy()
        self.n_ref = n_ref
        self._segments = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def of(cls, ld, *, scale=1.0):
        """An LDRows from what the models accept: an LDRows (returned as it is), a strict upper
        triangle (:class:`~vibank.ld.estimators.SparseLD`, ``scale`` applies), or a scipy
        sparse matrix of R without its diagonal (values times ``scale`` are correlations; an
        upper or lower triangle alone is mirrored, a stored diagonal dropped)."""
        if isinstance(ld, cls):
            return ld
        if isinstance(ld, SparseLD):
            return cls.from_upper(ld, scale=scale)
        if sp.issparse(ld):
            return cls.from_csr(ld, scale=scale)
        raise TypeError(f"unsupported LD type {type(ld).__name__}: give LDRows, SparseLD or a "
                        "scipy sparse matrix")

    @classmethod
    def from_upper(cls, upper, *, scale=1.0, eigenvalues=None, eigenvalue_source=None,
                   keep=None, n_threads=1, layout="band", overwrite=False):
        """From a strict upper triangle: band rows when it is banded with non-decreasing row
        ends (windowed, block and sample LD), else CSR rows of the symmetric matrix; with
        ``layout="upper"``, upper band rows whenever it is banded (its values as they are).

        ``keep`` (boolean over the triangle's variants; default all) restricts the rows and
        columns to some variants, as ``upper.masked(keep)`` would, without that copy for band
        rows; ``eigenvalues`` are then in the kept variants' indices. ``n_threads`` write the
        band rows. Upper rows of all variants hold ``upper.data`` itself (no copy); of some,
        a copy of the kept values, or with ``overwrite`` the kept values moved to the front
        of ``upper.data``, which is then no longer the triangle's (no second copy of the
        matrix at any time)."""
        if layout not in ("band", "upper"):
            raise ValueError(f"layout must be 'band' or 'upper', not {layout!r}")
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            if keep.shape != (upper.n_variants,):
                raise ValueError(f"keep must have {upper.n_variants} entries, got {keep.shape}")
            keep = None if keep.all() else keep
        if layout == "upper" and upper.indices is None:
            data, indptr = _upper_rows(upper, keep, overwrite)
            return cls(data, indptr, len(indptr) - 1, upper=True, scale=scale,
                       eigenvalues=eigenvalues, eigenvalue_source=eigenvalue_source)
        band = _band_rows(upper, keep, n_threads)
        if band is not None:
            data, indptr, first = band
            return cls(data, indptr, len(indptr) - 1, first=first, scale=scale,
                       eigenvalues=eigenvalues, eigenvalue_source=eigenvalue_source)
        if keep is not None:
            upper = upper.masked(keep)
        rows = cls.from_csr(upper.to_scipy(), scale=scale, eigenvalues=eigenvalues)
        rows.eigenvalue_source = None if eigenvalues is not None else eigenvalue_source
        return rows

    @classmethod
    def from_csr(cls, matrix, *, scale=1.0, eigenvalues=None):
        """CSR rows of a scipy sparse R without its diagonal (see :meth:`of`)."""
        full = sp.csr_matrix(matrix)
        if full.shape[0] != full.shape[1]:
            raise ValueError(f"the LD matrix must be square, not {full.shape}")
        lower, upper = sp.tril(full, k=-1), sp.triu(full, k=1)
        if full.nnz and (lower.nnz == 0 or upper.nnz == 0):  # one triangle: mirror it
            half = lower + upper
            full = (half + half.T).tocsr()
        if full.diagonal().any():
            full = full.tolil()
            full.setdiag(0)
            full = full.tocsr()
            full.eliminate_zeros()
        full.sort_indices()
        return cls(full.data, full.indptr, full.shape[0], indices=full.indices, scale=scale,
                   eigenvalues=eigenvalues)

    @classmethod
    def concatenate(cls, parts):
        """One matrix from the LD of several chromosomes (block-diagonal, no LD between them):
        band rows stay band rows and upper rows upper rows (upper parts among band ones
        become band rows, :meth:`symmetric`), otherwise CSR; the eigenvalue blocks are shifted
        to the joint indices (None unless every part has them) and ``parts`` records the
        sizes. All parts must hold one value type and scale.

        Band parts are copied into the joint values one at a time and then read them (a part's
        ``data`` becomes its slice of the joint array, the same values), so that its own copy
        is freed when nothing else holds it: the peak is the joint matrix plus one part, not
        twice the matrix."""
        parts = [cls.of(p) for p in parts]
        if not all(p.upper for p in parts):
            parts = [p.symmetric() for p in parts]
        if len({p.data.dtype for p in parts}) > 1 or len({p.scale for p in parts}) > 1:
            raise ValueError("the chromosomes' LD matrices hold different value types")
        sizes = [p.n_variants for p in parts]
        offsets = np.cumsum([0] + sizes)
        eigenvalues, source = None, None
        if all(p.eigenvalues is not None for p in parts):
            eigenvalues = _shifted([p.eigenvalues for p in parts], offsets)
        elif all(p.eigenvalues is not None or p.eigenvalue_source for p in parts):
            def source(n_threads=1):
                return _shifted([p.block_eigenvalues(n_threads=n_threads) for p in parts], offsets)
        kwargs = dict(scale=parts[0].scale, eigenvalues=eigenvalues, eigenvalue_source=source,
                      parts=sizes,
                      diagonal=_joined(parts, "diagonal", 1.0), n_ref=_joined(parts, "n_ref"))
        if all(p.layout in ("band", "upper") for p in parts):
            starts = np.cumsum([0] + [len(p.data) for p in parts])
            indptr = np.concatenate([parts[0].indptr[:1]] +
                                    [p.indptr[1:] + s for p, s in zip(parts, starts)])
            data = np.empty(starts[-1], dtype=parts[0].data.dtype)
            for p, a, b in zip(parts, starts[:-1], starts[1:]):
                data[a:b] = p.data
                p.data = data[a:b]
            if parts[0].upper:
                return cls(data, indptr, offsets[-1], upper=True, **kwargs)
            first = np.concatenate([p.first + o for p, o in zip(parts, offsets)])
            return cls(data, indptr, offsets[-1], first=first, **kwargs)
        joined = sp.block_diag([p.to_scipy() for p in parts], format="csr")
        return cls(joined.data, joined.indptr, offsets[-1], indices=joined.indices, **kwargs)

    # -- what it is -----------------------------------------------------------------------
    @property
    def layout(self):
        return "upper" if self.upper else "band" if self.first is not None else "csr"

    @property
    def shape(self):
        return (self.n_variants, self.n_variants)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def segments(self):
        """Boundaries [0, c_1, ..., M] of the contiguous variant ranges with no LD between
        them (LD blocks; the chromosomes of a genome-wide fit): their E-step sweeps are
        independent and run in parallel with the result of one sequential sweep."""
        if self._segments is None:
            self._segments = _independent_segments(self)
        return self._segments

    def kernel_arrays(self):
        """(data, indices, first, indptr, scale, segments) as the compiled kernels read them:
        an empty ``indices`` marks band rows, an empty ``first`` CSR rows. Not for the upper
        layout (its kernels read ``data``, ``indptr``, ``scale`` and ``segments``)."""
        if self.upper:
            raise ValueError("kernel_arrays: the symmetric-row kernels need both triangles; "
                             "use LDRows.symmetric() of these upper rows")
        indices = np.empty(0, np.int32) if self.indices is None else self.indices
        first = np.empty(0, np.int64) if self.first is None else self.first
        return self.data, indices, first, self.indptr, self.scale, self.segments

    # -- reading it -----------------------------------------------------------------------
    def columns(self):
        """Column index of every stored value."""
        if self.indices is not None:
            return self.indices.astype(np.int64)
        lengths = np.diff(self.indptr)
        rows = np.repeat(np.arange(self.n_variants), lengths)
        first = rows + 1 if self.upper else self.first[rows]
        return np.arange(len(self.data)) - np.repeat(self.indptr[:-1], lengths) + first

    def to_scipy(self):
        """R without its diagonal (both triangles, also of upper rows) as scipy CSR of the
        stored values (explicit zeros dropped)."""
        m = self.n_variants
        # copies: eliminate_zeros compacts data and indptr in place
        out = sp.csr_matrix((self.data.copy(), self.columns(), self.indptr.copy()), shape=(m, m))
        out.eliminate_zeros()
        if self.upper:
            out = (out + out.T).tocsr()
            out.sort_indices()
        return out

    def symmetric(self):
        """These rows with both triangles: band rows of an upper layout (CSR when its row ends
        decrease), the other layouts as they are. What the Gibbs sampler, VIPRS's lazy sweeps
        and the mismatch filter read. Eigenvalues, parts, diagonal and n_ref carry over."""
        if not self.upper:
            return self
        stored = SparseLD(self.data, self.indptr, None, self.n_variants)
        out = LDRows.from_upper(stored, scale=self.scale, eigenvalues=self.eigenvalues,
                                eigenvalue_source=self.eigenvalue_source)
        out.parts, out.diagonal, out.n_ref = self.parts, self.diagonal, self.n_ref
        return out

    def to_csr(self, *, dtype=np.float64, diagonal=0.0):
        """The correlations (values times ``scale``) as scipy CSR, with ``diagonal`` added
        (0: R without its diagonal; 1: the full R)."""
        csr = self.to_scipy().astype(dtype)  # a copy: scaling leaves the stored values alone
        csr.data *= np.dtype(dtype).type(self.scale)
        if diagonal:
            csr = (csr + sp.identity(self.n_variants, dtype=dtype, format="csr") * diagonal).tocsr()
        return csr

    def dot(self, vector, *, diagonal=1.0):
        """(R_offdiag + diagonal I) @ vector in float64 (default: the full R), by the E-step's
        compiled row updates (q += R_offdiag pending) on the stored rows: no float64 copy of
        the matrix per product."""
        from vibank.prs._kernels._e_step import flush  # the kernels import vibank.ld

        v = np.array(vector, dtype=np.float64).ravel()
        product = np.zeros(self.n_variants)
        flush(self, v.copy(), product)  # flush zeroes its pending argument
        return product + diagonal * v

    def row(self, j):
        """Columns and stored values (float64, before ``scale``) of row j (upper layout: its
        columns after j only)."""
        lo, hi = self.indptr[j], self.indptr[j + 1]
        if self.indices is not None:
            columns = self.indices[lo:hi]
        else:
            start = j + 1 if self.upper else self.first[j]
            columns = np.arange(start, start + hi - lo)
        return columns, self.data[lo:hi].astype(np.float64)

    def at(self, pos, row):
        """Columns and correlations (float64) of the stored values ``pos`` of rows ``row``."""
        values = np.asarray(self.data[pos], dtype=np.float64) * self.scale
        if self.indices is not None:
            return np.asarray(self.indices[pos], np.int64), values
        first = np.asarray(row) + 1 if self.upper else self.first[row]
        return first + (pos - self.indptr[row]), values

    def entries_of(self, which):
        """(row, column, correlation) of every stored value of the rows ``which``, row by row."""
        which = np.asarray(which, np.int64)
        lengths = self.indptr[which + 1] - self.indptr[which]
        row = np.repeat(which, lengths)
        starts = np.repeat(self.indptr[which] - np.concatenate([[0], np.cumsum(lengths)[:-1]]),
                           lengths)
        pos = np.arange(int(lengths.sum())) + starts
        return (row, *self.at(pos, row))

    def row_widths(self):
        """Variants whose LD with variant j the matrix holds, j included: stored row length + 1
        (band rows count their diagonal slot too, one more; upper rows count as the band rows
        of the same matrix: their row, the earlier rows reaching column j, and 2)."""
        lengths = np.diff(self.indptr)
        if not self.upper:
            return lengths + 1
        # rows k < j reaching j: +1 from column k + 1 to k + len_k, by a running sum
        steps = np.zeros(self.n_variants + 1, np.int64)
        np.add.at(steps, np.arange(1, self.n_variants + 1)[lengths > 0], 1)
        np.add.at(steps, (np.arange(self.n_variants) + 1 + lengths)[lengths > 0], -1)
        return lengths + np.cumsum(steps[:-1]) + 2

    def mean_ld_score(self):
        """1 + mean_j sum_k R_jk^2: the mean LD score behind the initial h2 (prs_vi.md section 6)."""
        # upper rows hold each pair once
        return 1.0 + (1 + self.upper) * mean_row_sum_of_squares(self.data, self.indptr, self.scale)

    def block_eigenvalues(self, *, n_threads=1):
        """The extremal eigenvalues of the full R per block (``eigenvalues``; when absent,
        from ``eigenvalue_source``, else computed in blocks of 2,000 variants, ``n_threads``
        blocks at a time, and kept)."""
        with _EIGEN_LOCK:  # fits in threads share an LDRows: computed once
            if self.eigenvalues is None:
                if self.eigenvalue_source is not None:
                    self.eigenvalues = self.eigenvalue_source(n_threads=n_threads)
                else:
                    self.eigenvalues = extremal_eigenvalues_csr(self.to_csr(diagonal=1.0),
                                                                n_threads=n_threads)
        return self.eigenvalues

    def subset(self, keep):
        """The rows and columns of the variants ``keep`` (boolean over the M variants), in the
        same layout (a band stays a band in the new numbering); eigenvalue blocks re-indexed
        (the extremes of a block bound those of its principal submatrices)."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n_variants,):
            raise ValueError(f"keep must have {self.n_variants} entries, got {keep.shape}")
        new_index = np.cumsum(keep) - 1
        m = int(keep.sum())
        lengths = np.diff(self.indptr)
        rows = np.repeat(np.arange(self.n_variants), lengths)
        cols = self.columns()
        kept = keep[rows] & keep[cols]
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(new_index[rows[kept]], minlength=m), out=indptr[1:])
        source = None
        if self.eigenvalues is None and self.eigenvalue_source is not None:
            kept_variants = keep.copy()

            def source(n_threads=1):
                return reindex_blocks(self.block_eigenvalues(n_threads=n_threads), kept_variants)
        kwargs = dict(scale=self.scale, eigenvalues=reindex_blocks(self.eigenvalues, keep),
                      eigenvalue_source=source,
                      diagonal=None if self.diagonal is None else self.diagonal[keep],
                      n_ref=None if self.n_ref is None else self.n_ref[keep])
        if self.upper:  # the kept columns after a kept j: j+1, j+2, ... in the new numbering
            return LDRows(self.data[kept], indptr, m, upper=True, **kwargs)
        if self.first is None:
            return LDRows(self.data[kept], indptr, m, indices=new_index[cols[kept]].astype(
                self.indices.dtype), **kwargs)
        # a kept band row keeps its diagonal slot, so it is never empty: its first kept column
        first = new_index[cols[kept][indptr[:-1]]] if m else np.zeros(0, np.int64)
        return LDRows(self.data[kept], indptr, m, first=first, **kwargs)


def _joined(parts, name, fill=None):
    """The per-variant attribute ``name`` of joined parts (``fill`` where a part has None);
    None when every part has None, or when one has None and there is no ``fill``."""
    values = [getattr(p, name) for p in parts]
    if all(v is None for v in values) or (fill is None and any(v is None for v in values)):
        return None
    return np.concatenate([np.full(p.n_variants, fill, np.float64) if v is None else v
                           for p, v in zip(parts, values)])


def _shifted(blocks_per_part, offsets):
    """The eigenvalue blocks of joined parts, each part's shifted by its offset."""
    return [{**block, "start": block["start"] + int(o), "stop": block["stop"] + int(o)}
            for blocks, o in zip(blocks_per_part, offsets) for block in blocks]


def reindex_blocks(blocks, keep):
    """Eigenvalue blocks over some variants in the indices of the ``keep`` ones (empty blocks
    dropped; None or none left gives None)."""
    if not blocks:
        return None
    kept = np.concatenate([[0], np.cumsum(keep)])
    out = [{**block, "start": int(kept[block["start"]]), "stop": int(kept[block["stop"]])}
           for block in blocks if kept[block["stop"]] > kept[block["start"]]]
    return out or None


def _band_rows(upper, keep=None, n_threads=1):
    """(data, indptr, first) of the symmetric band rows of a banded strict upper triangle, of
    its ``keep`` variants (boolean over its variants; None: all), or None when ``upper`` has
    column indices or the kept rows' ends decrease. The rows are written by the compiled
    ``symmetric_band`` (NumPy twin: ``vibank.ld._reference.symmetric_band``), read from the
    unmasked triangle: no masked copy and no per-value index arrays."""
    if upper.indices is not None:
        return None
    ends = np.arange(upper.n_variants) + np.diff(upper.indptr) + 1  # exclusive end of each row
    if keep is None:
        variant, flags = np.arange(upper.n_variants), np.zeros(0, np.uint8)
    else:
        variant = np.flatnonzero(keep)
        flags = np.ascontiguousarray(keep, dtype=np.uint8)
        # a kept row keeps the kept columns of its band: it ends where the kept count reaches
        ends = np.concatenate([[0], np.cumsum(keep)])[ends[variant]]
    m = len(variant)
    if np.any(np.diff(ends) < 0):
        return None
    # first column of row j = first row k whose band reaches j (k <= j)
    first = np.minimum(np.searchsorted(ends, np.arange(m), side="right"), np.arange(m))
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(ends - first, out=indptr[1:])
    data = np.empty(indptr[-1], dtype=upper.data.dtype)
    symmetric_band(np.ascontiguousarray(upper.data), np.ascontiguousarray(upper.indptr, np.int64),
                   variant.astype(np.int64), flags, first.astype(np.int64), indptr, data,
                   n_threads=n_threads)
    return data, indptr, first.astype(np.int64)


def _upper_rows(upper, keep=None, overwrite=False):
    """(data, indptr) of the upper band rows of the ``keep`` variants (boolean over the band
    strict upper triangle's variants; None: all, ``upper.data`` itself). The kept values are
    copied by the compiled ``kept_upper`` (NumPy twin: ``vibank.ld._reference.kept_upper``),
    into ``upper.data`` itself with ``overwrite``."""
    if keep is None:
        return upper.data, np.asarray(upper.indptr, np.int64)
    variant = np.flatnonzero(keep)
    kept = np.concatenate([[0], np.cumsum(keep)])
    ends = np.arange(upper.n_variants) + np.diff(upper.indptr) + 1  # exclusive end of each row
    indptr = np.zeros(len(variant) + 1, dtype=np.int64)
    # a kept row keeps the kept columns of its band, after itself
    np.cumsum(kept[ends[variant]] - kept[variant + 1], out=indptr[1:])
    source = np.ascontiguousarray(upper.data)
    out = source if overwrite else np.empty(indptr[-1], dtype=source.dtype)
    kept_upper(source, np.ascontiguousarray(upper.indptr, np.int64), variant.astype(np.int64),
               np.ascontiguousarray(keep, dtype=np.uint8), indptr, out)
    # moved to the front of the stored values: held as a slice unless most of them went
    data = out[:indptr[-1]]
    return (data.copy() if len(data) < len(out) // 2 else data), indptr


def _independent_segments(ld):
    """See :attr:`LDRows.segments`."""
    m = ld.n_variants
    lengths = np.diff(ld.indptr)
    ends = np.arange(1, m + 1)  # exclusive end of the columns each row reaches, at least j + 1
    if ld.upper:
        ends = ends + lengths
    elif ld.first is not None:
        ends = np.maximum(ends, ld.first + lengths)
    elif len(ld.indices):
        np.maximum.at(ends, np.repeat(np.arange(m), lengths), ld.indices + 1)
    reach = np.maximum.accumulate(ends) if m else ends
    cuts = np.flatnonzero(reach == np.arange(1, m + 1)) + 1
    return np.concatenate([[0], cuts]).astype(np.int64)


def mean_row_sum_of_squares(data, indptr, scale=1.0, *, chunk=1 << 20):
    """mean_j sum_k (scale R_jk)^2 over the rows of a row-compressed LD (the mean LD score minus 1).

    The values are squared and summed in chunks, without float64 copies of the whole matrix
    (0.5 GB for 33 M values, up to a second per fit on a loaded machine).
    """
    m = len(indptr) - 1
    lo, hi = int(indptr[0]), int(indptr[-1])
    total = 0.0
    for start in range(lo, hi, chunk):
        values = np.asarray(data[start:min(start + chunk, hi)], dtype=np.float64)
        total += float(values @ values)
    return total * scale**2 / m if m else 0.0
