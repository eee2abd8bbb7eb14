"""Ancestry groups of target samples by projection onto a labelled reference's PCs."""

import numpy as np
import pandas as pd
import pytest

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes.ancestry import UNASSIGNED, assign_ancestry
from vibank.io.plink import write_bfile


def _population(rng, freq, n, prefix):
    return rng.binomial(2, freq, size=(n, len(freq))).astype(np.int8), [
        f"{prefix}{i}" for i in range(n)]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    """Three drifted populations (Balding-Nichols, F_ST 0.1) as a labelled reference of 150
    each, and a target of 60 from each of two of them plus 40 of a fourth the reference lacks."""
    tmp = tmp_path_factory.mktemp("ancestry")
    rng = np.random.default_rng(7)
    m = 3000
    ancestral = rng.uniform(0.1, 0.9, m)
    f = 0.1

    def drift():
        a, b = ancestral * (1 - f) / f, (1 - ancestral) * (1 - f) / f
        return np.clip(rng.beta(a, b), 0.01, 0.99)

    freqs = {p: drift() for p in ("POP_A", "POP_B", "POP_C", "POP_D")}
    bim = pd.DataFrame({col.CHR: "1", col.SNP: [f"rs{j}" for j in range(m)], col.CM: 0.0,
                        col.POS: 1000 * np.arange(1, m + 1) * 50, col.A1: "A", col.A2: "G"})

    def write(prefix, groups):
        g, ids, labels = [], [], []
        for pop, n in groups:
            d, i = _population(rng, freqs[pop], n, f"{prefix}_{pop}_")
            g.append(d), ids.extend(i), labels.extend([pop] * n)
        fam = pd.DataFrame({col.FID: ids, col.IID: ids, col.SEX: 1})
        write_bfile(tmp / prefix, np.vstack(g), bim, fam)
        return pd.DataFrame({col.IID: ids, col.POP: labels})

    labels = write("ref", [("POP_A", 150), ("POP_B", 150), ("POP_C", 150)])
    labels.to_csv(tmp / "ref_pops.tsv", sep="\t", index=False)
    truth = write("target", [("POP_A", 60), ("POP_B", 60), ("POP_D", 40)])
    return tmp, truth


def test_assign_ancestry__known_populations_labelled_and_a_new_one_left_unassigned(cohorts):
    tmp, truth = cohorts
    table = assign_ancestry(str(tmp / "ref"), tmp / "ref_pops.tsv", str(tmp / "target"),
                            tmp / "groups.tsv", n_pcs=4, threads=2)
    got = table.set_index(col.IID)["GROUP"].loc[truth[col.IID]].to_numpy()
    known = truth[col.POP].isin(["POP_A", "POP_B"]).to_numpy()
    assert (got[known] == truth[col.POP].to_numpy()[known]).mean() >= 0.98
    # POP_D is in no reference: not forced into A, B or C
    assert (got[~known] == UNASSIGNED).mean() >= 0.9
    print(f"ancestry: known {(got[known] == truth[col.POP].to_numpy()[known]).mean():.3f} "
          f"correct, new population {(got[~known] == UNASSIGNED).mean():.3f} unassigned")
    written = pd.read_csv(tmp / "groups.tsv", sep="\t")
    assert list(written.columns[:4]) == ["FID", "IID", "GROUP", "D2"]
    assert [c for c in written.columns if c.startswith("PC")] == ["PC1", "PC2", "PC3", "PC4"]


def test_assign_ancestry__labels_without_pop_column_is_an_error(cohorts, tmp_path):
    tmp, _ = cohorts
    (tmp_path / "bad.tsv").write_text("IID\tSUPERPOP\nx\tEUR\n")
    with pytest.raises(VibankError, match="bad.tsv: needs IID and POP columns"):
        assign_ancestry(str(tmp / "ref"), tmp_path / "bad.tsv", str(tmp / "target"),
                        tmp_path / "g.tsv")
