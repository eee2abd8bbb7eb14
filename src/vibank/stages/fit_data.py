"""The inputs of a PRS fit, read from files: summary statistics harmonised to LD stores, the
stores' LD rows of the matched variants, and the validation samples' genotypes and phenotype.

:func:`load_fit_data` is what the fit stages, ``vibank fit``, the benches and the verification
scripts call; the models then take ``(b, n, ld)`` from it.
"""

import inspect
import json
import logging
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.parallel import thread_map
from vibank.ld import LDMatrix, LDRows
from vibank.prs import std_beta_from_z
from vibank.sumstats import harmonise, read_sumstats_any

log = logging.getLogger(__name__)

#: what :func:`reuse_loaded_data` keeps: inputs already read in this process, by their arguments
_LOADED = None


@contextmanager
def reuse_loaded_data():
    """Within this context, :func:`load_chromosome` and :func:`load_validation` read each input
    once: a second call with the same arguments returns the first call's object. One job that
    fits several models to the same statistics and LD then reads them once. The fits do not
    change these objects (a store's on-demand eigenvalues are cached in its rows, which is the
    same result, and a joint fit points each chromosome's band rows at their slice of the joint
    values, the same values: ``LDRows.concatenate``); outputs are the same as with fresh reads
    (tests/unit/test_stages_prs.py)."""
    global _LOADED
    outer, _LOADED = _LOADED, {} if _LOADED is None else _LOADED
    try:
        yield
    finally:
        _LOADED = outer


def _reused(key, load):
    """``load()``, or within :func:`reuse_loaded_data` the object of an earlier call with the
    same ``key``."""
    if _LOADED is None:
        return load()
    if key not in _LOADED:
        _LOADED[key] = load()
    return _LOADED[key]


@dataclass
class ChromosomeData:
    """One chromosome's harmonised summary statistics and LD.

    Attributes
    ----------
    path : the summary statistics file; chrom : the LD store's chromosome
    matched : the harmonised table (the LD's variant order and A1)
    counts : per-filter variant counts of the harmonisation (for the fit JSON)
    audit : one row per variant left out, with the reason
    b, n : standardised marginal effects and per-variant N
    maf : allele frequency for the alpha prior and per-allele effects: the GWAS's, else the panel's
    ld_score : the store's LD score of each matched variant
    ld : :class:`~vibank.ld.LDRows` of the matched variants
    build : the store's genome build
    """

    path: str
    chrom: str
    matched: pd.DataFrame
    counts: dict
    audit: pd.DataFrame
    b: np.ndarray
    n: np.ndarray
    maf: np.ndarray
    ld_score: np.ndarray
    ld: LDRows
    build: str


@dataclass
class FitData:
    """The chromosomes of a fit, in the order given, and what a joint fit takes from them."""

    chromosomes: list

    @property
    def std_beta(self):
        return [c.b for c in self.chromosomes]

    @property
    def n_per_variant(self):
        return [c.n for c in self.chromosomes]

    @property
    def ld(self):
        return [c.ld for c in self.chromosomes]

    @property
    def maf(self):
        """The allele frequencies of all chromosomes in the joint order."""
        return np.concatenate([c.maf for c in self.chromosomes])

    @property
    def n_variants(self):
        return sum(len(c.b) for c in self.chromosomes)

    @property
    def parts(self):
        """Each chromosome's slice of the joint variant order."""
        bounds = np.cumsum([0] + [len(c.b) for c in self.chromosomes])
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    @property
    def label(self):
        return f"chromosomes {', '.join(str(c.chrom) for c in self.chromosomes)}"

    @property
    def ld_scores(self):
        """Per chromosome the stores' LD scores of the matched variants (LD-score regression)."""
        return [c.ld_score for c in self.chromosomes]

    def allele_frequency(self, prior):
        """Per chromosome the allele frequencies the alpha prior needs (None for other priors);
        VibankError naming the file and variant when one is not in (0, 1)."""
        if prior != "alpha":
            return None
        for c in self.chromosomes:
            bad = ~((c.maf > 0) & (c.maf < 1))
            if bad.any():
                snp = c.matched[col.SNP].to_numpy()[np.argmax(bad)]
                raise VibankError(f"{c.path}: the alpha prior needs an allele frequency in (0, 1); "
                                  f"variant {snp} has MAF {c.maf[np.argmax(bad)]}")
        return [c.maf for c in self.chromosomes]


