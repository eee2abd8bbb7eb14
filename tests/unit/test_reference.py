"""An external LD reference panel: variants matched to the target, build checked, own QC."""

import numpy as np
import pandas as pd
import pytest

from vibank import columns as col
from vibank.errors import VibankError
from vibank.genotypes.reference import match_reference_variants, prepare_reference
from vibank.io.plink import read_bim, read_fam, write_bfile


def _bim(n, *, start=1000, step=100):
    rng = np.random.default_rng(0)
    a1 = rng.choice(list("AC"), n)
    return pd.DataFrame({col.CHR: "1", col.SNP: [f"rs{i}" for i in range(n)], col.CM: 0.0,
                         col.POS: start + step * np.arange(n), col.A1: a1,
                         col.A2: np.where(a1 == "A", "G", "T")})


def test_match__shared_kept_and_each_other_variant_audited_with_its_reason():
    reference = _bim(10)
    target = reference.drop(index=[0, 1]).copy()
    target.loc[2, [col.A1, col.A2]] = ["T", "C"] if reference.loc[2, col.A1] == "A" else ["A", "G"]
    swapped = reference.loc[3, [col.A2, col.A1]].to_numpy()
    target.loc[3, [col.A1, col.A2]] = swapped  # the same pair in the other order: kept
    keep, audit = match_reference_variants(reference, target)
    assert keep.tolist() == [False, False, False] + [True] * 7
    assert dict(zip(audit[col.SNP], audit["reason"])) == {
        "rs0": "not_in_target", "rs1": "not_in_target", "rs2": "other_alleles"}


def test_match__another_genome_build_is_an_error_naming_both_files_and_a_variant():
    reference = _bim(100)
    target = reference.copy()
    target[col.POS] += 5000  # every position moved: another build
    with pytest.raises(VibankError, match=r"^ref\.bim: 100% of the 100 variants shared by ID "
                                          r"with t\.bim lie at other positions \(first: rs0 "
                                          r"at 1:1000 vs 1:6000\)"):
        match_reference_variants(reference, target, reference_name="ref.bim",
                                 target_name="t.bim")
    target = reference.copy()
    target.loc[:2, col.POS] += 1  # 3 % moved: filtered, not an error
    keep, audit = match_reference_variants(reference, target)
    assert keep.sum() == 97 and set(audit["reason"]) == {"other_position"}


def test_match__no_shared_id_is_an_error():
    reference, target = _bim(5), _bim(5)
    target[col.SNP] = "1:" + target[col.POS].astype(str)
    with pytest.raises(VibankError, match="no variant ID is shared"):
        match_reference_variants(reference, target)


@pytest.fixture
def panel(tmp_path):
    """300 people (200 EUR, 100 AFR) x 60 variants; variant 5 monomorphic in EUR."""
    rng = np.random.default_rng(1)
    n, m = 300, 60
    freq = rng.uniform(0.1, 0.5, m)
    dosages = rng.binomial(2, freq, size=(n, m)).astype(np.int8)
    dosages[:200, 5] = 0
    bim = _bim(m)
    fam = pd.DataFrame({col.FID: [f"f{i}" for i in range(n)],
                        col.IID: [f"s{i}" for i in range(n)], col.SEX: 1})
    write_bfile(tmp_path / "ref", dosages, bim, fam)
    pd.DataFrame({col.IID: fam[col.IID], col.POP: ["EUR"] * 200 + ["AFR"] * 100}).to_csv(
        tmp_path / "pops.tsv", sep="\t", index=False)
    target = bim.drop(index=range(50, 60))  # the study lacks the last 10 variants
    write_bfile(tmp_path / "target", np.zeros((2, len(target)), np.int8), target, fam.head(2))
    return tmp_path


