"""vibank.genotypes.splits: LD panel, stratified CV folds with validation sets, target sets."""

import numpy as np
import pandas as pd
import pytest

from vibank import VibankError
from vibank import columns as col
from vibank.genotypes.splits import SplitParams, assign_splits, make_splits
from vibank.io.plink import read_fam, read_keep

PARAMS = SplitParams(reference_population="EUR", target_populations=["AFR", "EAS"],
                     ld_panel_size=100, n_folds=5, validation_fraction=0.1)
ROLES = ("train", "validation", "test")


@pytest.fixture(scope="module")
def splits(cohort, phenotypes, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits")
    table = make_splits(cohort.prefix, cohort.sample_table, phenotypes.phenotypes, ["disease"],
                        out, params=PARAMS, seed=3)
    return out, table


def _ids(path):
    return set(read_keep(path)[col.IID])


def _fold_sets(out, k):
    return {role: _ids(out / f"fold{k}" / f"{role}.keep") for role in ROLES}


def _cv_ids(table):
    return set(table.loc[table.ROLE == "cv", col.IID])


def test_make_splits__keep_files_have_plink_header(splits):
    out, _ = splits
    paths = [out / "ld_panel.keep", out / "target_AFR.keep", out / "target_EAS.keep",
             *(out / f"fold{k}" / f"{r}.keep" for k in range(1, 6) for r in ROLES)]
    for path in paths:
        lines = path.read_text().splitlines()
        assert lines[0] == "#FID\tIID", path
        assert len(lines) > 1, path
        assert all(len(line.split("\t")) == 2 for line in lines), path
    assert (out / "splits.tsv").is_file()
    assert not list(out.rglob(".*.tmp"))


def test_make_splits__ld_panel_size_exact_and_disjoint(splits, cohort):
    out, table = splits
    panel = _ids(out / "ld_panel.keep")
    assert len(panel) == PARAMS.ld_panel_size
    pops = table.set_index(col.IID)[col.POP]
    assert set(pops[list(panel)]) == {"EUR"}
    for k in range(1, PARAMS.n_folds + 1):
        for role, ids in _fold_sets(out, k).items():
            assert not panel & ids, (k, role)


def test_make_splits__fold_roles_partition_cv_samples(splits):
    out, table = splits
    cv = _cv_ids(table)
    assert len(cv) == 300 - PARAMS.ld_panel_size
    for k in range(1, PARAMS.n_folds + 1):
        sets = _fold_sets(out, k)
        assert not sets["train"] & sets["validation"]
        assert not sets["train"] & sets["test"]
        assert not sets["validation"] & sets["test"]
        assert sets["train"] | sets["validation"] | sets["test"] == cv


def test_make_splits__each_cv_sample_tested_once(splits):
    out, table = splits
    tests = [_fold_sets(out, k)["test"] for k in range(1, PARAMS.n_folds + 1)]
    counts = pd.Series([iid for ids in tests for iid in ids]).value_counts()
    assert set(counts.index) == _cv_ids(table)
    assert (counts == 1).all()
    sizes = [len(ids) for ids in tests]
    assert max(sizes) - min(sizes) <= 1
    # the FOLD column agrees with the test keep files
    fold = table.set_index(col.IID)["FOLD"]
    for k, ids in enumerate(tests, start=1):
        assert (fold[list(ids)] == k - 1).all()


def test_make_splits__validation_fraction_of_training(splits):
    out, _ = splits
    for k in range(1, PARAMS.n_folds + 1):
        sets = _fold_sets(out, k)
        training = len(sets["train"]) + len(sets["validation"])
        # rounding happens per stratum (2 strata here): at most one sample off per stratum
        assert abs(len(sets["validation"]) - PARAMS.validation_fraction * training) <= 2


def test_make_splits__targets_hold_whole_populations(splits, cohort):
    out, table = splits
    samples = pd.read_csv(cohort.sample_table, sep="\t", dtype=str)
    fam = read_fam(cohort.prefix)
    for pop in PARAMS.target_populations:
        keep = read_keep(out / f"target_{pop}.keep")
        expected = samples.loc[samples[col.POP] == pop]
        assert set(keep[col.IID]) == set(expected[col.IID])
        assert len(keep) == len(expected)
        assert set(keep[col.FID]) <= set(fam[col.FID])
    assert set(table.loc[table.ROLE == "target", col.POP]) == {"AFR", "EAS"}
    assert (table.loc[table.ROLE == "target", "FOLD"] == -1).all()


def test_make_splits__folds_stratified_on_case_status(splits, phenotypes):
    out, table = splits
    pheno = pd.read_csv(phenotypes.phenotypes, sep="\t", dtype={col.IID: str}).set_index(col.IID)
    case = pheno["disease"] == 2
    overall = case[list(_cv_ids(table))].mean()
    assert 0.05 < overall < 0.5
    for k in range(1, PARAMS.n_folds + 1):
        for role, ids in _fold_sets(out, k).items():
            if role == "validation":
                continue  # ~18 samples: too few for a +-0.05 bound to be meaningful
            assert abs(case[list(ids)].mean() - overall) <= 0.05, (k, role)
        assert abs(case[list(_fold_sets(out, k)["validation"])].mean() - overall) <= 0.1


def test_make_splits__deterministic_by_seed(splits, cohort, phenotypes, tmp_path):
    out, table = splits
    again = make_splits(cohort.prefix, cohort.sample_table, phenotypes.phenotypes, ["disease"],
                        tmp_path / "same", params=PARAMS, seed=3)
    pd.testing.assert_frame_equal(again, table)
    assert (tmp_path / "same" / "splits.tsv").read_bytes() == (out / "splits.tsv").read_bytes()
    other = make_splits(cohort.prefix, cohort.sample_table, phenotypes.phenotypes, ["disease"],
                        tmp_path / "other", params=PARAMS, seed=4)
    assert not other["ROLE"].equals(table["ROLE"]) or not other["FOLD"].equals(table["FOLD"])


def test_make_splits__no_binary_trait(cohort, phenotypes, tmp_path):
    table = make_splits(cohort.prefix, cohort.sample_table, phenotypes.phenotypes, [], tmp_path,
                        params=PARAMS, seed=3)
    sizes = table[table.FOLD >= 0].groupby("FOLD").size()
    assert sizes.sum() == 300 - PARAMS.ld_panel_size
    assert sizes.max() - sizes.min() <= 1


def _samples(counts):
    rows = [(f"{pop}{i}", pop) for pop, n in counts.items() for i in range(n)]
    ids, pops = zip(*rows)
    return pd.DataFrame({col.FID: ids, col.IID: ids, col.POP: pops})


def test_assign_splits__roles_and_fold_columns():
    samples = _samples({"EUR": 60, "AFR": 7, "EAS": 5})
    strata = pd.Series(np.where(np.arange(len(samples)) % 4 == 0, "2", "1"))
    params = SplitParams(target_populations=["AFR"], ld_panel_size=20, n_folds=4,
                         validation_fraction=0.25)
    table = assign_splits(samples, strata, params, seed=1)
    assert table["ROLE"].value_counts().to_dict() == {"cv": 40, "ld_panel": 20, "target": 7,
                                                      "unused": 5}
    assert list(table.columns[-4:]) == ["fold1", "fold2", "fold3", "fold4"]
    cv = table.ROLE == "cv"
    for k in range(1, 5):
        roles = table[f"fold{k}"]
        assert (roles[~cv] == "").all()
        assert set(roles[cv]) == set(ROLES)
        assert (roles[cv] == "test").sum() == 10
        # validation: round(fraction x size) of the training part of every stratum
        training = strata[cv & roles.isin(["train", "validation"])]
        expected = sum(round(0.25 * n) for n in training.value_counts())
        assert (roles[cv] == "validation").sum() == expected


def test_assign_splits__too_small_population_raises():
    samples = _samples({"EUR": 30, "AFR": 5})
    strata = pd.Series([""] * len(samples))
    params = SplitParams(ld_panel_size=25, n_folds=5)
    with pytest.raises(VibankError, match="30 QC'd samples of EUR are too few"):
        assign_splits(samples, strata, params, seed=1)


def test_assign_splits__missing_reference_population_raises():
    samples = _samples({"AFR": 50})
    with pytest.raises(VibankError, match="too few"):
        assign_splits(samples, pd.Series([""] * 50), SplitParams(ld_panel_size=10), seed=1)


def test_make_splits__unknown_binary_trait_raises(cohort, phenotypes, tmp_path):
    with pytest.raises(VibankError, match="nope"):
        make_splits(cohort.prefix, cohort.sample_table, phenotypes.phenotypes, ["nope"], tmp_path,
                    params=PARAMS, seed=3)


def test_make_splits__sample_missing_from_table_raises(cohort, phenotypes, tmp_path):
    table = pd.read_csv(cohort.sample_table, sep="\t", dtype=str)
    table.iloc[1:].to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    with pytest.raises(VibankError, match=table[col.IID].iloc[0]):
        make_splits(cohort.prefix, tmp_path / "samples.tsv", phenotypes.phenotypes, ["disease"],
                    tmp_path / "out", params=PARAMS, seed=3)


def test_assign_splits__reference_as_target_raises():
    samples = _samples({"EUR": 60, "AFR": 10})
    params = SplitParams(target_populations=["AFR", "EUR"], ld_panel_size=20, n_folds=4)
    with pytest.raises(VibankError, match="EUR"):
        assign_splits(samples, pd.Series([""] * 70), params, seed=1)


def test_assign_splits__absent_target_population_raises():
    samples = _samples({"EUR": 60, "AFR": 10})
    params = SplitParams(target_populations=["AFR", "EAS"], ld_panel_size=20, n_folds=4)
    with pytest.raises(VibankError, match="EAS"):
        assign_splits(samples, pd.Series([""] * 70), params, seed=1)