def load_chromosome(sumstats_path, ld_path, *, min_overlap=0.75, sumstats_format="auto", n=None,
                    column_map=None, harmonise_options=None, mismatch_filter=None,
                    ld_layout="band"):
    """One chromosome's :class:`ChromosomeData`: summary statistics in any supported format,
    harmonised to the LD store's variants, and the store's LD rows of the matched variants.

    ``mismatch_filter``: None (off) or the options of ``vibank.prs.mismatch.mismatch_filter``
    (prs_vi.md section 9), run on the harmonised z-scores and the panel's LD; the variants it
    removes join the audit with reason ``ld_mismatch``. ``ld_layout``: the rows' layout
    (``LDMatrix.rows``): "band", or "upper" for fits that run exact VIPRS sweeps only (half
    the memory).
    """
    key, reading, rest = _chromosome_options(sumstats_path, ld_path, min_overlap=min_overlap,
                                             sumstats_format=sumstats_format, n=n,
                                             column_map=column_map,
                                             harmonise_options=harmonise_options,
                                             mismatch_filter=mismatch_filter, ld_layout=ld_layout)
    return _reused(key, lambda: _with_ld(_harmonised(sumstats_path, ld_path, **reading), ld_path,
                                         **rest))


def _chromosome_options(sumstats_path, ld_path, **options):
    """The reuse key of :func:`load_chromosome`'s arguments, and its options split into those of
    :func:`_harmonised` and those of :func:`_with_ld`."""
    key = ("chromosome", str(sumstats_path), str(ld_path),
           json.dumps(options, sort_keys=True, default=str))
    rest = {k: options.pop(k) for k in ("mismatch_filter", "ld_layout")}
    return key, options, rest


def _harmonised(sumstats_path, ld_path, *, min_overlap, sumstats_format, n, column_map,
                harmonise_options):
    """The pandas half of :func:`load_chromosome`: the statistics read and harmonised to the
    store's variants (what it needs of the store: its variant table); a dict, small enough to
    come back from a worker process."""
    sumstats, read_audit = read_sumstats_any(sumstats_path, format=sumstats_format, n=n,
                                             column_map=column_map)
    store = LDMatrix(ld_path)
    chrom = store.attrs.get("chrom", "?")
    variants = store.variants()
    matched, mask, audit, counts = harmonise(
        sumstats, variants, min_overlap=min_overlap, label=str(sumstats_path),
        ld_label=str(ld_path), **(harmonise_options or {}))
    audit = pd.concat([read_audit, audit], ignore_index=True) if len(read_audit) else audit
    log.info("chr%s: %d of %d variants harmonised to the LD", chrom, len(matched), len(sumstats))
    return {"path": str(sumstats_path), "chrom": chrom, "matched": matched, "mask": mask,
            "audit": audit, "counts": counts, "panel": variants[[col.MAF, "LD_SCORE"]],
            "build": store.attrs.get("genome_build", "NR")}


def _with_ld(h, ld_path, *, mismatch_filter, ld_layout):
    """:func:`_harmonised`'s result with the store's LD rows of the matched variants (and the
    mismatch filter, which reads them): the :class:`ChromosomeData`."""
    matched, mask, audit, chrom = h["matched"], h["mask"], h["audit"], h["chrom"]
    ld = LDMatrix(ld_path).rows(mask, layout=ld_layout)
    if mismatch_filter is not None:
        from vibank.prs.mismatch import mismatch_audit
        from vibank.prs.mismatch import mismatch_filter as run_filter

        result = run_filter(matched[col.Z].to_numpy(float), ld, snps=matched[col.SNP].to_numpy(),
                            **mismatch_filter)
        log.info("chr%s: the LD-mismatch filter removed %d of %d variants in %d rounds", chrom,
                 int((~result.keep).sum()), len(matched), result.rounds)
        if not result.keep.all():
            audit = pd.concat([audit, mismatch_audit(matched, result)], ignore_index=True)
            matched = matched[result.keep].reset_index(drop=True)
            ld = ld.subset(result.keep)
            mask = mask.copy()
            mask[np.flatnonzero(mask)[~result.keep]] = False
    n_values = matched[col.N].to_numpy(float)
    maf = matched[col.MAF].to_numpy(float) if col.MAF in matched else np.full(len(matched), np.nan)
    panel = h["panel"][mask]
    return ChromosomeData(
        path=h["path"], chrom=chrom, matched=matched, counts=h["counts"], audit=audit,
        b=std_beta_from_z(matched[col.Z].to_numpy(float), n_values), n=n_values,
        maf=np.where(np.isnan(maf), panel[col.MAF].to_numpy(float), maf),
        ld_score=panel["LD_SCORE"].to_numpy(float), ld=ld, build=h["build"])


