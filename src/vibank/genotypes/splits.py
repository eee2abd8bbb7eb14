"""Sample splits: LD reference panel, cross-validation folds with validation sets, targets.

From the QC'd samples of the reference population, ``ld_panel_size`` are drawn at random as the
LD reference panel and never enter a GWAS. The rest are dealt into ``n_folds`` folds; fold k's
test set is fold k and its training part (the other folds) is split into train and validation
(``validation_fraction``). Folds and validation sets are stratified on the case/control status of
every binary trait (one stratum per combination), so each fold keeps the prevalence. Samples of
each target population form an ancestry-transfer target set. Everything is fixed by the seed.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.atomic import write_table
from vibank.io.plink import samples_for_fam, write_keep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitParams:
    """Config section ``splits``."""

    reference_population: str = "EUR"
    target_populations: list = field(default_factory=lambda: ["AFR", "EAS"])
    ld_panel_size: int = 1000
    n_folds: int = 5
    validation_fraction: float = 0.1


def _deal(strata, n_groups, rng):
    """Assign each row a group 0..n_groups-1, balanced within every stratum."""
    group = np.empty(len(strata), dtype=np.int64)
    offset = 0
    for _, idx in pd.Series(range(len(strata))).groupby(strata.to_numpy()):
        idx = rng.permutation(idx.to_numpy())
        # continue the round-robin across strata so fold sizes differ by at most one
        group[idx] = (np.arange(len(idx)) + offset) % n_groups
        offset += len(idx)
    return group


def _take_fraction(strata, fraction, rng):
    """Boolean mask selecting ~fraction of the rows within every stratum."""
    chosen = np.zeros(len(strata), dtype=bool)
    for _, idx in pd.Series(range(len(strata))).groupby(strata.to_numpy()):
        idx = rng.permutation(idx.to_numpy())
        chosen[idx[: int(round(fraction * len(idx)))]] = True
    return chosen


def assign_splits(samples, strata, params, seed):
    """Return a table IID, POP, ROLE (ld_panel / cv / target / unused) and FOLD, plus per-fold roles.

    Columns ``fold<k>`` hold train / validation / test for CV samples and are empty otherwise.
    """
    if params.reference_population in params.target_populations:
        raise VibankError(f"splits: the reference population {params.reference_population} cannot "
                          "also be a target population")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    out = samples[[col.FID, col.IID, col.POP]].reset_index(drop=True).copy()
    out["ROLE"] = "unused"
    ref = np.flatnonzero(out[col.POP] == params.reference_population)
    if len(ref) <= params.ld_panel_size + params.n_folds * 2:
        raise VibankError(
            f"splits: {len(ref)} QC'd samples of {params.reference_population} are too few for an "
            f"LD panel of {params.ld_panel_size} and {params.n_folds} folds"
        )
    present = set(samples[col.POP])
    for pop in params.target_populations:
        if pop not in present:
            raise VibankError(f"splits: target population {pop} has no sample after QC "
                              f"(populations present: {', '.join(sorted(present))})")
    panel = rng.choice(ref, size=params.ld_panel_size, replace=False)
    out.loc[panel, "ROLE"] = "ld_panel"
    cv = np.setdiff1d(ref, panel)
    out.loc[cv, "ROLE"] = "cv"
    for pop in params.target_populations:
        out.loc[out[col.POP] == pop, "ROLE"] = "target"
    strata = strata.reset_index(drop=True)
    out["FOLD"] = -1
    out.loc[cv, "FOLD"] = _deal(strata.iloc[cv], params.n_folds, rng)
    for k in range(params.n_folds):
        role = pd.Series("", index=out.index, dtype=object)
        test = cv[out.loc[cv, "FOLD"].to_numpy() == k]
        train = np.setdiff1d(cv, test)
        val = train[_take_fraction(strata.iloc[train], params.validation_fraction, rng)]
        role[train], role[val], role[test] = "train", "validation", "test"
        out[f"fold{k + 1}"] = role
    return out


def make_splits(bfile, sample_table, phenotypes, binary_traits, out_dir, *, params=None, seed):
    """Write keep files under ``out_dir`` and the assignment table ``out_dir/splits.tsv``.

    Files: ``ld_panel.keep``, ``target_<POP>.keep``, ``fold<k>/{train,validation,test}.keep``.
    """
    params = params or SplitParams()
    out_dir = Path(out_dir)
    samples = samples_for_fam(sample_table, bfile)
    pheno = pd.read_csv(phenotypes, sep="\t", dtype={col.FID: str, col.IID: str}).set_index(col.IID)
    absent = [t for t in binary_traits if t not in pheno.columns]
    if absent:
        raise VibankError(f"{phenotypes}: column {absent[0]} (a binary trait) is missing")
    status = pheno.reindex(samples[col.IID])[list(binary_traits)].astype(str)
    strata = status.agg("|".join, axis=1) if binary_traits else pd.Series("", index=status.index)
    table = assign_splits(samples, strata, params, seed)
    write_keep(out_dir / "ld_panel.keep", table[table.ROLE == "ld_panel"])
    for pop in params.target_populations:
        write_keep(out_dir / f"target_{pop}.keep", table[(table.ROLE == "target") & (table[col.POP] == pop)])
    for k in range(1, params.n_folds + 1):
        for role in ("train", "validation", "test"):
            write_keep(out_dir / f"fold{k}" / f"{role}.keep", table[table[f"fold{k}"] == role])
    write_table(table, out_dir / "splits.tsv")
    counts = table.groupby("ROLE").size().to_dict()
    log.info("splits: %s; fold sizes %s", counts, table[table.FOLD >= 0].groupby("FOLD").size().tolist())
    return table
