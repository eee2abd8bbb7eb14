"""LD pruning with plink2 ``--indep-pairwise``."""

import tempfile
from pathlib import Path

from vibank.genotypes._plink2 import run_plink2


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
