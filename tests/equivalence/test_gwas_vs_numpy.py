"""plink2 --glm (through vibank.genotypes.run_gwas) against independent NumPy regressions."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from vibank import columns as col
from vibank.genotypes import run_gwas
from vibank.io.plink import write_bfile
from vibank.io.sumstats import read_sumstats

N, M, N_COV = 800, 120, 4


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Random genotypes with missing calls, covariates, a quantitative and a binary phenotype."""
    tmp = tmp_path_factory.mktemp("gwas_eq")
    rng = np.random.default_rng(11)
    freq = rng.uniform(0.05, 0.95, size=M)  # A1 is the major allele at about half the variants
    geno = rng.binomial(2, freq, size=(N, M)).astype(np.int8)
    geno[rng.random(geno.shape) < 0.02] = -127
    ids = [f"S{i:04d}" for i in range(N)]
    fam = pd.DataFrame({col.FID: ids, col.IID: ids, col.SEX: rng.integers(1, 3, N)})
    pos = np.arange(1, M + 1) * 1000
    bim = pd.DataFrame({col.CHR: "1", col.SNP: [f"v{j}" for j in range(M)], col.CM: 0.0,
                        col.POS: pos, col.A1: "A", col.A2: "G"})
    write_bfile(tmp / "g", geno, bim, fam)
    covar = rng.standard_normal((N, N_COV)) * [1, 5, 0.1, 30] + [0, 2, 0, 50]
    g = np.where(geno >= 0, geno, 0).astype(float)
    y = g[:, :5] @ rng.normal(0, 0.3, 5) + covar @ [0.2, 0.05, 1.0, 0.01] + rng.standard_normal(N)
    liability = g[:, :5] @ rng.normal(0, 0.4, 5) + covar[:, 0] * 0.5 + rng.logistic(size=N)
    case = liability > np.quantile(liability, 0.7)
    names = [f"C{k}" for k in range(N_COV)]
    pd.DataFrame({col.FID: ids, col.IID: ids, **dict(zip(names, covar.T))}).to_csv(
        tmp / "covar.tsv", sep="\t", index=False)
    pd.DataFrame({col.FID: ids, col.IID: ids, "q": y, "b": np.where(case, 2, 1)}).to_csv(
        tmp / "pheno.tsv", sep="\t", index=False, float_format="%.10g")
    keep = rng.choice(N, size=700, replace=False)  # GWAS on a subset, as a fold's training set
    pd.DataFrame({"#FID": np.array(ids)[keep], col.IID: np.array(ids)[keep]}).to_csv(
        tmp / "train.keep", sep="\t", index=False)
    pheno = pd.read_csv(tmp / "pheno.tsv", sep="\t")  # values exactly as plink2 reads them
    cov = pd.read_csv(tmp / "covar.tsv", sep="\t")
    return {"dir": tmp, "geno": geno, "covar": cov[names].to_numpy(), "keep": np.sort(keep),
            "y": pheno["q"].to_numpy(), "case": (pheno["b"] == 2).to_numpy(float)}


def _design(study, j):
    rows = study["keep"][study["geno"][study["keep"], j] >= 0]  # plink2 drops missing calls
    x = np.column_stack([np.ones(len(rows)), study["geno"][rows, j], study["covar"][rows]])
    return rows, x


def _ols(x, y):
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    sigma2 = resid @ resid / (len(y) - x.shape[1])
    return beta[1], np.sqrt(sigma2 * xtx_inv[1, 1])


def _logistic(x, y, n_iter=50):
    beta = np.zeros(x.shape[1])
    for _ in range(n_iter):  # Newton-Raphson on the log-likelihood
        p = 1 / (1 + np.exp(-x @ beta))
        hess = x.T @ (x * (p * (1 - p))[:, None])
        step = np.linalg.solve(hess, x.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-x @ beta))
    cov = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))
    return beta[1], np.sqrt(cov[1, 1])


def _run(study, trait, binary):
    d = study["dir"]
    out = d / f"{trait}.sumstats.tsv.gz"
    run_gwas(d / "g", out, chrom="1", keep=d / "train.keep", phenotypes=d / "pheno.tsv",
             trait=trait, binary=binary, covariates=d / "covar.tsv", threads=1)
    return read_sumstats(out).set_index(col.SNP)


def test_run_gwas__linear_matches_numpy_least_squares(study):
    ss = _run(study, "q", binary=False)
    assert len(ss) == M
    for j in np.random.default_rng(0).choice(M, size=20, replace=False):
        rows, x = _design(study, j)
        beta, se = _ols(x, study["y"][rows])
        got = ss.loc[f"v{j}"]
        assert (got[col.A1], got[col.A2]) == ("A", "G")  # the counted .bim allele 1
        assert got[col.N] == len(rows)
        assert_allclose(got[col.BETA], beta, rtol=1e-5)
        assert_allclose(got[col.SE], se, rtol=1e-5)
        assert_allclose(got[col.Z], beta / se, rtol=1e-5)
        p = 2 * stats.t.sf(abs(beta / se), df=len(rows) - x.shape[1])
        assert_allclose(got[col.P], p, rtol=1e-4)
        freq = x[:, 1].mean() / 2
        assert_allclose(got[col.MAF], min(freq, 1 - freq), rtol=1e-5)


def test_run_gwas__logistic_matches_numpy_newton(study):
    ss = _run(study, "b", binary=True)
    for j in np.random.default_rng(1).choice(M, size=20, replace=False):
        rows, x = _design(study, j)
        beta, se = _logistic(x, study["case"][rows])
        got = ss.loc[f"v{j}"]
        # plink2 prints 6 significant digits and stops Newton at its own tolerance
        assert_allclose(got[col.BETA], beta, rtol=1e-4, atol=1e-6)
        assert_allclose(got[col.SE], se, rtol=1e-4)


def test_run_gwas_many__one_call_equals_one_call_per_trait(study):
    from vibank.genotypes import run_gwas_many

    d = study["dir"]
    common = dict(keep=d / "train.keep", phenotypes=d / "pheno.tsv", covariates=d / "covar.tsv")
    paths = {t: {"1": d / f"many_{t}.sumstats.tsv.gz"} for t in ("q", "b")}
    run_gwas_many(d / "g", paths, binary={"q": False, "b": True}, **common)
    for trait, binary in (("q", False), ("b", True)):
        alone = d / f"alone_{trait}.sumstats.tsv.gz"
        run_gwas(d / "g", alone, chrom="1", trait=trait, binary=binary, **common)
        pd.testing.assert_frame_equal(read_sumstats(paths[trait]["1"]), read_sumstats(alone))


def test_run_gwas_many__binary_trait_coded_as_quantitative_is_an_error(study):
    from vibank.errors import VibankError
    from vibank.genotypes import run_gwas_many

    d = study["dir"]
    with pytest.raises(VibankError, match="column q is declared binary"):
        run_gwas_many(d / "g", {"q": {"1": d / "bad.tsv.gz"}}, binary={"q": True},
                      keep=d / "train.keep", phenotypes=d / "pheno.tsv")
