"""Protein panels with hotspot QTLs (pqtl_afcavi.md section (h) design)."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from vibank.errors import VibankError
from vibank.simulate import simulate_protein_panel


@pytest.fixture(scope="module")
def genotypes():
    rng = np.random.default_rng(1)
    return rng.binomial(2, rng.uniform(0.05, 0.5, 300), size=(4000, 300)).astype(float)


def test_simulate_protein_panel__design(genotypes):
    panel = simulate_protein_panel(genotypes, 200, active_variant_fraction=0.02,
                                   active_protein_fraction=0.2, mean_pve=0.15, seed=3)
    assert panel.Y.shape == (4000, 200) and panel.beta.shape == (300, 200)
    assert len(panel.active_variants) == 6 and len(panel.active_proteins) == 40
    rows, cols = np.nonzero(panel.associations)
    assert set(rows) == set(panel.active_variants)  # every active variant has a protein
    assert set(cols) == set(panel.active_proteins)  # every active protein has a variant
    assert np.all((panel.hotspot_propensity > 0) & (panel.hotspot_propensity < 1))
    assert len(panel.block_rho) == 4 and np.all((panel.block_rho >= 0) & (panel.block_rho < 0.5))
    again = simulate_protein_panel(genotypes, 200, active_variant_fraction=0.02,
                                   active_protein_fraction=0.2, mean_pve=0.15, seed=3)
    assert_array_equal(panel.Y, again.Y)


def test_simulate_protein_panel__pve_per_protein(genotypes):
    """Independent variants: var(X b_t) / var(y_t) is close to the drawn h_t."""
    panel = simulate_protein_panel(genotypes, 100, active_variant_fraction=0.03,
                                   active_protein_fraction=0.5, mean_pve=0.3, seed=5)
    genetic = genotypes @ panel.beta[:, panel.active_proteins]
    realised = genetic.var(axis=0) / panel.Y[:, panel.active_proteins].var(axis=0)
    assert np.mean(np.abs(realised - panel.pve)) < 0.03
    assert abs(panel.pve.mean() - 0.3) < 0.1


def test_simulate_protein_panel__block_equicorrelated_residuals(genotypes):
    panel = simulate_protein_panel(genotypes, 100, active_variant_fraction=0.01,
                                   active_protein_fraction=0.01, mean_pve=0.05, seed=8)
    resid = panel.Y - genotypes @ panel.beta
    corr = np.corrcoef(resid.T)
    for b, rho in enumerate(panel.block_rho):
        block = corr[50 * b:50 * (b + 1), 50 * b:50 * (b + 1)]
        assert abs(block[np.triu_indices(50, 1)].mean() - rho) < 0.03
    assert abs(corr[:50, 50:].mean()) < 0.01
    assert np.allclose(resid.var(axis=0), 1.0, atol=0.1)


def test_simulate_protein_panel__save(genotypes, tmp_path):
    panel = simulate_protein_panel(genotypes[:200], 60, seed=1)
    panel.save(tmp_path)
    truth = pd.read_csv(tmp_path / "true_associations.tsv", sep="\t")
    assert len(truth) == panel.associations.sum()
    assert pd.read_csv(tmp_path / "proteins.tsv", sep="\t").shape == (200, 60)


def test_simulate_protein_panel__bad_input(genotypes):
    with pytest.raises(VibankError):
        simulate_protein_panel(genotypes[:, :5] * np.nan, 10)
    with pytest.raises(VibankError):
        simulate_protein_panel(genotypes, 10, mean_pve=1.5)
