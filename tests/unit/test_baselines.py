"""vibank.prs.baselines: LDpred-inf, the Gibbs sampler and C+T (prs_vi.md section 10)."""

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.ld_store import QUANTISATION, quantise
from vibank.io.plink import write_bfile
from vibank.ld import LDRows, SparseLD
from vibank.prs import tuning
from vibank.prs._reference_gibbs import gibbs_chain
from vibank.prs.baselines import (
    GibbsGenome,
    GibbsSpikeSlab,
    clump_and_threshold,
    gibbs_fit_point,
    ldpred_inf,
    ldpred_inf_genome,
    select_threshold,
    threshold_column,
)


@pytest.fixture(scope="module")
def problem():
    """In-sample LD (n=500, m=200) within a band of 20 neighbours, and a sparse trait's sumstats."""
    rng = np.random.default_rng(8)
    n, m, width = 500, 200, 20
    x = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(float)
    for j in range(1, m):
        copy = rng.random(n) < 0.5
        x[copy, j] = x[copy, j - 1]
    x = (x - x.mean(0)) / x.std(0)
    beta = np.where(rng.random(m) < 0.05, rng.normal(0, 0.15, m), 0.0)
    y = x @ beta + rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    r = x.T @ x / n
    j, k = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    upper = np.where((k > j) & (k - j <= width), r, 0.0)
    lengths = np.minimum(width, m - 1 - np.arange(m))
    data = np.concatenate([upper[i, i + 1:i + 1 + lengths[i]] for i in range(m)])
    band = LDRows.from_upper(SparseLD(data, np.concatenate([[0], np.cumsum(lengths)]), None, m))
    return {"b": x.T @ y / n, "n": n, "m": m, "band": band, "R": sp.csr_matrix(upper + upper.T)}


def _quantised_band(band, dtype):
    scale = 1.0 / QUANTISATION[np.dtype(dtype).name]
    out = LDRows(quantise(band.data, dtype), band.indptr, band.n_variants, first=band.first,
                 scale=scale)
    assert out.layout == "band"
    return out, scale


