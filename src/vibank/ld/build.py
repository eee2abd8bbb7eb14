"""Build a chromosome's LD store from PLINK genotypes of a reference panel."""

import logging
import time

import numpy as np

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.ld_store import QUANTISATION, quantise, write_ld_store
from vibank.io.plink import read_bim, read_dosages, read_fam, read_keep
from vibank.ld import _ld_ops
from vibank.ld.blocks import ends_from_blocks, find_blocks
from vibank.ld.estimators import (LDEstimator, SparseLD, compute_ld, ld_scores,
                                  standardise_panel, taper_band)
from vibank.ld.eigenvalues import extremal_eigenvalues
from vibank.ld.windows import block_ends, read_blocks, window_ends

log = logging.getLogger(__name__)


def build_ld_store(bfile, out, *, chrom, keep=None, estimator=None, dtype="float32",
                   compute_dtype=np.float32, n_threads=1, bias_corrected_ld_score=False,
                   genome_build="unknown", eigenvalues=True):
    """Compute LD for one chromosome of ``bfile`` on the ``keep`` samples and write a Zarr store.

    Variants monomorphic in the panel, including those with no observed call there, are left out
    (and counted in the log and in ``attrs['n_monomorphic_dropped']``).

    Parameters
    ----------
    bfile : PLINK prefix
    out : output ``.zarr`` path
    chrom : chromosome name as in the .bim
    keep : plink keep file (#FID IID) of the LD panel samples; all samples when None
    estimator : LDEstimator (default windowed, 3 cM)
    dtype : stored value type (float32, float64, int16, int8)
    compute_dtype : float32 (default) or float64 accumulation
    n_threads : parallel tiles
    bias_corrected_ld_score : LD scores with r^2 - (1 - r^2) / (n - 2)
    genome_build : recorded in the attributes
    eigenvalues : also store each block's extremal eigenvalues (``attrs['eigenvalues']``), which
        the PRS fits use to regularise an LD matrix that is not positive semi-definite; without
        them a fit that needs them computes the same values from the store
        (``LDMatrix.stored_eigenvalues``), so store them when many fits will read the store

    Returns
    -------
    dict of summary numbers (variants, pairs, seconds)
    """
    t0 = time.perf_counter()
    estimator = estimator or LDEstimator()
    bim, fam = read_bim(bfile), read_fam(bfile)
    variant_index = np.flatnonzero((bim[col.CHR] == str(chrom)).to_numpy())
    if len(variant_index) == 0:
        raise VibankError(f"{bfile}.bim: no variant on chromosome {chrom}")
    if keep is not None:
        ids = read_keep(keep)[col.IID]
        sample_index = np.flatnonzero(fam[col.IID].isin(ids).to_numpy())
        if len(sample_index) < len(ids):
            raise VibankError(f"{keep}: {len(ids) - len(sample_index)} samples are not in {bfile}.fam")
    else:
        sample_index = np.arange(len(fam))
    if len(sample_index) < 3:
        raise VibankError(f"LD panel has {len(sample_index)} samples; at least 3 are needed")
    estimator = estimator.for_panel(len(sample_index))
    dosages = read_dosages(bfile, sample_index=sample_index, variant_index=variant_index,
                           num_threads=n_threads)
    counts = np.where(dosages >= 0, dosages, 0)
    observed = dosages >= 0
    # a variant with no observed call has no max or min (the initial values would make it look
    # polymorphic); like a monomorphic one it has no variance in the panel and is left out
    no_call = ~observed.any(axis=0)
    polymorphic = ~no_call & (counts.max(axis=0, where=observed, initial=0)
                              != counts.min(axis=0, where=observed, initial=2))
    if not polymorphic.all():
        detail = f" ({int(no_call.sum())} of them with no observed call)" if no_call.any() else ""
        log.warning("ld chr%s: %d variants monomorphic in the panel%s are left out",
                    chrom, int((~polymorphic).sum()), detail)
    dosages = dosages[:, polymorphic]
    variants = bim.iloc[variant_index[polymorphic]].reset_index(drop=True)
    pos, cm = variants[col.POS].to_numpy(), variants[col.CM].to_numpy()
    if np.any(np.diff(pos) < 0):
        raise VibankError(f"{bfile}.bim: positions on chromosome {chrom} are not sorted")

    x, freq, n_obs = standardise_panel(dosages, dtype=compute_dtype, n_threads=n_threads)
    del dosages, counts, observed
    ends = None
    if estimator.name == "windowed":
        ends = window_ends(pos, cm, window_cm=estimator.window_cm, window_kb=estimator.window_kb,
                           window_variants=estimator.window_variants)
    elif estimator.name == "block":
        if estimator.blocks_file:
            starts, stops = read_blocks(estimator.blocks_file, chrom)
            if len(starts) == 0:
                log.warning("ld chr%s: %s has no block on this chromosome; every variant is "
                            "a block of its own (no LD kept)", chrom, estimator.blocks_file)
            ends = block_ends(pos, starts, stops)
        else:  # vibank's block finder on the windowed matrix
            windowed = compute_ld(x, estimator=LDEstimator("windowed", window_cm=estimator.window_cm),
                                  ends=window_ends(pos, cm, window_cm=estimator.window_cm or 3.0),
                                  n_threads=n_threads)
            found = find_blocks(windowed, n_ref=x.shape[1], min_variants=estimator.block_min_variants,
                                max_variants=estimator.block_max_variants)
            ends = ends_from_blocks(found, len(pos))
            del windowed
            log.info("ld chr%s: block finder made %d blocks", chrom, len(found))
    ld = compute_ld(x, estimator=estimator, cm=cm, pos=pos, ends=ends, n_threads=n_threads)
    n_ref = len(sample_index)
    scores = ld_scores(ld, n_ref=n_ref, bias_corrected=bias_corrected_ld_score)
    if estimator.name == "windowed" and estimator.taper == "bartlett":
        # after the LD scores, which are the panel's (tapering is for the fit's likelihood)
        taper_band(ld, [(c, w) for c, w in ((cm, estimator.window_cm),
                                            (pos / 1000.0, estimator.window_kb),
                                            (np.arange(len(pos)), estimator.window_variants))
                        if w is not None])
    fields = {
        "snp": variants[col.SNP], "chr": variants[col.CHR], "a1": variants[col.A1],
        "a2": variants[col.A2], "pos": pos, "cm": cm, "maf": np.minimum(freq, 1 - freq),
        "ld_score": scores, "n_ref": n_obs, "a1_freq": freq,
    }
    attrs = {
        "estimator": estimator.name, "estimator_params": estimator.params(), "n_ref": n_ref,
        "chrom": str(chrom), "genome_build": genome_build,
        "ld_score_bias_corrected": bool(bias_corrected_ld_score),
        "compute_dtype": np.dtype(compute_dtype).name,
        "n_monomorphic_dropped": int((~polymorphic).sum()),
    }
    blocks = None
    if estimator.name == "block":
        change = np.flatnonzero(np.diff(ends) != 0) + 1
        bounds = [0, *change.tolist(), len(ends)]
        blocks = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        attrs["blocks"] = [list(b) for b in blocks]
    stored = SparseLD(quantise_values(ld.data, dtype, n_threads=n_threads), ld.indptr, ld.indices,
                      ld.n_variants)
    del ld
    if eigenvalues:  # of the matrix as stored, i.e. after any quantisation, per LD block
        attrs["eigenvalues"] = extremal_eigenvalues(
            stored, blocks, scale=1.0 / QUANTISATION[np.dtype(dtype).name], n_threads=n_threads)
    write_ld_store(out, stored, fields, attrs, dtype=dtype)
    note = panel_note(estimator.name, n_ref, max(b - a for a, b in blocks) if blocks else None,
                      taper=estimator.taper)
    if note:
        log.warning("ld chr%s: %s", chrom, note)
    seconds = time.perf_counter() - t0
    log.info("ld chr%s: %d variants x %d samples, %d pairs, %s -> %s in %.1f s", chrom,
             len(variants), n_ref, len(stored.data), dtype, out, seconds)
    return {"n_variants": len(variants), "n_pairs": len(stored.data), "seconds": seconds,
            "note": note}


