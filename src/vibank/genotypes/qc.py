"""Genotype QC with plink2, one filter at a time so that each filter's removals are counted.

Order (each filter sees what survived the previous ones):
duplicate variant IDs -> strand-ambiguous SNPs (optional) -> long-range LD regions (optional)
-> variant missingness (--geno) -> sample missingness (--mind) -> HWE (--hwe) -> MAF (--maf)
-> minor allele count (--mac). Missingness uses every sample; HWE, MAF and MAC use the samples of
``population`` only, because a pooled multi-ancestry sample violates Hardy-Weinberg at every
variant whose frequency differs between populations.
"""

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.io.atomic import atomic_path, write_table
from vibank.io.plink import read_bim, read_fam, samples_for_fam

log = logging.getLogger(__name__)

AMBIGUOUS = {frozenset("AT"), frozenset("CG")}


@dataclass(frozen=True)
class QCParams:
    """QC thresholds (config section ``qc``); None or 0 disables a threshold."""

    population: str | None = "EUR"
    geno: float | None = 0.05
    mind: float | None = 0.05
    maf: float | None = 0.01
    mac: int | None = 20
    hwe: float | None = 1e-6
    remove_duplicate_ids: bool = True
    exclude_ambiguous: bool = False
    exclude_long_range_ld: bool = False
    long_range_ld_file: str | None = None


def _read_ranges(path):
    path = Path(path)
    if not path.exists():
        raise VibankError(f"{path}: long-range LD region file not found")
    ranges = pd.read_csv(path, sep=r"\s+", header=None, comment="#", usecols=[0, 1, 2])
    ranges.columns = ["chrom", "start", "end"]
    ranges["chrom"] = ranges["chrom"].astype(str).str.removeprefix("chr")
    return ranges


def _python_filters(bim, params):
    """Filters decided from the .bim alone: (name, threshold, boolean 'remove' mask)."""
    filters = []
    if params.remove_duplicate_ids:
        filters.append(("duplicate_id", "all copies", bim[col.SNP].duplicated(keep=False)))
    if params.exclude_ambiguous:
        pairs = [frozenset((a, b)) for a, b in zip(bim[col.A1], bim[col.A2])]
        filters.append(("strand_ambiguous", "A/T, C/G", pd.Series([p in AMBIGUOUS for p in pairs])))
    if params.exclude_long_range_ld:
        if not params.long_range_ld_file:
            raise VibankError("qc.exclude_long_range_ld is true but qc.long_range_ld_file is null")
        ranges = _read_ranges(params.long_range_ld_file)
        hit = np.zeros(len(bim), dtype=bool)
        for r in ranges.itertuples():
            hit |= (bim[col.CHR] == r.chrom).to_numpy() & bim[col.POS].between(r.start, r.end).to_numpy()
        filters.append(("long_range_ld", params.long_range_ld_file, pd.Series(hit)))
    return filters