def test_prepare_reference__population_shared_variants_and_qc(panel):
    summary = prepare_reference(str(panel / "ref"), str(panel / "out"), panel / "summary.tsv",
                                panel / "audit.tsv.gz", target_bim=panel / "target.bim",
                                sample_table=panel / "pops.tsv", population="EUR")
    fam, bim = read_fam(str(panel / "out")), read_bim(str(panel / "out"))
    assert fam[col.IID].tolist() == [f"s{i}" for i in range(200)]
    expected = [f"rs{i}" for i in range(50) if i != 5]
    assert bim[col.SNP].tolist() == expected
    audit = pd.read_csv(panel / "audit.tsv.gz", sep="\t")
    reasons = dict(zip(audit["id"], audit["filter"]))
    assert {f"rs{i}" for i in range(50, 60)} <= set(reasons)
    assert reasons["rs55"] == "not_in_target" and reasons["rs5"] == "maf"
    steps = summary.set_index("filter")
    assert steps.loc["samples_chosen", "samples_remaining"] == 200
    assert steps.loc["shared_with_target", "variants_remaining"] == 50
    assert summary["variants_remaining"].iloc[-1] == 49
    assert pd.read_csv(panel / "summary.tsv", sep="\t")["step"].tolist() == list(
        range(len(summary)))


def test_prepare_reference__keep_file_and_bad_population(panel):
    (panel / "keep.txt").write_text("".join(f"f{i} s{i}\n" for i in range(250, 300)))
    prepare_reference(str(panel / "ref"), str(panel / "out"), panel / "s.tsv", panel / "a.tsv",
                      target_bim=panel / "target.bim", keep=panel / "keep.txt")
    assert len(read_fam(str(panel / "out"))) == 50
    with pytest.raises(VibankError, match=r"pops\.tsv \(POP SAS\): no sample"):
        prepare_reference(str(panel / "ref"), str(panel / "o2"), panel / "s.tsv",
                          panel / "a.tsv", target_bim=panel / "target.bim",
                          sample_table=panel / "pops.tsv", population="SAS")


def test_reference_qc_defaults__schema_matches_the_library():
    import yaml
    from pathlib import Path

    from vibank.genotypes.reference import REFERENCE_QC

    schema = yaml.safe_load((Path(__file__).parents[2] / "workflow/schemas/ld.schema.yaml")
                            .read_text())
    panel = schema["properties"]["panels"]["patternProperties"]
    qc = next(iter(panel.values()))["properties"]["qc"]["properties"]
    assert {k: v["default"] for k, v in qc.items()} == REFERENCE_QC


def test_prepare_reference__pgen_target_and_gwas_sites(panel):
    """Without a study: matched to a target biobank's .pvar and restricted to the positions of
    the GWAS files (a GWAS-SSF file with the first 30 variants)."""
    from vibank.genotypes._plink2 import run_plink2

    run_plink2(["--bfile", panel / "target", "--make-pgen"], panel / "tg")
    bim = read_bim(str(panel / "ref"))
    pd.DataFrame({"chromosome": 1, "base_pair_location": bim[col.POS][:30],
                  "effect_allele": bim[col.A1][:30], "other_allele": bim[col.A2][:30],
                  "beta": 0.01, "standard_error": 0.01, "effect_allele_frequency": 0.3,
                  "p_value": 0.3, "n": 1000}).to_csv(panel / "gwas.tsv", sep="\t", index=False)
    summary = prepare_reference(str(panel / "ref"), str(panel / "o3"), panel / "s3.tsv",
                                panel / "a3.tsv", target_bim=panel / "tg.pvar",
                                gwas=[(panel / "gwas.tsv", "gwas-ssf", None)])
    steps = summary.set_index("filter")
    assert steps.loc["shared_with_target", "variants_remaining"] == 50
    assert steps.loc["at_gwas_sites", "variants_remaining"] == 30
    assert read_bim(str(panel / "o3"))[col.SNP].tolist() == [f"rs{i}" for i in range(30)]
    audit = pd.read_csv(panel / "a3.tsv", sep="\t")
    assert (audit["filter"] == "not_in_gwas").sum() == 20
    with pytest.raises(VibankError, match="no variant at a position of the GWAS files"):
        pd.read_csv(panel / "gwas.tsv", sep="\t").assign(base_pair_location=7).to_csv(
            panel / "moved.tsv", sep="\t", index=False)
        prepare_reference(str(panel / "ref"), str(panel / "o4"), panel / "s4.tsv",
                          panel / "a4.tsv", target_bim=None,
                          gwas=[(panel / "moved.tsv", "gwas-ssf", None)])