def load_fit_data(sumstats_paths, ld_paths, *, min_overlap=0.75, n_threads=1, **options):
    """:class:`FitData` of (summary statistics, LD store) pairs, one per chromosome, with
    ``options`` as :func:`load_chromosome` (sumstats_format, n, column_map, harmonise_options,
    mismatch_filter, ld_layout). Several chromosomes must share one LD value type and scale (a
    joint fit streams them as one matrix).

    With ``n_threads`` > 1 and several chromosomes, their statistics are read and harmonised in
    ``n_threads`` worker processes (forked, on Linux: pandas' parsing and string matching hold
    the GIL, so threads barely overlap them) while this process reads each chromosome's LD rows
    as its harmonised table arrives, on ``n_threads`` threads (decompression runs outside the
    GIL). The result does not depend on it.
    """
    pairs = list(zip(sumstats_paths, ld_paths, strict=True))
    specs = [_chromosome_options(s, l, min_overlap=min_overlap, **_load_defaults(options))
             for s, l in pairs]
    todo = [i for i, (key, _, _) in enumerate(specs) if _LOADED is None or key not in _LOADED]
    if n_threads > 1 and len(todo) > 1 and "fork" in multiprocessing.get_all_start_methods() \
            and sys.platform.startswith("linux"):
        with ProcessPoolExecutor(min(n_threads, len(todo)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            harmonised = {i: pool.submit(_harmonised, *pairs[i], **specs[i][1]) for i in todo}

            def load(i):
                key, _, rest = specs[i]
                return _reused(key, lambda: _with_ld(harmonised[i].result(), pairs[i][1], **rest))

            chromosomes = thread_map(load, range(len(pairs)), n_threads)
    else:
        chromosomes = thread_map(lambda pair: load_chromosome(*pair, min_overlap=min_overlap,
                                                              **options), pairs, n_threads)
    if len({(c.ld.dtype, c.ld.scale) for c in chromosomes}) > 1:
        raise VibankError(f"{', '.join(map(str, ld_paths))}: a genome-wide fit needs LD stores "
                          "with one value type (dtype); rebuild them with the same ld dtype")
    return FitData(chromosomes)


def _load_defaults(options):
    """``options`` of :func:`load_chromosome` with its defaults filled in (one reuse key for
    the same call, however it is spelt)."""
    defaults = {name: p.default for name, p in inspect.signature(load_chromosome).parameters.items()
                if p.kind is p.KEYWORD_ONLY and name != "min_overlap"}
    unknown = set(options) - set(defaults)
    if unknown:
        raise TypeError(f"load_fit_data: unexpected options {sorted(unknown)}")
    return {**defaults, **options}


def load_validation(data, bfile, keep_path, phenotype_path, trait):
    """Standardised genotypes and phenotype of the validation samples for the fitted variants
    (``vibank.prs.tuning.validation_matrix``): genotypes of the variants of ``data`` in their
    order from ``bfile``, the samples of ``keep_path`` with a ``trait`` value in
    ``phenotype_path``.

    Returns
    -------
    x : (n, M) float32, y : (n,) float64, binary : bool
    """
    # the chromosomes' own objects (kept alive by the reuse context): their variants, alleles
    # and frequencies
    key = ("validation", str(bfile), str(keep_path), str(phenotype_path), trait,
           tuple(id(c) for c in data.chromosomes))
    return _reused(key, lambda: _load_validation(data, bfile, keep_path, phenotype_path, trait))


def _load_validation(data, bfile, keep_path, phenotype_path, trait):
    from vibank.io.plink import read_bim, read_dosages, read_fam, read_keep, read_phenotype_column
    from vibank.prs.tuning import validation_matrix

    fam, bim = read_fam(bfile), read_bim(bfile)
    in_keep = fam[col.IID].isin(set(read_keep(keep_path)[col.IID])).to_numpy()
    y_all = read_phenotype_column(phenotype_path, trait).reindex(fam[col.IID].to_numpy())
    samples = np.flatnonzero(in_keep & y_all.notna().to_numpy())
    if len(samples) < 10:
        raise VibankError(f"{keep_path}: only {len(samples)} validation samples with a {trait} phenotype")
    if in_keep.sum() > len(samples):
        log.info("%d of %d validation samples have no %s phenotype and are left out",
                 in_keep.sum() - len(samples), in_keep.sum(), trait)
    matched = pd.concat([c.matched for c in data.chromosomes])
    position = pd.Series(np.arange(len(bim)), index=bim[col.SNP].to_numpy())
    missing = ~matched[col.SNP].isin(position.index)
    if missing.any():
        raise VibankError(f"{bfile}.bim: fitted variant {matched[col.SNP][missing].iloc[0]} is absent")
    index = position[matched[col.SNP]].to_numpy()
    order = np.argsort(index)  # bed-reader reads faster in file order
    dosages = np.empty((len(samples), len(index)), dtype=np.float32)
    dosages[:, order] = read_dosages(bfile, sample_index=samples, variant_index=index[order])
    return validation_matrix(
        dosages, flip=bim[col.A1].to_numpy()[index] != matched[col.A1].to_numpy(),
        allele_frequency=np.concatenate([c.maf for c in data.chromosomes]),
        phenotype=y_all.to_numpy(float)[samples])
