"""vibank.genotypes.run_qc (plink2, one filter at a time) on the small cohort with artefacts."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibank import VibankError
from vibank import columns as col
from vibank.genotypes import QCParams, run_qc
from vibank.io.plink import read_bim, read_dosages, read_fam, read_sample_table

DEFAULT_STEPS = ["input", "duplicate_id", "variant_missingness", "sample_missingness", "hwe",
                 "maf", "mac"]
AMBIGUOUS = {frozenset("AT"), frozenset("CG")}


@dataclass(frozen=True)
class QCRun:
    out: Path
    prefix: Path
    summary: pd.DataFrame
    removed: pd.DataFrame
    scratch: Path


def _run(bfile, sample_table, out, params=None):
    """run_qc into ``out`` with plink2's scratch directory redirected to ``out/scratch``."""
    out.mkdir(parents=True)
    scratch = out / "scratch"
    scratch.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(scratch))
        summary = run_qc(bfile, out / "qc", out / "summary.tsv", out / "removed.tsv",
                         sample_table=sample_table, params=params)
    removed = pd.read_csv(out / "removed.tsv", sep="\t", dtype=str)
    return QCRun(out, out / "qc", summary, removed, scratch)


@pytest.fixture(scope="module")
def qc(cohort, tmp_path_factory):
    return _run(cohort.prefix, cohort.sample_table, tmp_path_factory.mktemp("qc") / "default")


@pytest.fixture(scope="module")
def qc_ambiguous(cohort, tmp_path_factory):
    return _run(cohort.prefix, cohort.sample_table, tmp_path_factory.mktemp("qc") / "ambiguous",
                QCParams(exclude_ambiguous=True))


def test_run_qc__summary_rows_in_order(qc, cohort):
    summary = qc.summary
    assert summary["filter"].tolist() == DEFAULT_STEPS
    assert summary["step"].tolist() == list(range(len(DEFAULT_STEPS)))
    first = summary.iloc[0]
    assert first["variants_remaining"] == len(read_bim(cohort.prefix))
    assert first["samples_remaining"] == len(read_fam(cohort.prefix))
    assert first["variants_removed"] == first["samples_removed"] == 0
    written = pd.read_csv(qc.out / "summary.tsv", sep="\t", keep_default_na=False)
    assert written["filter"].tolist() == DEFAULT_STEPS
    np.testing.assert_array_equal(written["variants_remaining"], summary["variants_remaining"])


def test_run_qc__remaining_is_previous_minus_removed(qc):
    s = qc.summary
    for kind in ("variants", "samples"):
        remaining = s[f"{kind}_remaining"].to_numpy()
        np.testing.assert_array_equal(remaining[1:], remaining[:-1] - s[f"{kind}_removed"][1:])
    # variant filters remove no sample and vice versa
    sample_step = s["filter"] == "sample_missingness"
    assert (s.loc[~sample_step, "samples_removed"] == 0).all()
    assert (s.loc[sample_step, "variants_removed"] == 0).all()


def test_run_qc__artefacts_are_removed(qc):
    removed = qc.summary.set_index("filter")
    assert removed.loc["variant_missingness", "variants_removed"] > 0  # failed probes (10%)
    assert removed.loc["sample_missingness", "samples_removed"] > 0  # bad samples (8%)
    assert removed.loc["duplicate_id", "variants_removed"] == 0  # simulated ids are unique


def test_run_qc__failed_probes_are_removed_by_variant_missingness(qc, cohort):
    # failed probes miss ~10% of calls, every other variant ~0.2-1.5%: --geno 0.05 splits them
    missing = (read_dosages(cohort.prefix) == -127).mean(axis=0)
    bim = read_bim(cohort.prefix)
    failed = set(bim.loc[missing > QCParams().geno, col.SNP])
    n_probes = sum(round(cohort.params.error_variant_fraction * m)
                   for m in cohort.info["n_variants"].values())
    assert len(failed) == n_probes
    assert (missing[missing <= QCParams().geno] < 0.03).all()
    removed = qc.removed
    assert set(removed.loc[removed["filter"] == "variant_missingness", "id"]) == failed
    assert not failed & set(read_bim(qc.prefix)[col.SNP])


def test_run_qc__output_matches_last_remaining_counts(qc, cohort):
    bim, fam = read_bim(qc.prefix), read_fam(qc.prefix)
    last = qc.summary.iloc[-1]
    assert len(bim) == last["variants_remaining"]
    assert len(fam) == last["samples_remaining"]
    assert read_dosages(qc.prefix).shape == (len(fam), len(bim))
    # survivors keep their input order and .bim rows
    raw = read_bim(cohort.prefix).set_index(col.SNP)
    pd.testing.assert_frame_equal(raw.loc[bim[col.SNP]].reset_index(), bim, check_like=True)


def test_run_qc__removed_table_lists_removed_ids(qc, cohort):
    removed = qc.removed
    assert list(removed.columns) == ["kind", "id", "filter"]
    variants = removed[removed.kind == "variant"]
    samples = removed[removed.kind == "sample"]
    raw_bim, raw_fam = read_bim(cohort.prefix), read_fam(cohort.prefix)
    assert set(variants["id"]) == set(raw_bim[col.SNP]) - set(read_bim(qc.prefix)[col.SNP])
    assert set(samples["id"]) == set(raw_fam[col.IID]) - set(read_fam(qc.prefix)[col.IID])
    assert variants["id"].is_unique and samples["id"].is_unique
    counts = removed.groupby("filter").size()
    summary = qc.summary.set_index("filter")
    for name, n in counts.items():
        assert n == summary.loc[name, "variants_removed"] + summary.loc[name, "samples_removed"]
    assert counts.sum() == summary[["variants_removed", "samples_removed"]].to_numpy().sum()


