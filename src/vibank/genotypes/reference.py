"""An external LD reference panel (e.g. 1000 Genomes) made ready for LD: one population's
samples, the variants the study's genotypes also hold, the same genome build, its own QC.

A public panel and a study disagree in ways that must not reach an LD matrix silently: another
genome build (every shared rsID at another position), variants with other alleles under the
same ID, variants the study does not have (their LD would be computed and never used). The
panel is therefore restricted, before LD, to the variants whose ID, chromosome, position and
allele pair agree with the target's .bim; every variant left out is listed with its reason,
and a build mismatch is an error naming both files.
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes._plink2 import run_plink2
from vibank.genotypes.qc import QCParams, run_qc
from vibank.io.atomic import write_table
from vibank.io.plink import read_bim, read_fam, read_variants

log = logging.getLogger(__name__)

#: above this share of ID-matched variants at another position the builds are taken to differ
MAX_POSITION_MISMATCH = 0.05

#: QC of a reference panel: no sample missingness filter by default (public panels are
#: complete), MAC low enough for a few hundred people
REFERENCE_QC = {"geno": 0.05, "mind": None, "maf": 0.01, "mac": 5, "hwe": 1e-6}


def match_reference_variants(reference_bim, target_bim, *, reference_name="reference",
                             target_name="target"):
    """Which reference variants agree with the target's: (keep mask, audit table).

    A variant is kept when the target has its ID on the same chromosome and position with the
    same two alleles (in either order). The audit lists every other reference variant with a
    reason: ``not_in_target``, ``other_position`` or ``other_alleles``.

    Raises VibankError when no variant is shared, or when more than MAX_POSITION_MISMATCH of
    the ID-matched variants lie at other positions (another genome build).
    """
    target = target_bim.drop_duplicates(col.SNP, keep=False).set_index(col.SNP)
    found = reference_bim[col.SNP].isin(target.index).to_numpy()
    reason = pd.Series("not_in_target", index=reference_bim.index, dtype=object)
    shared = reference_bim[found]
    t = target.loc[shared[col.SNP]]
    same_place = ((shared[col.CHR].astype(str).to_numpy() == t[col.CHR].astype(str).to_numpy())
                  & (shared[col.POS].to_numpy() == t[col.POS].to_numpy()))
    alleles = [frozenset(p) for p in zip(shared[col.A1], shared[col.A2])]
    target_alleles = [frozenset(p) for p in zip(t[col.A1], t[col.A2])]
    same_alleles = pd.Series(alleles).to_numpy() == pd.Series(target_alleles).to_numpy()
    if found.sum() == 0:
        raise VibankError(f"{reference_name}: no variant ID is shared with {target_name} "
                          "(do both use rsIDs, or both CHR:POS IDs?)")
    moved = ~same_place
    if moved.mean() > MAX_POSITION_MISMATCH:
        first = shared.iloc[int(moved.argmax())]
        other = t.iloc[int(moved.argmax())]
        raise VibankError(
            f"{reference_name}: {moved.mean():.0%} of the {len(shared)} variants shared by ID "
            f"with {target_name} lie at other positions (first: {first[col.SNP]} at "
            f"{first[col.CHR]}:{first[col.POS]} vs {other[col.CHR]}:{other[col.POS]}): the "
            "genome builds differ; lift one over")
    reason.iloc[found.nonzero()[0][moved]] = "other_position"
    reason.iloc[found.nonzero()[0][same_place & ~same_alleles]] = "other_alleles"
    keep = pd.Series(False, index=reference_bim.index)
    keep.iloc[found.nonzero()[0][same_place & same_alleles]] = True
    audit = pd.DataFrame({col.SNP: reference_bim.loc[~keep, col.SNP],
                          "reason": reason[~keep]})
    return keep.to_numpy(), audit


def gwas_sites(files):
    """Where the GWAS files have variants: {"positions": set of (CHR, POS)} from every file with
    positions, {"ids": set of IDs} from those without (e.g. LDSC's munged files).

    ``files``: (path, format, column_map) per file (``vibank.io.sumstats_formats``)."""
    from vibank.io.sumstats_formats import read_sumstats_columns

    positions, ids = set(), set()
    for path, fmt, column_map in files:
        raw = read_sumstats_columns(path, format=fmt, column_map=column_map or None).columns
        if "CHR" in raw.columns and "POS" in raw.columns:
            chrom = raw["CHR"].astype(str).str.removeprefix("chr").to_numpy()
            pos = pd.to_numeric(raw["POS"], errors="coerce").to_numpy()
            positions |= {(c, int(p)) for c, p in zip(chrom, pos) if np.isfinite(p)}
        else:
            ids |= set(raw["SNP"].dropna().astype(str))
    return {"positions": positions, "ids": ids}


def at_sites(bim, sites):
    """Mask of the .bim's variants at ``sites`` (:func:`gwas_sites`)."""
    chrom = bim[col.CHR].astype(str).str.removeprefix("chr").to_numpy()
    at = np.array([(c, int(p)) in sites["positions"] for c, p in zip(chrom, bim[col.POS])],
                  dtype=bool)
    return at | bim[col.SNP].isin(sites["ids"]).to_numpy()


def reference_samples(bfile, *, keep=None, sample_table=None, population=None):
    """Rows (FID, IID) of the reference .fam chosen by a keep file or a population."""
    fam = read_fam(bfile)
    if keep is not None:
        ids = pd.read_csv(keep, sep=r"\s+", header=None, comment="#", dtype=str)
        column = ids.columns[1] if ids.shape[1] > 1 else ids.columns[0]
        chosen = fam[fam[col.IID].isin(ids[column])]
        source = keep
    elif population is not None:
        if sample_table is None:
            raise VibankError(f"{bfile}: a population ({population}) needs a sample_table")
        table = pd.read_csv(sample_table, sep=r"\s+", dtype=str)
        missing = {col.IID, col.POP} - set(table.columns)
        if missing:
            raise VibankError(f"{sample_table}: required column {sorted(missing)[0]} is missing")
        chosen = fam[fam[col.IID].isin(table.loc[table[col.POP] == population, col.IID])]
        source = f"{sample_table} (POP {population})"
    else:
        return fam[[col.FID, col.IID]]
    if chosen.empty:
        raise VibankError(f"{source}: no sample of {bfile}.fam is chosen")
    return chosen[[col.FID, col.IID]]


def prepare_reference(bfile, out_prefix, summary_path, audit_path, *, target_bim, keep=None,
                      sample_table=None, population=None, qc=None, gwas=None, threads=1,
                      memory_mb=None):
    """The reference panel ``bfile`` restricted to its chosen samples and to the variants of
    ``target_bim`` (:func:`match_reference_variants`; None keeps them all) and, with ``gwas``
    ((path, format, column_map) per file), at the sites of the GWAS files, then QC'd (``vibank.genotypes.qc``),
    written to ``out_prefix.{bed,bim,fam}``.

    Writes the QC summary (its first rows: input, chosen samples, shared variants) to
    ``summary_path`` and every variant or sample left out with its reason to ``audit_path``.
    Returns the summary.
    """
    qc = {**REFERENCE_QC, **(qc or {})}
    bim = read_bim(bfile)
    samples = reference_samples(bfile, keep=keep, sample_table=sample_table,
                                population=population)
    if target_bim is None:  # no study genotypes: every variant goes on (the GWAS is matched later)
        shared = np.ones(len(bim), dtype=bool)
        audit = pd.DataFrame({col.SNP: [], "reason": []})
    else:
        # a .bim or (a target biobank without a study) a .pvar
        target = read_variants(str(target_bim).removesuffix(".bim").removesuffix(".pvar"))
        shared, audit = match_reference_variants(bim, target, reference_name=f"{bfile}.bim",
                                                 target_name=str(target_bim))
    n_shared = int(shared.sum())
    if gwas:
        in_gwas = at_sites(bim, gwas_sites(gwas))
        audit = pd.concat([audit, pd.DataFrame({col.SNP: bim.loc[shared & ~in_gwas, col.SNP],
                                                "reason": "not_in_gwas"})], ignore_index=True)
        if not (shared & in_gwas).any():
            raise VibankError(f"{bfile}.bim: no variant at a position of the GWAS files "
                              f"({', '.join(str(p) for p, _, _ in gwas)}): another genome "
                              "build, or chromosomes named differently?")
        shared = shared & in_gwas
    n_fam = len(read_fam(bfile))
    log.info("reference %s: %d of %d samples chosen; %d of %d variants shared with %s "
             "(%s)", bfile, len(samples), n_fam, shared.sum(), len(bim), target_bim,
             ", ".join(f"{r} {n}" for r, n in audit["reason"].value_counts().items()))
    with tempfile.TemporaryDirectory(prefix="vibank_reference_") as tmp:
        tmp = Path(tmp)
        (tmp / "v.txt").write_text("\n".join(bim.loc[shared, col.SNP]) + "\n")
        samples.to_csv(tmp / "s.txt", sep="\t", header=False, index=False)
        subset = run_plink2(["--bfile", bfile, "--extract", tmp / "v.txt", "--keep",
                             tmp / "s.txt", "--make-bed"], tmp / "subset", threads=threads,
                            memory_mb=memory_mb)
        # run_qc reads a sample table; every sample here is of the chosen population
        table = read_fam(str(subset))[[col.IID]].assign(**{col.POP: "reference", col.SEX: "NA",
                                                           col.AGE: "NA"})
        write_table(table, tmp / "samples.tsv")
        summary = run_qc(str(subset), out_prefix, tmp / "qc.tsv", tmp / "removed.tsv",
                         sample_table=tmp / "samples.tsv",
                         params=QCParams(population=None, remove_duplicate_ids=True, **qc),
                         threads=threads, memory_mb=memory_mb)
        removed = pd.read_csv(tmp / "removed.tsv", sep="\t", dtype=str)
    head = pd.DataFrame([
        ("reference", "", 0, 0, len(bim), n_fam),
        ("samples_chosen", keep or population or "all", 0, n_fam - len(samples), len(bim),
         len(samples)),
        ("shared_with_target", str(target_bim or "none"), len(bim) - n_shared, 0, n_shared,
         len(samples)),
        *([("at_gwas_sites", "the external_gwas files", n_shared - int(shared.sum()), 0,
            int(shared.sum()), len(samples))] if gwas else []),
    ], columns=["filter", "threshold", "variants_removed", "samples_removed",
                "variants_remaining", "samples_remaining"])
    summary = pd.concat([head, summary[summary["filter"] != "input"].drop(columns="step")],
                        ignore_index=True)
    summary.insert(0, "step", range(len(summary)))
    write_table(summary, summary_path)
    audit = pd.concat([audit.assign(kind="variant").rename(columns={col.SNP: "id",
                                                                   "reason": "filter"}),
                       removed], ignore_index=True)[["kind", "id", "filter"]]
    write_table(audit, audit_path)
    return summary
