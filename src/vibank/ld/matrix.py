"""The LD matrix object: load a chromosome's LD from its Zarr store, mask variants, multiply.

The on-disk layout is documented in ``vibank.io.ld_store`` (and ``docs/formats.md``): the strict
upper triangle, row-compressed, as float32/float64 or int16/int8 quantised values, with the
variant table and the estimator's attributes.
"""

import numpy as np

from vibank.io.ld_store import dequantise, open_ld_store, read_ld_arrays, read_ld_variants
from vibank.ld.eigenvalues import default_blocks, extremal_eigenvalues
from vibank.ld.estimators import SparseLD
from vibank.ld.rows import LDRows, reindex_blocks


class LDMatrix:
    """One chromosome's LD matrix backed by a vibank Zarr store.

    Parameters
    ----------
    path : the ``.zarr`` store written by :func:`vibank.io.ld_store.write_ld_store`

    Attributes
    ----------
    attrs : dict, the store's attributes (estimator, its parameters, n_ref, format version ...)
    """

    def __init__(self, path):
        self.path = str(path)
        self._root, self.attrs = open_ld_store(path)
        self._variants = None
        self._mask = None

    @property
    def n_stored(self):
        """Variants in the store (before masking)."""
        return int(self.attrs["n_variants"])

    @property
    def mask(self):
        """Boolean mask over the stored variants (all True until :meth:`set_mask`)."""
        return np.ones(self.n_stored, dtype=bool) if self._mask is None else self._mask.copy()

    @property
    def n_variants(self):
        return int(self.mask.sum())

    def variants(self):
        """Variant table of the unmasked variants: SNP CHR POS CM A1 A2 MAF LD_SCORE N_REF."""
        if self._variants is None:
            self._variants = read_ld_variants(self._root, self.attrs)
        return self._variants[self.mask].reset_index(drop=True)

    def set_mask(self, keep):
        """Restrict every later load to some variants, without rewriting the store.

        Parameters
        ----------
        keep : boolean array over the stored variants, or a collection of SNP IDs
        """
        keep = np.asarray(keep)
        if keep.dtype != bool:
            keep = np.isin(self._all_snps(), keep.astype(str))
        if keep.shape != (self.n_stored,):
            raise ValueError(f"mask must have {self.n_stored} entries, got {keep.shape}")
        self._mask = keep.copy()
        return self

    def _all_snps(self):
        if self._variants is None:
            self._variants = read_ld_variants(self._root, self.attrs)
        return self._variants["SNP"].to_numpy()

    def load(self, *, dtype=np.float32, keep_quantised=False):
        """Read the (masked) strict upper triangle as a :class:`SparseLD`.

        Parameters
        ----------
        dtype : float dtype of the returned values (ignored with ``keep_quantised``)
        keep_quantised : return int8/int16 values as stored, for on-the-fly dequantisation;
            multiply by 1 / ``attrs['quantisation_scale']`` to get correlations
        """
        data, indptr, indices = read_ld_arrays(self._root, self.attrs)
        if not keep_quantised:
            data = dequantise(data, dtype, self.attrs["quantisation_scale"])
        ld = SparseLD(data, indptr, indices, self.n_stored)
        return ld if self._mask is None else ld.masked(self._mask)

    def rows(self, keep=None, *, layout="band"):
        """The LD of the kept variants as the models read it: :class:`~vibank.ld.rows.LDRows`
        with the stored values (int8/int16 stay quantised, ``scale`` turns them into
        correlations), band rows for banded stores, and the store's eigenvalue blocks in the
        kept variants' indices.

        Parameters
        ----------
        keep : boolean array over the stored variants, or a collection of SNP IDs (as
            :meth:`set_mask`, which it calls); default: the current mask
        layout : "band" (default: band rows of both triangles, or CSR) or "upper": the stored
            strict upper triangle of a banded store as it is read (its kept values moved to the
            front), half the memory of band rows, for exact VIPRS fits
            (``LDRows.from_upper``); CSR for a store with column indices
        """
        if keep is not None:
            self.set_mask(keep)
        mask = self.mask
        blocks = reindex_blocks(self.attrs.get("eigenvalues"), mask)
        source = None
        if "eigenvalues" not in self.attrs and self.attrs["source"] == "vibank":
            def source(n_threads=1):
                return reindex_blocks(self.stored_eigenvalues(mask, n_threads=n_threads), mask)
        data, indptr, indices = read_ld_arrays(self._root, self.attrs)
        rows = LDRows.from_upper(SparseLD(data, indptr, indices, self.n_stored), keep=mask,
                                 scale=1.0 / self.attrs["quantisation_scale"], eigenvalues=blocks,
                                 eigenvalue_source=source, layout=layout, overwrite=True)
        n_ref = self.attrs.get("n_ref")
        rows.n_ref = None if not n_ref or n_ref < 0 else np.full(rows.n_variants, float(n_ref))
        return rows

    def to_csr(self, *, dtype=np.float32, symmetric=False):
        """The (masked) matrix as scipy CSR: strict upper triangle, or symmetric with unit diagonal."""
        return self.load(dtype=dtype).to_scipy(symmetric=symmetric)

    def dot(self, vector, *, dtype=np.float64):
        """R @ vector with the full symmetric R (unit diagonal)."""
        return self.to_csr(dtype=dtype, symmetric=True) @ np.asarray(vector, dtype=dtype)

    def extremal_eigenvalues(self, blocks=None, *, n_threads=1):
        """Per-block extremal eigenvalues of the (masked) symmetric R; see
        :func:`~vibank.ld.eigenvalues.extremal_eigenvalues`."""
        return extremal_eigenvalues(self.load(dtype=np.float64), blocks, n_threads=n_threads)

    def stored_eigenvalues(self, keep=None, *, n_threads=1):
        """The eigenvalue blocks of the whole stored matrix (``attrs['eigenvalues']``, or
        computed as ``build_ld_store(eigenvalues=True)`` keeps them when the store does not:
        the estimator's blocks, else consecutive blocks of 2,000 variants), in the stored
        variants' indices.

        Parameters
        ----------
        keep : boolean array over the stored variants; only the blocks holding a kept variant
            are computed (default: all)
        n_threads : blocks computed at the same time
        """
        if self.attrs.get("eigenvalues") is not None:
            return self.attrs["eigenvalues"]
        data, indptr, indices = read_ld_arrays(self._root, self.attrs)
        stored = SparseLD(data, indptr, indices, self.n_stored)
        blocks = self.attrs.get("blocks") or default_blocks(self.n_stored)
        if keep is not None:
            kept = np.concatenate([[0], np.cumsum(keep)])
            blocks = [(a, b) for a, b in blocks if kept[b] > kept[a]]
        return extremal_eigenvalues(stored, blocks, scale=1.0 / self.attrs["quantisation_scale"],
                                    n_threads=n_threads)

    @property
    def quantised(self):
        return self.attrs["quantisation_scale"] != 1

