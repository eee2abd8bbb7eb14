"""The demo's external GWAS (vibank.simulate.external_gwas) read back through the format reader
and the harmonisation, the per-chromosome harmonisation stage and the comparison of two fits."""

import numpy as np
import pandas as pd
import pytest

from vibank import columns as col
from vibank.io.sumstats import read_sumstats, write_sumstats
from vibank.simulate.external_gwas import WRITERS, external_gwas
from vibank.stages.external import AGREEMENT_COLUMNS, compare_fits
from vibank.sumstats import harmonise, read_sumstats_any

BASES = list("ACGT")


def canonical(m=600, seed=3):
    rng = np.random.default_rng(seed)
    a1 = rng.choice(BASES, m)
    a2 = np.array([rng.choice([b for b in BASES if b != x]) for x in a1])
    freq = rng.uniform(0.02, 0.98, m)
    z = rng.normal(size=m) * np.where(rng.random(m) < 0.05, 5, 1)
    se = 1 / np.sqrt(2 * freq * (1 - freq) * 5000)
    return pd.DataFrame({
        col.CHR: "1", col.SNP: [f"1:{1000 * (i + 1)}" for i in range(m)],
        col.POS: 1000 * np.arange(1, m + 1), col.A1: a1, col.A2: a2, col.N: 5000,
        col.MAF: np.minimum(freq, 1 - freq), col.BETA: z * se, col.SE: se, col.Z: z,
        col.P: 0.5, col.A1_FREQ: freq})


def panel_of(sumstats):
    return sumstats[[col.CHR, col.SNP, col.POS, col.A1, col.A2, col.MAF, col.A1_FREQ]].assign(
        **{col.CM: 0.0})


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_external_gwas__harmonisation_recovers_every_uncorrupted_z(tmp_path, fmt):
    s = canonical()
    table, changes = external_gwas(s, format=fmt, n_allele_mismatch=7, n_sign_mismatch=4, seed=1)
    assert list(table.columns) == list(WRITERS[fmt].values())
    counts = changes["change"].value_counts()
    assert counts["allele_mismatch"] == 7 and counts["sign_mismatch"] == 4
    assert counts["swapped"] == round(0.3 * len(s)) and counts["strand_flipped"] > 50
    path = tmp_path / "ext.tsv.gz"
    table.to_csv(path, sep="\t", index=False)
    read, _ = read_sumstats_any(path)  # the format is detected from the header
    res = harmonise(read, panel_of(s), keep_ambiguous=True, ambiguous_max_maf=0.4)
    audit = dict(zip(res.audit[col.SNP], res.audit["reason"]))
    bad = set(changes[col.SNP][changes["change"] == "allele_mismatch"])
    assert {k for k, v in audit.items() if v == "allele_mismatch"} == bad
    assert set(audit.values()) <= {"allele_mismatch", "ambiguous_maf"}
    got = res.matched.set_index(col.SNP)[col.Z]
    want = s.set_index(col.SNP)[col.Z].reindex(got.index)
    flipped = set(changes[col.SNP][changes["change"] == "sign_mismatch"])
    clean = ~got.index.isin(flipped)
    np.testing.assert_allclose(got[clean], want[clean], rtol=1e-6)
    np.testing.assert_allclose(got[~clean], -want[~clean], rtol=1e-6)
    assert res.summary["strand_flipped"] == counts["strand_flipped"]


def test_external_gwas__without_a1_frequency_writes_no_frequency_column():
    s = canonical().drop(columns=col.A1_FREQ)
    table, _ = external_gwas(s, format="gwas-ssf")
    assert "effect_allele_frequency" not in table
    with pytest.raises(ValueError, match="format"):
        external_gwas(s, format="saige")


def test_write_sumstats__a1_frequency_round_trip(tmp_path):
    s = canonical(m=20)
    write_sumstats(s, tmp_path / "a.tsv.gz")
    back = read_sumstats(tmp_path / "a.tsv.gz")
    assert list(back.columns) == [*col.SUMSTATS_ORDER, col.A1_FREQ]
    np.testing.assert_allclose(back[col.A1_FREQ], s[col.A1_FREQ], rtol=1e-7)
    write_sumstats(s.drop(columns=col.A1_FREQ), tmp_path / "b.tsv.gz")
    assert list(read_sumstats(tmp_path / "b.tsv.gz").columns) == col.SUMSTATS_ORDER


def _effects(path, beta, snps):
    pd.DataFrame({"CHR": "1", "SNP": snps, "POS": np.arange(1, len(snps) + 1), "A1": "A",
                  "A2": "C", "BETA": beta, "BETA_PER_ALLELE": 2 * beta, "PIP": 0.5,
                  "VAR_BETA": 0.1}).to_csv(path, sep="\t", index=False)
    return str(path)


def test_compare_fits__correlation_over_the_union_with_zeros(tmp_path):
    beta = np.array([0.5, -0.2, 0.0, 0.1, 0.3])
    snps = [f"v{i}" for i in range(5)]
    own = _effects(tmp_path / "own.tsv", beta, snps)
    ext = _effects(tmp_path / "ext.tsv", beta[:4], snps[:4])  # v4 dropped from the external fit
    compare_fits([{"model": "m", "external": "x", "trait": "t", "fold": "1",
                   "external_effects": [ext], "study_effects": [own]},
                  {"model": "m2", "external": "x", "trait": "t", "fold": "1",
                   "external_effects": [own], "study_effects": [own]}], tmp_path / "out.tsv")
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert list(out.columns) == AGREEMENT_COLUMNS
    first = out.iloc[0]
    assert first["n_variants"] == 5 and first["n_study_only"] == 1 and first["n_external_only"] == 0
    expected = np.corrcoef(np.append(beta[:4], 0.0), beta)[0, 1]
    assert first["effect_correlation"] == pytest.approx(expected, rel=1e-5)
    assert out.iloc[1]["effect_correlation"] == pytest.approx(1.0)