def run_qc(bfile, out_prefix, summary_path, removed_path, *, sample_table, params=None,
           threads=1, memory_mb=None):
    """Filter ``bfile`` into ``out_prefix.{bed,bim,fam}`` and tabulate every filter's removals.

    Parameters
    ----------
    bfile : PLINK prefix of the raw genotypes
    out_prefix : PLINK prefix of the QC'd genotypes
    summary_path : TSV with one row per filter: step, filter, threshold, variants_removed,
        samples_removed, variants_remaining, samples_remaining
    removed_path : TSV listing each removed variant or sample (kind, id, filter)
    sample_table : path of the sample table (IID, POP, ...), used for ``params.population``
    params : QCParams
    threads, memory_mb : resources handed to plink2

    Returns
    -------
    summary : DataFrame (the table written to ``summary_path``)
    """
    params = params or QCParams()
    bim, fam = read_bim(bfile), read_fam(bfile)
    samples = samples_for_fam(sample_table, bfile)
    pop_ids = set(samples[col.IID]) if params.population is None else set(
        samples.loc[samples[col.POP] == params.population, col.IID]
    )
    if not pop_ids:
        raise VibankError(f"{sample_table}: no sample of population {params.population} (qc.population)")

    variants = pd.Series(True, index=bim.index)
    keep_samples = pd.Series(True, index=fam.index)
    rows, removed = [], []

    def record(name, threshold, drop_variants=None, drop_samples=None):
        nv = ns = 0
        if drop_variants is not None:
            drop = variants & drop_variants
            nv = int(drop.sum())
            removed.extend(("variant", s, name) for s in bim.loc[drop, col.SNP])
            variants[drop] = False
        if drop_samples is not None:
            drop = keep_samples & drop_samples
            ns = int(drop.sum())
            removed.extend(("sample", s, name) for s in fam.loc[drop, col.IID])
            keep_samples[drop] = False
        rows.append((len(rows), name, threshold, nv, ns, int(variants.sum()), int(keep_samples.sum())))
        log.info("qc %-18s removed %6d variants, %5d samples; %d variants, %d samples remain",
                 name, nv, ns, variants.sum(), keep_samples.sum())

    record("input", "", None, None)
    for name, threshold, mask in _python_filters(bim, params):
        record(name, threshold, drop_variants=mask.to_numpy())

    plink_filters = [
        ("variant_missingness", "--geno", params.geno, "variants", False),
        ("sample_missingness", "--mind", params.mind, "samples", False),
        ("hwe", "--hwe", params.hwe, "variants", True),
        ("maf", "--maf", params.maf, "variants", True),
        ("mac", "--mac", params.mac, "variants", True),
    ]
    with tempfile.TemporaryDirectory(prefix="vibank_qc_") as tmp:
        tmp = Path(tmp)
        for name, flag, value, target, population_only in plink_filters:
            if not value:
                continue
            use = keep_samples & fam[col.IID].isin(pop_ids) if population_only else keep_samples
            if not use.any():
                raise VibankError(f"qc: no sample left for filter {name}")
            (tmp / "v.txt").write_text("\n".join(bim.loc[variants, col.SNP]) + "\n")
            fam.loc[use, [col.FID, col.IID]].to_csv(tmp / "s.txt", sep="\t", header=False, index=False)
            out = run_plink2(
                ["--bfile", bfile, "--extract", tmp / "v.txt", "--keep", tmp / "s.txt",
                 flag, value, "--write-snplist", "--write-samples"],
                tmp / name, threads=threads, memory_mb=memory_mb,
            )
            if target == "variants":
                kept = set(Path(f"{out}.snplist").read_text().split())
                record(name, f"{flag} {value}", drop_variants=~bim[col.SNP].isin(kept).to_numpy())
            else:
                kept = pd.read_csv(f"{out}.id", sep="\t", dtype=str)["IID"]
                record(name, f"{flag} {value}", drop_samples=~fam[col.IID].isin(kept).to_numpy())
        if not variants.any() or not keep_samples.any():
            raise VibankError(f"qc: no variant or no sample passes the filters on {bfile}")
        (tmp / "v.txt").write_text("\n".join(bim.loc[variants, col.SNP]) + "\n")
        fam.loc[keep_samples, [col.FID, col.IID]].to_csv(tmp / "s.txt", sep="\t", header=False, index=False)
        made = run_plink2(
            ["--bfile", bfile, "--extract", tmp / "v.txt", "--keep", tmp / "s.txt", "--make-bed"],
            tmp / "qc", threads=threads, memory_mb=memory_mb,
        )
        for ext in (".bim", ".fam", ".bed"):
            with atomic_path(f"{out_prefix}{ext}") as target:
                Path(f"{made}{ext}").replace(target)

    summary = pd.DataFrame(rows, columns=["step", "filter", "threshold", "variants_removed",
                                          "samples_removed", "variants_remaining",
                                          "samples_remaining"])
    write_table(summary, summary_path)
    write_table(pd.DataFrame(removed, columns=["kind", "id", "filter"]), removed_path)
    return summary