# -- LDpred-inf ------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["csr", "band", "band-int16"])
def test_ldpred_inf__equals_dense_solve(problem, layout):
    m, n, h2 = problem["m"], problem["n"], 0.3
    if layout == "csr":
        ld, scale = problem["R"], 1.0
    else:
        ld_dtype = np.int16 if layout == "band-int16" else np.float64
        ld, scale = _quantised_band(problem["band"], ld_dtype)
    dense = (ld.to_scipy() if layout != "csr" else ld).toarray() * scale + np.eye(m)
    expected = np.linalg.solve(dense + m / (n * h2) * np.eye(m), problem["b"])
    eta = ldpred_inf(problem["b"], n, ld, h2=h2)
    assert_allclose(eta, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_ldpred_inf__h2_grid_and_median_n(problem):
    m = problem["m"]
    n = np.full(m, float(problem["n"]))
    n[:10] = 5.0  # the median ignores a few small N_j
    etas = ldpred_inf(problem["b"], n, problem["R"], h2=[0.1, 0.5])
    assert etas.shape == (2, m)
    for eta, h2 in zip(etas, (0.1, 0.5)):
        assert_allclose(eta, ldpred_inf(problem["b"], problem["n"], problem["R"], h2=h2), rtol=1e-6,
                        atol=1e-9)
    # more heritability, less shrinkage
    assert np.linalg.norm(etas[1]) > np.linalg.norm(etas[0])


def test_ldpred_inf__rejects_bad_input(problem):
    with pytest.raises(ValueError, match="h2 must be positive"):
        ldpred_inf(problem["b"], problem["n"], problem["R"], h2=0.0)
    with pytest.raises(ValueError, match="variants"):
        ldpred_inf(problem["b"][:-1], problem["n"], problem["R"], h2=0.1)


def _two_chromosomes(problem, cut=120):
    """The problem split at ``cut`` into two chromosomes (no LD between them): b, N and LD lists."""
    first = np.arange(problem["m"]) < cut
    return ([problem["b"][first], problem["b"][~first]],
            [problem["n"], np.full(int((~first).sum()), float(problem["n"]))],
            [problem["band"].subset(first), problem["band"].subset(~first)])


def test_ldpred_inf_genome__chromosomes_with_their_share_of_h2(problem):
    m, n, h2 = problem["m"], problem["n"], 0.3
    b, n_list, _ = _two_chromosomes(problem)
    ld = [problem["R"][:120, :120], problem["R"][120:, 120:]]
    eta = ldpred_inf_genome(b, n_list, ld, h2=h2)
    expected = np.concatenate([ldpred_inf(bc, nc, ldc, h2=h2 * len(bc) / m)
                               for bc, nc, ldc in zip(b, n_list, ld)])
    assert eta.shape == (m,)
    assert_array_equal(eta, expected)
    # the shares keep the genome's shrinkage M / (N h2): one solve on the block-diagonal LD
    joint = ldpred_inf(np.concatenate(b), n, sp.block_diag(ld), h2=h2)
    assert_allclose(eta, joint, rtol=1e-6, atol=1e-6 * np.abs(joint).max())


# -- Gibbs sampler: exact posterior of a 3-variant problem -----------------------------------
THREE = {"R": np.array([[1.0, 0.4, 0.2], [0.4, 1.0, 0.1], [0.2, 0.1, 1.0]]),
         "b": np.array([0.15, 0.09, -0.04]), "n": 300, "pi": 0.3, "sigma2_beta": 0.02,
         "sigma2_eps": 0.9}
N_BURNIN, N_SAMPLES, N_BATCHES = 200, 20_000, 20


def _exact_posterior(r, b, n, pi, sigma2_beta, sigma2_eps):
    """E[beta | b] and P(s_j = 1 | b) by enumerating the 2^M inclusion patterns.

    The likelihood is the one the sampler targets, b | beta ~ N(R beta, s2e R / N), whose
    beta-dependent part is exp(N/s2e b'beta - N/(2 s2e) beta'R beta). Given the pattern S,
    beta_S is Gaussian with precision P = N/s2e R_SS + I/s2b and mean P^-1 N/s2e b_S, and the
    pattern's weight is pi^|S| (1-pi)^(M-|S|) s2b^(-|S|/2) |P|^(-1/2) exp(m'P m / 2).
    """
    m = len(b)
    patterns = np.array(list(itertools.product([0, 1], repeat=m)))
    log_weights, means = [], []
    for pattern in patterns:
        s = np.flatnonzero(pattern)
        mean = np.zeros(m)
        log_w = len(s) * np.log(pi) + (m - len(s)) * np.log1p(-pi)
        if len(s):
            precision = n / sigma2_eps * r[np.ix_(s, s)] + np.eye(len(s)) / sigma2_beta
            h = n / sigma2_eps * b[s]
            mean[s] = np.linalg.solve(precision, h)
            log_w += (-0.5 * len(s) * np.log(sigma2_beta)
                      - 0.5 * np.linalg.slogdet(precision)[1] + 0.5 * h @ mean[s])
        log_weights.append(log_w)
        means.append(mean)
    w = np.exp(np.array(log_weights) - max(log_weights))
    w /= w.sum()
    return w @ np.array(means), w @ patterns


def _batch_means_se(samples):
    """Monte-Carlo standard error of the mean of each column (batch means: autocorrelation-safe)."""
    batches = samples.reshape(N_BATCHES, -1, samples.shape[1]).mean(axis=1)
    return batches.std(axis=0, ddof=1) / np.sqrt(N_BATCHES)


@pytest.fixture(scope="module")
def three_fit():
    hyper = {k: THREE[k] for k in ("pi", "sigma2_beta", "sigma2_eps")}
    model = GibbsSpikeSlab(**hyper, n_burnin=N_BURNIN, n_samples=N_SAMPLES, seed=3)
    model.fit(THREE["b"], THREE["n"], sp.csr_matrix(THREE["R"] - np.eye(3)))
    betas, inclusions = gibbs_chain(THREE["R"], THREE["b"], THREE["n"], **hyper,
                                    n_sweeps=N_BURNIN + N_SAMPLES, seed=3)
    return model, betas[N_BURNIN:], inclusions[N_BURNIN:].astype(float)


def test_gibbs__chain_equals_numpy_twin(three_fit):
    model, betas, inclusions = three_fit
    assert_allclose(model.eta_, betas.mean(axis=0), rtol=1e-12, atol=1e-15)
    assert_allclose(model.pip_, inclusions.mean(axis=0), rtol=1e-12)
    assert_allclose(model.var_beta_, betas.var(axis=0), rtol=1e-9, atol=1e-15)
    h2 = np.einsum("sj,jk,sk->s", betas, THREE["R"], betas)
    assert_allclose(model.h2_samples_, h2, rtol=1e-10)
    assert model.h2_ == pytest.approx(h2.mean(), rel=1e-10)


def test_gibbs__posterior_mean_matches_exact_enumeration(three_fit):
    model, betas, inclusions = three_fit
    eta, pip = _exact_posterior(THREE["R"], THREE["b"], THREE["n"], THREE["pi"],
                                THREE["sigma2_beta"], THREE["sigma2_eps"])
    se_eta, se_pip = _batch_means_se(betas), _batch_means_se(inclusions)
    assert np.all(se_eta < 0.01 * np.abs(eta).max())  # the test has power
    assert np.all(np.abs(model.eta_ - eta) < 4 * se_eta), (model.eta_, eta, se_eta)
    assert np.all(np.abs(model.pip_ - pip) < 4 * se_pip), (model.pip_, pip, se_pip)


def test_gibbs__same_seed_same_result_other_seed_differs(problem):
    kw = dict(pi=0.05, h2=0.3, n_burnin=20, n_samples=50)
    a = GibbsSpikeSlab(**kw, seed=7).fit(problem["b"], problem["n"], problem["R"])
    b = GibbsSpikeSlab(**kw, seed=7).fit(problem["b"], problem["n"], problem["R"])
    c = GibbsSpikeSlab(**kw, seed=8).fit(problem["b"], problem["n"], problem["R"])
    assert_array_equal(a.eta_, b.eta_)
    assert_array_equal(a.pip_, b.pip_)
    assert not np.array_equal(a.eta_, c.eta_)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_gibbs__band_int16_and_csr_layouts_give_the_same_fit(problem, dtype, tol):
    band, scale = _quantised_band(problem["band"], np.int16)
    csr = LDRows.from_csr(band.to_scipy(), scale=scale)
    assert csr.layout == "csr" and csr.dtype == np.int16
    kw = dict(pi=0.05, sigma2_beta=0.005, sigma2_eps=0.9, n_burnin=10, n_samples=30, seed=1)
    a = GibbsSpikeSlab(**kw, dtype=dtype).fit(problem["b"], problem["n"], band)
    b = GibbsSpikeSlab(**kw, n_threads=2).fit(problem["b"], problem["n"], csr)
    assert_allclose(a.eta_, b.eta_, rtol=tol, atol=tol)
    assert_allclose(a.pip_, b.pip_, atol=1e-12)
    assert a.h2_ == pytest.approx(b.h2_, rel=tol)
    assert a.result_.n_iter == 40 and a.result_.stop_reason == "completed"
    assert len(a.result_.history) == 40 and np.isnan(a.result_.elbo)


def test_gibbs__h2_parametrisation_and_fit_point(problem):
    m = problem["m"]
    model = GibbsSpikeSlab(pi=0.02, h2=0.4, n_burnin=5, n_samples=10).fit(
        problem["b"], problem["n"], problem["band"])
    assert model.sigma2_beta_ == pytest.approx(0.4 / (m * 0.02))
    assert model.sigma2_eps_ == pytest.approx(0.6)
    # the tuning callback: the same fit for the same grid point
    fit_point = gibbs_fit_point(problem["b"], problem["n"], problem["band"], n_burnin=5,
                                n_samples=10)
    again = fit_point({"pi": 0.02, "sigma2_beta": 0.4 / (m * 0.02), "sigma2_eps": 0.6})
    assert_allclose(again.eta_, model.eta_, rtol=1e-12)
    assert 0 < model.h2_ < 1 and np.all((model.pip_ >= 0) & (model.pip_ <= 1))


def test_gibbs_fit_point__chromosome_lists_are_separate_fits_with_h2_shares(problem):
    m = problem["m"]
    b, n, ld = _two_chromosomes(problem)
    kw = dict(n_burnin=5, n_samples=10, seed=4)
    point = {"pi": 0.02, "h2": 0.4}
    genome = gibbs_fit_point(b, n, ld, **kw)(point)
    assert isinstance(genome, GibbsGenome) and point == {"pi": 0.02, "h2": 0.4}
    separate = [GibbsSpikeSlab(pi=0.02, h2=0.4 * len(bc) / m, **kw).fit(bc, nc, ldc)
                for bc, nc, ldc in zip(b, n, ld)]
    for name in ("eta_", "pip_", "var_beta_"):
        assert_array_equal(getattr(genome, name),
                           np.concatenate([getattr(f, name) for f in separate]))
    assert genome.h2_ == pytest.approx(sum(f.h2_ for f in separate), rel=1e-12)
    # each chromosome's share of h2 keeps the genome's slab variance h2 / (M pi)
    for fit in genome.fits_:
        assert fit.sigma2_beta_ == pytest.approx(0.4 / (m * 0.02))
    assert genome.result_.n_iter == 15 and genome.result_.stop_reason == "completed"
    # in a grid search the table keeps the point's own h2, not the fitted h2_
    result = tuning.grid_search([point], gibbs_fit_point(b, n, ld, **kw), lambda model: model.h2_)
    assert result.table.at[0, "h2"] == 0.4 and result.table.at[0, "metric"] == genome.h2_
    assert_array_equal(result.best_model.eta_, genome.eta_)


@pytest.mark.parametrize("params, message", [
    ({"pi": 0.1}, "exactly one of"),
    ({"pi": 0.1, "h2": 0.2, "sigma2_beta": 0.01}, "exactly one of"),
    ({"pi": 1.5, "h2": 0.2}, "pi must lie"),
    ({"pi": 0.1, "h2": 0.2, "n_samples": 0}, "n_samples"),
])
def test_gibbs__rejects_bad_hyperparameters(problem, params, message):
    with pytest.raises(ValueError, match=message):
        GibbsSpikeSlab(**params).fit(problem["b"], problem["n"], problem["R"])


def test_gibbs__indefinite_ld_is_reported_as_divergence():
    # R_12 = 1.5: eigenvalue -0.5, the RSS posterior is improper and the chain runs away
    ld = sp.csr_matrix(np.array([[0.0, 1.5], [1.5, 0.0]]))
    model = GibbsSpikeSlab(pi=0.5, sigma2_beta=0.1, sigma2_eps=0.5, seed=0)
    with pytest.raises(VibankError, match="diverged"):
        model.fit(np.array([0.1, 0.05]), 1000, ld)


# -- C+T with plink ------------------------------------------------------------------------
N_SAMPLES_REF = 600
#: (chromosome, groups of variants in LD, variants per group, first position)
LAYOUT = [("1", 6, 5, 1_000_000), ("2", 3, 4, 500_000)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A PLINK fileset of LD groups (r^2 within a group ~0.65, ~0 between groups), all within
    250 kb on each chromosome, plus two identical variants 400 kb apart on chromosome 1."""
    rng = np.random.default_rng(12)
    genotypes, bim, groups = [], [], []
    for chrom, n_groups, size, start in LAYOUT:
        for g in range(n_groups):
            base = rng.binomial(2, rng.uniform(0.2, 0.5), N_SAMPLES_REF)
            for k in range(size):
                fresh = rng.binomial(2, base.mean() / 2, N_SAMPLES_REF)
                genotypes.append(np.where(rng.random(N_SAMPLES_REF) < 0.9, base, fresh))
                bim.append((chrom, f"rs{chrom}_{g}_{k}", start + 20_000 * g + 1_000 * k))
                groups.append(f"{chrom}_{g}")
        if chrom == "1":
            far = rng.binomial(2, 0.3, N_SAMPLES_REF)
            for name, pos in (("rsFarA", 2_000_000), ("rsFarB", 2_400_000)):
                genotypes.append(far)
                bim.append(("1", name, pos))
                groups.append(name)
    bim = pd.DataFrame(bim, columns=[col.CHR, col.SNP, col.POS])
    bim[col.CM], bim[col.A1], bim[col.A2] = 0.0, "A", "G"
    fam = pd.DataFrame({col.FID: [f"s{i}" for i in range(N_SAMPLES_REF)],
                        col.IID: [f"s{i}" for i in range(N_SAMPLES_REF)], col.SEX: 1})
    dosages = np.array(genotypes, dtype=np.int8).T
    prefix = tmp_path_factory.mktemp("ct") / "ref"
    bim = bim[[col.CHR, col.SNP, col.CM, col.POS, col.A1, col.A2]]
    write_bfile(prefix, np.ascontiguousarray(dosages), bim, fam)
    return {"prefix": prefix, "bim": bim, "groups": np.array(groups),
            "dosages": dosages.astype(float)}


def _sumstats(reference, seed=2):
    rng = np.random.default_rng(seed)
    bim = reference["bim"]
    m = len(bim)
    table = bim[[col.CHR, col.POS, col.SNP, col.A1, col.A2]].copy()
    table[col.P] = 10.0 ** -rng.uniform(0, 12, m)
    table[col.BETA] = rng.normal(0, 0.1, m)
    table[col.SE], table[col.N], table[col.MAF] = 0.01, 1000, 0.3
    table[col.Z] = table[col.BETA] / table[col.SE]
    extra = pd.DataFrame({col.CHR: ["1", "1"], col.POS: [3_000_000, 3_100_000],
                          col.SNP: ["rsNotInReference", "rsNoP"], col.A1: "A", col.A2: "G",
                          col.P: [1e-20, np.nan], col.BETA: [0.5, 0.4], col.SE: 0.01, col.N: 1000,
                          col.MAF: 0.3, col.Z: 1.0})
    return pd.concat([table, extra], ignore_index=True)[col.SUMSTATS_ORDER]


def _greedy_clumps(reference, p, r2=0.1, kb=250):
    """Index variants of greedy clumping by increasing p, r^2 from the allele counts."""
    bim, r2_matrix = reference["bim"], np.corrcoef(reference["dosages"].T) ** 2
    chrom, pos = bim[col.CHR].to_numpy(), bim[col.POS].to_numpy()
    clumped, index = np.zeros(len(bim), dtype=bool), []
    for j in np.argsort(p):
        if clumped[j]:
            continue
        index.append(j)
        near = (chrom == chrom[j]) & (np.abs(pos - pos[j]) <= kb * 1000)
        clumped |= near & (r2_matrix[j] > r2)
    return set(bim[col.SNP].to_numpy()[index]), r2_matrix


@pytest.fixture(scope="module")
def clumped(reference, tmp_path_factory):
    sumstats = _sumstats(reference)
    out = tmp_path_factory.mktemp("ct_out") / "trait"
    return sumstats, clump_and_threshold(sumstats, reference["prefix"], out_prefix=out)


def test_clump_and_threshold__index_variants_lead_their_clumps(reference, clumped):
    sumstats, table = clumped
    m = len(reference["bim"])
    expected, r2 = _greedy_clumps(reference, sumstats[col.P].to_numpy()[:m])
    # the design leaves no pair near the r^2 threshold, so plink's r^2 cannot disagree with ours
    off_diagonal = r2[~np.eye(m, dtype=bool)]
    assert not np.any((off_diagonal > 0.05) & (off_diagonal < 0.3))
    index = set(table.loc[table["INDEX"], col.SNP])
    assert index == expected
    # one index per LD group, its lowest-p variant; the identical pair 400 kb apart: both
    p, groups = sumstats[col.P].to_numpy()[:m], reference["groups"]
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        assert index & set(reference["bim"][col.SNP].to_numpy()[members]) == \
            {reference["bim"][col.SNP].iloc[members[np.argmin(p[members])]]}
    assert {"rsFarA", "rsFarB"} <= index
    # variants absent from the reference or without a p-value are never index variants
    assert not table.set_index(col.SNP).loc[["rsNotInReference", "rsNoP"], "INDEX"].any()


def test_clump_and_threshold__weights_zero_above_threshold(clumped):
    sumstats, table = clumped
    assert table[col.SNP].tolist() == sumstats[col.SNP].tolist()
    for t in (5e-8, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1.0):
        weights = table[threshold_column(t)].to_numpy()
        keep = table["INDEX"].to_numpy() & (table[col.P].to_numpy() <= t)
        assert_array_equal(weights[keep], table[col.BETA].to_numpy()[keep])
        assert np.all(weights[~keep] == 0)
    assert (table[threshold_column(1.0)] != 0).sum() == table["INDEX"].sum()
    assert (table[threshold_column(5e-8)] != 0).sum() < table["INDEX"].sum()


def test_clump_and_threshold__reads_a_sumstats_file(reference, tmp_path):
    from vibank.io.sumstats import write_sumstats

    sumstats = _sumstats(reference, seed=5).dropna(subset=[col.P])
    write_sumstats(sumstats, tmp_path / "ss.tsv.gz")
    from_file = clump_and_threshold(tmp_path / "ss.tsv.gz", reference["prefix"],
                                    out_prefix=tmp_path / "a", p_thresholds=(1e-4, 1.0))
    from_frame = clump_and_threshold(sumstats, reference["prefix"], out_prefix=tmp_path / "b",
                                     p_thresholds=(1e-4, 1.0))
    assert list(from_file.columns[-2:]) == [threshold_column(1e-4), threshold_column(1.0)]
    assert_array_equal(from_file["INDEX"], from_frame["INDEX"])


def test_clump_and_threshold__one_line_errors(reference, tmp_path):
    sumstats = _sumstats(reference)
    with pytest.raises(VibankError, match="lack the columns"):
        clump_and_threshold(sumstats.drop(columns=[col.P]), reference["prefix"],
                            out_prefix=tmp_path / "x")
    with pytest.raises(VibankError, match="failed"):
        clump_and_threshold(sumstats, tmp_path / "no_such_fileset", out_prefix=tmp_path / "y")


def test_select_threshold__standardised_scores_ranked_by_the_metric():
    thresholds = (1e-4, 0.01, 1.0)
    beta = {1e-4: [0.2, 0.0, 0.0, 0.0], 0.01: [0.2, -0.1, 0.0, 0.0], 1.0: [0.2, -0.1, 0.05, 0.3]}
    table = pd.DataFrame({col.SNP: ["rs1", "rs2", "rs3", "rs4"],
                          **{threshold_column(t): v for t, v in beta.items()}})
    freq = np.array([0.5, 0.1, 0.2, 0.5])
    sd = np.sqrt(2 * freq * (1 - freq))
    target = np.array(beta[0.01]) * sd

    def score(eta):
        return -float(np.sum((eta - target) ** 2))

    rows, best, eta = select_threshold(table, freq, score, thresholds)
    assert list(rows.columns) == ["p_threshold", "n_variants", "metric"]
    assert rows["p_threshold"].tolist() == list(thresholds)
    assert rows["n_variants"].tolist() == [1, 2, 4]
    assert_allclose(rows["metric"], [-(0.1 * sd[1]) ** 2, 0.0,
                                     -((0.05 * sd[2]) ** 2 + (0.3 * sd[3]) ** 2)])
    assert best == 0.01
    assert_allclose(eta, target, rtol=1e-15)
    # ties go to the first threshold
    rows, best, eta = select_threshold(table, freq, lambda e: 1.0, thresholds)
    assert best == 1e-4 and (rows["metric"] == 1.0).all()
    assert_allclose(eta, np.array(beta[1e-4]) * sd, rtol=1e-15)