def test_run_qc__sample_missingness_removes_most_missing_samples(qc, cohort):
    dosages = read_dosages(cohort.prefix)
    fam = read_fam(cohort.prefix)
    n_removed = qc.summary.set_index("filter").loc["sample_missingness", "samples_removed"]
    worst = fam[col.IID].to_numpy()[np.argsort(-(dosages == -127).mean(axis=1))[:n_removed]]
    removed = qc.removed.loc[qc.removed["filter"] == "sample_missingness", "id"]
    assert set(removed) == set(worst)


def test_run_qc__population_filters_use_reference_samples_only(qc, cohort):
    samples = read_sample_table(cohort.sample_table).set_index(col.IID)
    fam = read_fam(qc.prefix)
    pops = samples.loc[fam[col.IID], col.POP]
    assert set(pops) == {"EUR", "AFR", "EAS"}  # other populations are kept
    eur = (pops == "EUR").to_numpy()
    dosages = read_dosages(qc.prefix)[eur].astype(float)
    observed = dosages >= 0
    a1 = np.where(observed, dosages, 0).sum(0)
    n_alleles = 2 * observed.sum(0)
    mac = np.minimum(a1, n_alleles - a1)
    assert mac.min() >= QCParams().mac
    assert (mac / n_alleles).min() >= QCParams().maf


def test_run_qc__no_leftover_temporary_files(qc, qc_ambiguous):
    for run in (qc, qc_ambiguous):
        assert not list(run.out.rglob(".*.tmp"))
        assert not list(run.scratch.iterdir())  # plink2's scratch directory was removed
        assert sorted(p.name for p in run.out.iterdir()) == [
            "qc.bed", "qc.bim", "qc.fam", "removed.tsv", "scratch", "summary.tsv"]


def test_run_qc__duplicated_variant_id_removes_both_copies(cohort, tmp_path):
    raw = tmp_path / "raw"
    for ext in (".bed", ".fam"):
        shutil.copy(cohort.prefix.with_suffix(ext), raw.with_suffix(ext))
    bim = read_bim(cohort.prefix)
    dup_id = bim.loc[4, col.SNP]
    bim.loc[5, col.SNP] = dup_id
    bim.to_csv(raw.with_suffix(".bim"), sep="\t", header=False, index=False)
    run = _run(raw, cohort.sample_table, tmp_path / "out")
    row = run.summary.set_index("filter").loc["duplicate_id"]
    assert row["variants_removed"] == 2
    assert row["variants_remaining"] == len(bim) - 2
    dropped = run.removed[run.removed["filter"] == "duplicate_id"]
    assert dropped["id"].tolist() == [dup_id, dup_id]
    assert dup_id not in set(read_bim(run.prefix)[col.SNP])


def test_run_qc__sample_missing_from_table_raises(cohort, tmp_path):
    table = pd.read_csv(cohort.sample_table, sep="\t", dtype=str)
    first = table[col.IID].iloc[0]
    table.iloc[1:].to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    with pytest.raises(VibankError, match=f"sample {first} .* is missing"):
        run_qc(cohort.prefix, tmp_path / "qc", tmp_path / "s.tsv", tmp_path / "r.tsv",
               sample_table=tmp_path / "samples.tsv")
    assert not (tmp_path / "qc.bed").exists() and not (tmp_path / "s.tsv").exists()


def test_run_qc__unknown_population_raises(cohort, tmp_path):
    with pytest.raises(VibankError, match="no sample of population SAS"):
        run_qc(cohort.prefix, tmp_path / "qc", tmp_path / "s.tsv", tmp_path / "r.tsv",
               sample_table=cohort.sample_table, params=QCParams(population="SAS"))


def test_run_qc__exclude_ambiguous_removes_exactly_at_cg_snps(qc_ambiguous, cohort):
    steps = qc_ambiguous.summary["filter"].tolist()
    assert steps == [*DEFAULT_STEPS[:2], "strand_ambiguous", *DEFAULT_STEPS[2:]]
    bim = read_bim(cohort.prefix)
    survivors = bim[~bim[col.SNP].duplicated(keep=False)]  # what duplicate_id left
    pairs = [frozenset(p) for p in zip(survivors[col.A1], survivors[col.A2])]
    ambiguous = set(survivors.loc[[p in AMBIGUOUS for p in pairs], col.SNP])
    assert ambiguous  # the simulated alleles include A/T and C/G SNPs
    removed = qc_ambiguous.removed
    assert set(removed.loc[removed["filter"] == "strand_ambiguous", "id"]) == ambiguous
    row = qc_ambiguous.summary.set_index("filter").loc["strand_ambiguous"]
    assert row["variants_removed"] == len(ambiguous)
    final = read_bim(qc_ambiguous.prefix)
    final_pairs = {frozenset(p) for p in zip(final[col.A1], final[col.A2])}
    assert not final_pairs & AMBIGUOUS


def test_run_qc__disabled_thresholds_are_skipped(cohort, tmp_path):
    params = QCParams(geno=None, hwe=0, mac=None, remove_duplicate_ids=False)
    run = _run(cohort.prefix, cohort.sample_table, tmp_path / "out", params)
    assert run.summary["filter"].tolist() == ["input", "sample_missingness", "maf"]
