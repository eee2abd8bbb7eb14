"""Variant selection with plink2: LD pruning (``--indep-pairwise``) and subsets as .bed."""

import tempfile
from pathlib import Path

from vibank.genotypes._plink2 import run_plink2
from vibank.io.plink import plink2_input_flag


def prune_variants(bfile, *, chrom, keep, window_kb, step, r2, min_maf, threads=1,
                   memory_mb=None, workdir=None):
    """The variants of chromosome ``chrom`` that plink2 ``--indep-pairwise`` keeps among the
    ``keep`` samples (a plink keep file) with MAF >= ``min_maf``: a set of SNP IDs.

    ``window_kb``, ``step``, ``r2``: the pruning window, step (variants) and r^2 threshold.
    plink's files go to a scratch directory under ``workdir`` (default: the system's).
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = run_plink2(["--bfile", bfile, "--chr", chrom, "--keep", keep, "--maf", min_maf,
                          "--indep-pairwise", f"{window_kb}kb", step, r2],
                         Path(tmp) / "prune", threads=threads, memory_mb=memory_mb)
        return set(Path(f"{out}.prune.in").read_text().split())


def extract_bed(prefix, snps, out, *, threads=1, memory_mb=None):
    """Copy the variants ``snps`` (IDs) of the PLINK 1 or 2 fileset ``prefix``, every sample,
    to the PLINK 1 fileset ``out`` (returned as a Path). From a .pgen, plink2 writes ALT as the
    .bim's A1 (the allele bed readers count) and rounds dosages to hard calls."""
    out = Path(out)
    listed = out.with_name(f"{out.name}.extract.txt")
    listed.write_text("\n".join(snps) + "\n")
    return run_plink2([plink2_input_flag(prefix), prefix, "--extract", listed, "--make-bed"],
                      out, threads=threads, memory_mb=memory_mb)