def quantise_values(values, dtype, *, n_threads=1):
    """``vibank.io.ld_store.quantise`` of float LD values, compiled and in ``n_threads`` threads
    for int16/int8 (the same values: products in double, halves rounded to even)."""
    dtype = np.dtype(dtype)
    scale = QUANTISATION.get(dtype.name)
    if scale is None:
        raise VibankError(f"LD dtype must be one of {', '.join(QUANTISATION)}, got {dtype}")
    values = np.ascontiguousarray(values)
    if scale == 1 or values.dtype not in (np.float32, np.float64):
        return quantise(values, dtype)
    out = np.empty(len(values), dtype=dtype)
    _ld_ops.quantise_values(values, out, float(scale), n_threads)
    return out


#: panels smaller than this give LD noisy enough to matter against a large GWAS (prs_vi.md 6a)
SMALL_PANEL = 1000


def panel_note(estimator, n_ref, max_block=None, taper="bartlett"):
    """What a user of LD from ``n_ref`` people should know (measured in
    verification/ld_reference_noise.py; docs/benchmarks.md), or None."""
    if n_ref >= SMALL_PANEL:
        return None
    note = (f"a panel of {n_ref} people: fits against a GWAS of N >> {n_ref} use the effective "
            "sample size for the panel's LD noise (vibank fit --ld-noise auto, the default)")
    if estimator == "windowed" and taper == "none":
        note += ("; a hard window on so small a panel is not positive semi-definite, and fits "
                 "that diverge on it restart with a ridge that shrinks h2 (to about half with "
                 "378 people); the default taper (--taper bartlett) keeps it semi-definite")
    if estimator == "block" and max_block is not None and max_block >= n_ref:
        note += (f"; blocks of up to {max_block} variants are rank-deficient and are fitted in "
                 "the panel's column space; with 378 people against a GWAS of 500,000, the "
                 "default windowed LD (tapered, window by panel size) predicted sparse and "
                 "polygenic traits better (docs/benchmarks.md)")
    return note
