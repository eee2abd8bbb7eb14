"""Small simulated problems shared by the kernel and unit tests (imported as ``simulated``:
pytest puts this directory, the root conftest.py's, on sys.path)."""

import numpy as np


def correlated_genotypes(rng, n, m, *, freq=0.3, copy=0.6):
    """(n, m) genotype dosages with LD: each variant copies its left neighbour's dosage in a
    share ``copy`` of the individuals."""
    x = rng.binomial(2, freq, size=(n, m)).astype(float)
    for j in range(1, m):
        copied = rng.random(n) < copy
        x[copied, j] = x[copied, j - 1]
    return x


def standardised(x):
    return (x - x.mean(0)) / x.std(0)


def sparse_trait(seed, *, n=400, m=300, copy=0.6):
    """Standardised genotypes x (n, m) and a standardised phenotype y of a sparse trait (5 % of
    the variants causal, effects N(0, 0.2^2)), and the in-sample LD x'x / n."""
    rng = np.random.default_rng(seed)
    x = standardised(correlated_genotypes(rng, n, m, copy=copy))
    beta = np.where(rng.random(m) < 0.05, rng.normal(0, 0.2, m), 0.0)
    y = x @ beta + rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    return x, y, x.T @ x / n


def small_panel_problem(*, n_gwas=5000, n_validation=0, m=400, n_panel=40, width=15):
    """Marginal effects b from ``n_gwas`` samples of a sparse trait (2 % causal) and the LD of a
    ``n_panel``-sample panel, banded to ``width`` neighbours: not positive semi-definite, the
    case that needs a ridge. Also the effects and ``n_validation`` held-out samples."""
    import scipy.sparse as sp

    rng = np.random.default_rng(8)
    n = n_gwas + n_validation
    x = standardised(correlated_genotypes(rng, n, m, copy=0.8))
    beta = np.where(rng.random(m) < 0.02, rng.normal(0, 0.2, m), 0.0)
    y = x @ beta + rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    panel = standardised(correlated_genotypes(np.random.default_rng(9), n_panel, m, copy=0.8))
    r = panel.T @ panel / n_panel
    r = np.where(np.abs(np.subtract.outer(np.arange(m), np.arange(m))) <= width, r, 0.0)
    np.fill_diagonal(r, 0.0)
    return {"b": x[:n_gwas].T @ y[:n_gwas] / n_gwas, "ld": sp.csr_matrix(r), "beta": beta,
            "x_val": x[n_gwas:], "y_val": y[n_gwas:]}


def quantised_csr_rows(matrix, ld_dtype, index_dtype=np.int32):
    """CSR ``LDRows`` of a symmetric scipy matrix without diagonal, values quantised to
    ld_dtype (float types stay as they are) with the matching scale."""
    from vibank.io.ld_store import QUANTISATION, quantise
    from vibank.ld import LDRows

    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    ld = LDRows(quantise(matrix.data, ld_dtype), matrix.indptr, matrix.shape[0],
                indices=matrix.indices.astype(index_dtype), scale=scale)
    assert ld.layout == "csr" and ld.indices.dtype == index_dtype
    return ld


def quantised_band_rows(band, ld_dtype):
    """The band ``LDRows`` ``band`` (float values), quantised to ld_dtype."""
    from vibank.io.ld_store import QUANTISATION, quantise
    from vibank.ld import LDRows

    scale = 1.0 / QUANTISATION[np.dtype(ld_dtype).name]
    ld = LDRows(quantise(band.data, ld_dtype), band.indptr, band.n_variants, first=band.first,
                scale=scale)
    assert ld.layout == "band"
    return ld
