"""VIPRS fits on LD that is not positive semi-definite: detection, block ridge, clear errors."""

import logging

import numpy as np
import pytest
import scipy.sparse as sp
from simulated import small_panel_problem

from vibank.errors import VibankError
from vibank.ld import LDRows, extremal_eigenvalues_csr
from vibank.prs import VIPRS, std_beta_from_z


@pytest.fixture(scope="module", name="small_panel_problem")
def small_panel_fixture():
    """Sumstats from 5,000 samples; LD from a 40-sample panel, banded (not PSD)."""
    return small_panel_problem()


def test_fit__small_panel_ld_is_not_psd(small_panel_problem):
    full = small_panel_problem["ld"] + sp.identity(400)
    assert min(block["min"] for block in extremal_eigenvalues_csr(full)) < 0


def test_fit__regularises_non_psd_ld_and_converges(small_panel_problem, caplog):
    with caplog.at_level(logging.WARNING, logger="vibank.prs.model"):
        model = VIPRS(max_iter=500).fit(small_panel_problem["b"], 5000, small_panel_problem["ld"],
                                        label="chromosome 7")
    assert "chromosome 7" in caplog.text and "not positive semi-definite" in caplog.text
    assert model.ridge_.max() > 0
    assert model.result_.stop_reason == "converged"
    assert 0 <= model.h2_ <= 1
    elbo = np.array(model.elbo_history_)
    assert np.all(np.diff(elbo) >= -1e-6 * np.abs(elbo[1:]))
    assert np.corrcoef(model.eta_, small_panel_problem["beta"])[0, 1] > 0.5


def test_fit__stored_eigenvalues_give_the_ridge_without_recomputing(small_panel_problem, monkeypatch):
    from vibank.ld import rows as rows_module

    full = small_panel_problem["ld"] + sp.identity(400)
    blocks = extremal_eigenvalues_csr(full)
    computed = VIPRS(max_iter=500).fit(small_panel_problem["b"], 5000, small_panel_problem["ld"])

    def fail(*args, **kwargs):
        raise AssertionError("eigenvalues recomputed although given")

    monkeypatch.setattr(rows_module, "extremal_eigenvalues_csr", fail)
    ld = LDRows.from_csr(small_panel_problem["ld"], eigenvalues=blocks)
    given = VIPRS(max_iter=500).fit(small_panel_problem["b"], 5000, ld)
    np.testing.assert_array_equal(given.ridge_, computed.ridge_)
    np.testing.assert_array_equal(given.eta_, computed.eta_)


def test_fit__divergence_with_psd_ld_is_a_clear_error():
    # LD says the variants are independent, but the marginal effects are far too large for that:
    # h2 would exceed 1 even with the largest ridge
    m = 50
    b = std_beta_from_z(np.full(m, 60.0), np.full(m, 1000.0))
    with pytest.raises(VibankError, match=r"chromosome 2 even with a ridge of up to 2 \(the LD matrix is positive semi-definite\); check the summary statistics"):
        VIPRS(max_iter=50).fit(b, 1000, sp.csr_matrix((m, m)), label="chromosome 2")


def test_fit__rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="variants"):
        VIPRS().fit(np.zeros(5), 100, sp.csr_matrix((4, 4)))


def test_fit__band_layout_equals_csr_through_the_ridge_restart(small_panel_problem):
    """The ridge path converts the band rows to CSR; that must leave the band intact."""
    from vibank.ld import SparseLD

    r = small_panel_problem["ld"].toarray()
    m = r.shape[0]
    lengths = np.minimum(15, m - 1 - np.arange(m))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    upper = SparseLD(np.concatenate([r[j, j + 1:j + 1 + lengths[j]] for j in range(m)]), indptr, None, m)
    band = LDRows.from_upper(upper)
    assert band.layout == "band"
    before = (band.data.copy(), band.indptr.copy())
    band.to_scipy()
    np.testing.assert_array_equal(band.data, before[0])
    np.testing.assert_array_equal(band.indptr, before[1])
    a = VIPRS(max_iter=500).fit(small_panel_problem["b"], 5000, band)
    b = VIPRS(max_iter=500).fit(small_panel_problem["b"], 5000, small_panel_problem["ld"])
    assert a.ridge_.max() > 0
    np.testing.assert_allclose(a.ridge_, b.ridge_, rtol=1e-10)
    np.testing.assert_allclose(a.eta_, b.eta_, rtol=1e-8, atol=1e-10)
    assert a.h2_ == pytest.approx(b.h2_, rel=1e-8)
