"""Mismatch filter (prs_vi.md section 9) on z simulated from the RSS model with a known R: sign
flips are removed and few others are; the LD row layouts agree; seeded; audit rows."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vibank.ld import LDRows, SparseLD
from vibank.prs.mismatch import mismatch_audit, mismatch_filter, neighbour_statistic

BLOCK = 100


def block_ld(m, rho):
    """Strict upper triangle (band rows) of block-diagonal AR(1) LD: R_ij = rho^|i-j| in blocks."""
    d = np.abs(np.subtract.outer(np.arange(BLOCK), np.arange(BLOCK)))
    dense = rho ** d
    rows = [dense[j % BLOCK, j % BLOCK + 1:] for j in range(m)]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return dense, SparseLD(np.concatenate(rows).astype(np.float32), indptr, None, m)


def simulate(*, m=1000, rho=0.95, effect=2.5, n_causal=8, n_flipped=5, seed=0, flip_z=2.5):
    """z = R beta + e, e ~ N(0, R) per block (RSS model with sqrt(N) folded into beta); then the
    sign of a few variants with |z| > flip_z is flipped, as a wrong allele coding would.

    Signals stay moderate on purpose: the pairwise statistic of section 9 compares z_i with
    R_ij z_j, whose difference has mean (R beta)_i - R_ij (R beta)_j, not 0, next to a causal
    variant; with |z| around 6 or more it flags true variants too (seen here with effect=3).
    """
    rng = np.random.default_rng(seed)
    dense, upper = block_ld(m, rho)
    chol = np.linalg.cholesky(dense)
    beta = np.zeros(m)
    beta[rng.choice(m, n_causal, replace=False)] = effect * rng.choice([-1, 1], n_causal)
    z = np.concatenate([dense @ beta[b:b + BLOCK] + chol @ rng.standard_normal(BLOCK)
                        for b in range(0, m, BLOCK)])
    # at most one flip per LD block, in blocks without a causal variant's strongest signal
    candidates = np.flatnonzero(np.abs(z) > flip_z)
    candidates = candidates[rng.permutation(len(candidates))]
    _, first = np.unique(candidates // BLOCK, return_index=True)
    flipped = candidates[np.sort(first)][:n_flipped]
    z[flipped] *= -1
    return z, upper, np.sort(flipped)


@pytest.mark.parametrize("layout", ["band", "csr", "upper"])
def test_mismatch_filter__removes_sign_flips(layout):
    z, upper, flipped = simulate(seed=1)
    ld = {"band": LDRows.from_upper(upper), "csr": LDRows.from_csr(upper.to_scipy()),
          "upper": upper}[layout]
    if layout != "upper":
        assert ld.layout == layout
    res = mismatch_filter(z, ld, seed=1)
    removed = set(res.removed["index"])
    assert set(flipped) <= removed
    assert len(removed - set(flipped)) <= 3  # true variants next to a flipped one or a big signal
    assert (~res.keep).sum() == len(removed) and 1 < res.rounds <= 10
    assert (res.removed["P"] < 0.05 / 995).all()


def test_mismatch_filter__local_removal_spares_neighbours():
    z, upper, flipped = simulate(seed=0)
    band = LDRows.from_upper(upper)
    local = set(mismatch_filter(z, band, seed=1).removed["index"]) - set(flipped)
    every = set(mismatch_filter(z, band, seed=1, removal="all").removed["index"]) - set(flipped)
    # removing every flagged variant at once also takes neighbours of the flipped ones
    assert len(local) < len(every)


def test_mismatch_filter__nothing_removed_without_signal_or_corruption():
    for seed in range(3):
        z, upper, _ = simulate(seed=seed, effect=0.0, n_flipped=0)
        res = mismatch_filter(z, LDRows.from_upper(upper), seed=seed)
        assert len(res.removed) == 0 and res.keep.all() and res.rounds == 1


def test_mismatch_filter__seeded_and_quantised():
    z, upper, flipped = simulate(seed=3)
    band = LDRows.from_upper(upper)
    a = mismatch_filter(z, band, seed=7)
    b = mismatch_filter(z, band, seed=7)
    pd.testing.assert_frame_equal(a.removed, b.removed)
    # int8 storage with its scale finds the same flips
    quantised = SparseLD(np.round(upper.data * 127).astype(np.int8), upper.indptr, None,
                         upper.n_variants)
    q = mismatch_filter(z, LDRows.from_upper(quantised, scale=1 / 127), seed=7)
    assert set(flipped) <= set(q.removed["index"])


def test_neighbour_statistic__matches_hand_computation():
    # 3 variants; row 0 has one eligible neighbour (1), the pair (0, 2) is above r_max
    dense = np.array([[1.0, 0.5, 0.995], [0.5, 1.0, 0.0], [0.995, 0.0, 1.0]])
    z = np.array([2.0, 1.0, -1.0])
    rows = LDRows.from_upper(SparseLD(
        np.array([0.5, 0.995], np.float32), np.array([0, 2, 2, 2]), np.array([1, 2], np.int32), 3))
    t = neighbour_statistic(z, rows, np.ones(3, bool), n_neighbours=10, rng=0)
    assert t[0] == pytest.approx((2 - 0.5 * 1) ** 2 / (1 - 0.25))
    assert t[1] == pytest.approx((1 - 0.5 * 2) ** 2 / (1 - 0.25))
    assert np.isnan(t[2])  # its only neighbour is too close to 1
    assert stats.chi2.sf(t[0], 1) == pytest.approx(stats.chi2.sf(3.0, 1))
    assert dense[0, 2] > 0.99


def test_mismatch_filter__audit_rows_and_errors():
    z, upper, flipped = simulate(seed=0)
    matched = pd.DataFrame({"SNP": [f"rs{i}" for i in range(len(z))], "CHR": "1",
                            "POS": np.arange(len(z)), "A1": "A", "A2": "G"})
    res = mismatch_filter(z, LDRows.from_upper(upper), snps=matched["SNP"])
    audit = mismatch_audit(matched, res)
    assert set(audit["reason"]) == {"ld_mismatch"} and len(audit) == len(res.removed)
    assert set(f"rs{i}" for i in flipped) <= set(audit["SNP"])
    assert audit["detail"].str.match(r"T = [\d.e+]+, p = [\d.e-]+, round \d").all()
    with pytest.raises(ValueError, match="z has shape"):
        mismatch_filter(z[:-1], upper)
    with pytest.raises(ValueError, match="non-finite"):
        mismatch_filter(np.where(np.arange(len(z)) == 0, np.nan, z), upper)
