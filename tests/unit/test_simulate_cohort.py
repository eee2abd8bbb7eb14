"""vibank.simulate.cohort: files, sample table, .bim layout, thinning, determinism, artefacts."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from vibank import VibankError
from vibank import columns as col
from vibank.io.plink import read_bim, read_dosages, read_fam, read_sample_table
from vibank.simulate import CohortParams, simulate_cohort

MISSING = -127


def _files(cohort):
    return [*(cohort.prefix.with_suffix(ext) for ext in (".bed", ".bim", ".fam")),
            cohort.sample_table]


def test_simulate_cohort__writes_plink_fileset_and_sample_table(cohort):
    for path in _files(cohort):
        assert path.is_file() and path.stat().st_size > 0, path
    bim, fam = read_bim(cohort.prefix), read_fam(cohort.prefix)
    samples = read_sample_table(cohort.sample_table)
    assert list(samples.columns) == list(col.SAMPLE_COLUMNS)
    assert cohort.info["n_samples"] == len(fam) == len(samples)
    assert sum(cohort.info["n_variants"].values()) == len(bim)
    assert set(cohort.info["n_variants"]) == {"1", "2"}
    # .bed size: 3 magic bytes + ceil(n / 4) bytes per variant
    assert cohort.prefix.with_suffix(".bed").stat().st_size == 3 + len(bim) * -(-len(fam) // 4)
    assert read_dosages(cohort.prefix).shape == (len(fam), len(bim))


def test_simulate_cohort__sample_counts_and_unique_ids(cohort):
    samples = read_sample_table(cohort.sample_table)
    fam = read_fam(cohort.prefix)
    assert samples[col.POP].value_counts().to_dict() == cohort.params.populations
    assert samples[col.IID].is_unique
    assert fam[col.IID].tolist() == samples[col.IID].tolist()
    assert fam[col.FID].tolist() == samples[col.FID].tolist()
    assert fam[col.SEX].tolist() == samples[col.SEX].tolist()
    assert set(samples[col.SEX]) <= {1, 2}
    assert samples[col.AGE].between(40, 70).all()


def test_simulate_cohort__bim_genetic_map_and_alleles(cohort):
    bim = read_bim(cohort.prefix)
    expected_cm = bim[col.POS].to_numpy() * cohort.params.recombination_rate * 100
    np.testing.assert_allclose(bim[col.CM].to_numpy(), expected_cm, rtol=1e-9)
    assert set(bim[col.A1]) <= set("ACGT")
    assert set(bim[col.A2]) <= set("ACGT")
    assert (bim[col.A1] != bim[col.A2]).all()
    assert bim[col.SNP].is_unique
    assert set(bim[col.CHR]) == {"1", "2"}
    assert (bim[col.POS] >= 1).all() and (bim[col.POS] <= cohort.params.chromosome_length).all()


def test_simulate_cohort__positions_increase_one_variant_per_window(cohort):
    bim = read_bim(cohort.prefix)
    spacing = cohort.params.min_spacing_bp
    for chrom, rows in bim.groupby(col.CHR):
        pos = rows[col.POS].to_numpy()
        assert (np.diff(pos) > 0).all(), chrom
        window = (pos - 1) // spacing  # POS = 0-based msprime position + 1
        assert len(np.unique(window)) == len(window), chrom
    # the thinning keeps a realistic density, not a handful of sites
    assert len(bim) > 0.3 * cohort.params.n_chromosomes * cohort.params.chromosome_length / spacing


def test_simulate_cohort__every_variant_passes_min_maf_without_artefacts(clean_cohort):
    dosages = read_dosages(clean_cohort.prefix)
    assert dosages.dtype == np.int8
    assert not (dosages == MISSING).any()
    assert set(np.unique(dosages)) <= {0, 1, 2}
    freq = dosages.mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    assert maf.min() >= clean_cohort.params.min_maf


def test_simulate_cohort__artefacts_do_not_change_sites_or_samples(cohort, clean_cohort):
    # same seed: artefacts are drawn after thinning, so the .bim and the samples are the same
    pd.testing.assert_frame_equal(read_bim(cohort.prefix), read_bim(clean_cohort.prefix))
    assert cohort.sample_table.read_bytes() == clean_cohort.sample_table.read_bytes()
    raw, clean = read_dosages(cohort.prefix), read_dosages(clean_cohort.prefix)
    called = raw != MISSING
    # calling errors only turn heterozygotes into homozygotes
    changed = called & (raw != clean)
    assert (clean[changed] == 1).all()
    assert set(np.unique(raw[changed])) <= {0, 2}


def test_simulate_cohort__same_seed_is_byte_identical(cohort, make_cohort, tmp_path):
    again = make_cohort(tmp_path, cohort.params)
    for first, second in zip(_files(cohort), _files(again)):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_simulate_cohort__different_seed_gives_different_genotypes(cohort, make_cohort, tmp_path):
    other = make_cohort(tmp_path, dataclasses.replace(cohort.params, seed=99))
    assert (other.prefix.with_suffix(".bed").read_bytes()
            != cohort.prefix.with_suffix(".bed").read_bytes())
    assert read_bim(other.prefix)[col.POS].tolist() != read_bim(cohort.prefix)[col.POS].tolist()


def test_simulate_cohort__artefacts_add_missing_calls_and_bad_samples(cohort):
    dosages = read_dosages(cohort.prefix)
    missing = dosages == MISSING
    assert missing.any()
    per_sample = np.sort(missing.mean(axis=1))[::-1]
    n_bad = int(round(cohort.params.bad_sample_fraction * len(per_sample)))
    assert n_bad >= 1
    median = np.median(per_sample)
    # bad samples miss 8% of their calls (binomial sd ~0.009 over ~1000 variants); the others
    # only the random ones and failed probes
    assert np.all((per_sample[:n_bad] > 0.04) & (per_sample[:n_bad] < 0.12))
    assert median < 0.01
    assert per_sample[:n_bad].min() > 6 * median
    # the next sample is an ordinary one
    assert per_sample[n_bad] < 0.03
    # failed probes: round(fraction x m) per chromosome with ~10% missing calls, the rest < 3%
    per_variant = missing.mean(axis=0)
    n_err = sum(round(cohort.params.error_variant_fraction * m)
                for m in cohort.info["n_variants"].values())
    assert n_err >= 2
    assert (per_variant > 0.05).sum() == n_err
    assert np.sort(per_variant)[::-1][n_err] < 0.03


def test_simulate_cohort__parallel_equals_serial(cohort, tmp_path):
    info = simulate_cohort(tmp_path / "p", tmp_path / "p.tsv", cohort.params, n_jobs=2)
    assert info["n_variants"] == cohort.info["n_variants"]
    assert (tmp_path / "p.bed").read_bytes() == cohort.prefix.with_suffix(".bed").read_bytes()


def test_cohort_params__unknown_population_raises():
    with pytest.raises(VibankError, match="unknown label.*SAS"):
        CohortParams(populations={"EUR": 10, "SAS": 10})


def test_cohort_params__bad_missing_rate_raises():
    with pytest.raises(VibankError, match="missing_rate"):
        CohortParams(missing_rate=0.5)
