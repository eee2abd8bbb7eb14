"""File-to-file PRS stages (vibank.stages.prs, vibank.stages.fit_data): allele matching to the
LD store, result files, the CLI."""

import gzip
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from vibank.cli import main
from vibank.errors import VibankError
from vibank.io.ld_store import write_ld_store
from vibank.io.sumstats import write_sumstats
from vibank.ld import LDEstimator, LDMatrix, compute_ld
from vibank.ld.estimators import ld_scores, standardise_panel
from vibank.ld.windows import window_ends
from vibank.io.plink import write_bfile
from vibank.prs.spec import model_spec
from vibank.stages.fit_data import load_fit_data
from vibank.stages.prs import fit_baseline, fit_models, fit_prs, tune_prs
from vibank.sumstats import harmonise

M = 200
FILES = ("effects", "json", "pgs", "score")


def _outputs(prefix, keys=FILES):
    """The paths fit_prs writes for one chromosome: ``prefix``.effects, .json, ..."""
    return {k: prefix.parent / f"{prefix.name}.{k}" for k in keys}


def _fit_one(sumstats, ld, outputs, **options):
    """fit_prs on one chromosome with the spike-and-slab VEM spec (the old fit_prs_chromosome)."""
    options.setdefault("spec", model_spec({"prior": "spike_slab"}))
    options.setdefault("trait", "t")
    options.setdefault("model_name", "viprs-ss-vem")
    return fit_prs([sumstats], [ld], [outputs], **options)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """An LD store from 500 panel samples and sumstats of a sparse trait from 3,000 others."""
    tmp = tmp_path_factory.mktemp("pipelines")
    rng = np.random.default_rng(12)

    def genotypes(n):
        g = rng.binomial(2, 0.3, size=(n, M)).astype(np.int8)
        for j in range(1, M):
            copy = rng.random(n) < 0.6
            g[copy, j] = g[copy, j - 1]
        return g

    panel, gwas = genotypes(500), genotypes(3000).astype(float)
    x, freq, n_obs = standardise_panel(panel, dtype=np.float64)
    pos = np.arange(1, M + 1) * 5000
    ld = compute_ld(x, estimator=LDEstimator("windowed", window_variants=30),
                    ends=window_ends(pos, window_variants=30))
    snps = [f"1:{p}" for p in pos]
    write_ld_store(tmp / "chr1.zarr", ld, {
        "snp": snps, "chr": ["1"] * M, "a1": ["A"] * M, "a2": ["G"] * M, "pos": pos, "cm": pos * 1e-6,
        "maf": np.minimum(freq, 1 - freq), "ld_score": ld_scores(ld), "n_ref": n_obs}, {
        "estimator": "windowed", "n_ref": 500, "chrom": "1"}, dtype="int16")
    xs = (gwas - gwas.mean(0)) / gwas.std(0)
    beta = np.where(rng.random(M) < 0.05, rng.normal(0, 0.15, M), 0.0)
    y = xs @ beta + rng.standard_normal(3000)
    y = (y - y.mean()) / y.std()
    b = xs.T @ y / 3000
    z = b * np.sqrt(3000 - 2) / np.sqrt(1 - b**2)
    f = gwas.mean(0) / 2
    ss = pd.DataFrame({"CHR": "1", "SNP": snps, "POS": pos, "A1": "A", "A2": "G", "N": 3000,
                       "MAF": np.minimum(f, 1 - f), "BETA": b, "SE": b / z, "Z": z, "P": 0.5})
    swap = rng.random(M) < 0.3  # report some variants for the other allele
    ss.loc[swap, ["A1", "A2"]] = ["G", "A"]
    ss.loc[swap, ["BETA", "Z"]] *= -1
    write_sumstats(ss, tmp / "ss.tsv.gz")
    return {"dir": tmp, "beta": beta, "swap": swap, "ss": ss}


@pytest.fixture(scope="module")
def validation(study, tmp_path_factory):
    """400 validation samples of the study's trait: PLINK files, keep file, phenotype table."""
    tmp = tmp_path_factory.mktemp("validation")
    rng = np.random.default_rng(5)
    n = 400
    g = rng.binomial(2, 0.3, size=(n, M)).astype(np.int8)
    for j in range(1, M):
        copy = rng.random(n) < 0.6
        g[copy, j] = g[copy, j - 1]
    xs = (g - g.mean(0)) / g.std(0)
    y = xs @ study["beta"] + rng.standard_normal(n)
    iid = [f"v{i}" for i in range(n)]
    ss = study["ss"]
    bim = pd.DataFrame({"CHR": "1", "SNP": ss["SNP"], "CM": 0.0, "POS": ss["POS"], "A1": "A",
                        "A2": "G"})
    fam = pd.DataFrame({"FID": iid, "IID": iid, "SEX": 1})
    write_bfile(tmp / "val", g, bim, fam)
    pd.DataFrame({"#FID": iid, "IID": iid}).to_csv(tmp / "val.keep", sep="\t", index=False)
    pd.DataFrame({"FID": iid, "IID": iid, "t": y}).to_csv(tmp / "pheno.tsv", sep="\t",
                                                          index=False)
    return (str(tmp / "val"), str(tmp / "val.keep"), str(tmp / "pheno.tsv"))


def test_harmonise_same_strand__flips_swapped_and_drops_mismatched(study):
    """The matching every workflow fit does (strand "same": the GWAS of the panel's genotypes)."""
    ss = study["ss"].copy()
    ss.loc[3, ["A1", "A2"]] = ["C", "T"]  # another allele pair: dropped
    ss = pd.concat([ss, ss.iloc[[0]].assign(SNP="absent", POS=10**9)])
    matched, mask, audit, summary = harmonise(
        ss, LDMatrix(study["dir"] / "chr1.zarr").variants(), strand="same")
    assert dict(zip(audit["SNP"], audit["reason"])) == {"absent": "not_in_ld",
                                                        ss["SNP"][3]: "allele_mismatch"}
    assert summary["swapped"] == int(study["swap"].sum()) - study["swap"][3]
    assert mask.sum() == M - 1 and not mask[3]
    assert (matched["A1"] == "A").all()
    original = study["ss"].set_index("SNP").loc[matched["SNP"]]
    sign = np.where(original["A1"] == "A", 1, -1)
    np.testing.assert_allclose(matched["Z"], original["Z"] * sign)


def test_fit_prs__one_chromosome_writes_every_result_file(study):
    d = study["dir"]
    outputs = {"effects": d / "e.tsv.gz", "json": d / "h.json", "pgs": d / "pgs.txt.gz",
               "score": d / "s.tsv"}
    model = _fit_one(d / "ss.tsv.gz", d / "chr1.zarr", outputs, n_threads=2)
    effects = pd.read_csv(d / "e.tsv.gz", sep="\t")
    assert list(effects.columns) == ["CHR", "SNP", "POS", "A1", "A2", "BETA", "BETA_PER_ALLELE", "PIP", "VAR_BETA"]
    assert np.corrcoef(effects["BETA"], study["beta"])[0, 1] > 0.8
    fit = json.loads((d / "h.json").read_text())
    assert fit["stop_reason"] == model.result_.stop_reason and fit["h2"] == pytest.approx(model.h2_)
    assert len(fit["history"]) == fit["iterations"]
    lines = gzip.open(d / "pgs.txt.gz", "rt").read().splitlines()
    assert lines[1] == "#format_version=2.0" and "#pgs_name=viprs-ss-vem_t" in lines
    header = next(line for line in lines if not line.startswith("#"))
    assert header.split("\t") == ["rsID", "chr_name", "chr_position", "effect_allele", "other_allele", "effect_weight"]
    score = pd.read_csv(d / "s.tsv", sep="\t")
    assert list(score.columns) == ["SNP", "A1", "BETA_PER_ALLELE"] and (score["BETA_PER_ALLELE"] != 0).all()


def test_fit_prs__refuses_low_overlap(study, tmp_path):
    ss = study["ss"].copy()
    ss["SNP"] = [f"x{j}" for j in range(M)]
    ss["POS"] += 1  # neither IDs nor positions match the panel
    write_sumstats(ss, tmp_path / "other.tsv.gz")
    with pytest.raises(VibankError, match=r"other.tsv.gz: only 0 variants pair up with .*chr1.zarr \(0.0%"):
        _fit_one(tmp_path / "other.tsv.gz", study["dir"] / "chr1.zarr",
                 {"effects": tmp_path / "e", "json": tmp_path / "j", "pgs": tmp_path / "p",
                  "score": tmp_path / "s"})
    assert not list(tmp_path.glob("e*")) and not (tmp_path / "j").exists()


def test_cli_fit__writes_outputs_and_reports(study, tmp_path, capsys):
    code = main(["fit", "--sumstats", str(study["dir"] / "ss.tsv.gz"), "--ld",
                 str(study["dir"] / "chr1.zarr"), "--out", str(tmp_path / "fit"), "--threads", "2"])
    assert code == 0
    assert "h2 =" in capsys.readouterr().out
    for suffix in (".effects.tsv.gz", ".json", ".pgs.txt.gz", ".score.tsv"):
        assert (tmp_path / f"fit{suffix}").exists()


def test_cli_fit__strand_same_keeps_ambiguous_snps(study, tmp_path, capsys):
    ss = pd.read_csv(study["dir"] / "ss.tsv.gz", sep="\t")
    store = tmp_path / "chr1.zarr"
    shutil.copytree(study["dir"] / "chr1.zarr", store)
    # make the first 10 panel variants A/T, and their sumstats with them
    import zarr

    a2 = zarr.open_group(str(store), mode="r+")["variants/a2"]
    values = [str(v) for v in a2[:]]
    a2[:] = np.array(["T"] * 10 + values[10:], dtype=a2.dtype)
    ss.loc[:9, "A2"] = np.where(ss.loc[:9, "A1"] == "A", "T", ss.loc[:9, "A2"])
    ss.loc[:9, "A1"] = np.where(ss.loc[:9, "A1"] == "G", "T", ss.loc[:9, "A1"])
    ss.to_csv(tmp_path / "ss.tsv", sep="\t", index=False)
    fitted = {}
    for strand in ("check", "same"):
        code = main(["fit", "--sumstats", str(tmp_path / "ss.tsv"), "--ld", str(store), "--out",
                     str(tmp_path / strand), "--strand", strand])
        assert code == 0
        fitted[strand] = json.loads((tmp_path / f"{strand}.json").read_text())["n_variants"]
    assert fitted == {"check": M - 10, "same": M}


def test_cli_fit__mixture_prior(study, tmp_path, capsys):
    code = main(["fit", "--sumstats", str(study["dir"] / "ss.tsv.gz"), "--ld",
                 str(study["dir"] / "chr1.zarr"), "--out", str(tmp_path / "mix"), "--prior",
                 "mixture", "--n-components", "3"])
    assert code == 0
    fit = json.loads((tmp_path / "mix.json").read_text())
    assert fit["prior"] == "mixture" and len(fit["sigma2_components"]) == 3


def test_cli_fit__grid_search_on_the_elbo(study, tmp_path, capsys):
    code = main(["fit", "--sumstats", str(study["dir"] / "ss.tsv.gz"), "--ld",
                 str(study["dir"] / "chr1.zarr"), "--out", str(tmp_path / "gs"), "--strategy",
                 "gs", "--metric", "elbo", "--grid-size", "5"])
    assert code == 0
    grid = pd.read_csv(tmp_path / "gs.grid.tsv", sep="\t")
    fit = json.loads((tmp_path / "gs.chr1.json").read_text())
    assert len(grid) == 5 and fit["strategy"] == "gs"
    assert fit["chosen"]["pi"] == pytest.approx(grid.loc[grid["elbo"].idxmax(), "pi"])


def test_cli_fit__validation_metric_needs_validation_data(study, tmp_path, capsys):
    code = main(["fit", "--sumstats", str(study["dir"] / "ss.tsv.gz"), "--ld",
                 str(study["dir"] / "chr1.zarr"), "--out", str(tmp_path / "gs"), "--strategy", "bo"])
    err = capsys.readouterr().err
    assert code != 0 and "needs --bfile" in err and "Traceback" not in err


def test_fit_prs__external_format_with_swaps_flips_and_mismatches(study, tmp_path):
    """A plink2 --glm file of the same GWAS with a third of the alleles swapped, a third on the
    other strand and a few variants with alleles the panel lacks: harmonised, audited, and the
    fit equals the fit of the canonical file without those variants."""
    rng = np.random.default_rng(3)
    ss = study["ss"]
    kind = rng.choice(["same", "swap", "flip"], size=M)
    bad = rng.choice(M, size=5, replace=False)
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    a1, a2 = ss["A1"].to_numpy(object).copy(), ss["A2"].to_numpy(object).copy()
    swap, flip = kind == "swap", kind == "flip"
    a1[swap], a2[swap] = ss["A2"].to_numpy(object)[swap], ss["A1"].to_numpy(object)[swap]
    a1[flip] = [complement[a] for a in a1[flip]]
    a2[flip] = [complement[a] for a in a2[flip]]
    a1[bad], a2[bad] = "A", "C"  # an allele pair the panel's variants (A/G) do not have
    sign = np.where(kind == "swap", -1.0, 1.0)
    glm = pd.DataFrame({"#CHROM": "chr1", "POS": ss["POS"], "ID": ss["SNP"], "REF": a2, "ALT": a1,
                        "A1": a1, "OBS_CT": ss["N"], "BETA": sign * ss["BETA"], "SE": ss["SE"],
                        "T_STAT": sign * ss["Z"], "P": ss["P"]})
    path = tmp_path / "external.PHENO1.glm.linear"
    glm.to_csv(path, sep="\t", index=False)
    outputs = _outputs(tmp_path / "ext")
    audit = tmp_path / "audit.tsv"
    _fit_one(path, study["dir"] / "chr1.zarr", outputs, audit_out=audit)
    reference = _outputs(tmp_path / "ref")
    write_sumstats(ss.drop(index=ss.index[bad]), tmp_path / "canonical.tsv.gz")
    _fit_one(tmp_path / "canonical.tsv.gz", study["dir"] / "chr1.zarr", reference)
    dropped = pd.read_csv(audit, sep="\t")
    assert sorted(dropped["SNP"]) == sorted(ss["SNP"].iloc[bad])
    assert dropped["reason"].nunique() == 1 and dropped["detail"].str.contains("A/C").all()
    ext = pd.read_csv(outputs["effects"], sep="\t").set_index("SNP")
    ref = pd.read_csv(reference["effects"], sep="\t").set_index("SNP")
    assert len(ext) == M - 5 and (ext["A1"] == ref.loc[ext.index, "A1"]).all()
    np.testing.assert_allclose(ext["BETA"], ref.loc[ext.index, "BETA"], rtol=1e-6, atol=1e-9)


def _flipped_sumstats(study, path):
    """The study's summary statistics with the signs of three strong signals flipped against
    the panel's LD; returns their indices."""
    ss = study["ss"].copy()
    z = ss["Z"].to_numpy()
    # flip variants with a clear signal, so that their neighbours contradict them
    flipped = np.argsort(-np.abs(z))[[0, 3, 6]]
    ss.loc[flipped, ["Z", "BETA"]] *= -1
    write_sumstats(ss, path)
    return ss, flipped


def test_fit_prs__mismatch_filter_removes_flipped_variants(study, tmp_path):
    """Summary statistics with a few signs flipped against the panel's LD: the section 9
    filter, switched on through sumstats_options, removes them before fitting and audits them."""
    ss, flipped = _flipped_sumstats(study, tmp_path / "flipped.tsv.gz")
    outputs = _outputs(tmp_path / "fit")
    _fit_one(tmp_path / "flipped.tsv.gz", study["dir"] / "chr1.zarr", outputs,
             sumstats_options={"mismatch_filter": {"seed": 1}}, audit_out=tmp_path / "audit.tsv")
    audit = pd.read_csv(tmp_path / "audit.tsv", sep="\t")
    removed = set(audit.loc[audit["reason"] == "ld_mismatch", "SNP"])
    # (the filter also flags some true signals next to strong ones: its accuracy is tested in
    # test_mismatch.py; here, that its removals reach the audit and the fit)
    assert set(ss["SNP"].iloc[flipped]) <= removed and len(removed) < M // 4
    effects = pd.read_csv(outputs["effects"], sep="\t")
    assert removed.isdisjoint(effects["SNP"]) and len(effects) == M - len(removed)


def test_load_fit_data__mismatch_filter_ld_equals_the_store_rows_of_the_final_mask(study, tmp_path):
    """The LD the filter leaves (``ld.subset`` of the harmonised rows) is the store's LD of the
    variants that remain, as a fresh read gives it."""
    ss, flipped = _flipped_sumstats(study, tmp_path / "flipped.tsv.gz")
    store = study["dir"] / "chr1.zarr"
    data = load_fit_data([tmp_path / "flipped.tsv.gz"], [store],
                         mismatch_filter={"seed": 1})
    c, = data.chromosomes
    removed = set(c.audit.loc[c.audit["reason"] == "ld_mismatch", "SNP"])
    assert set(ss["SNP"].iloc[flipped]) <= removed  # the filter did remove variants
    variants = LDMatrix(store).variants()
    mask = variants["SNP"].isin(set(c.matched["SNP"])).to_numpy()
    assert mask.sum() == len(c.matched) == M - len(removed) == c.ld.n_variants
    assert (variants["SNP"][mask].to_numpy() == c.matched["SNP"].to_numpy()).all()
    fresh = LDMatrix(store).rows(mask)
    assert c.ld.scale == fresh.scale and c.ld.dtype == fresh.dtype
    np.testing.assert_array_equal(c.ld.to_csr().toarray(), fresh.to_csr().toarray())
    # and the unfiltered load reads the same store values for the same variants
    unfiltered, = load_fit_data([tmp_path / "flipped.tsv.gz"], [store]).chromosomes
    keep = unfiltered.matched["SNP"].isin(set(c.matched["SNP"])).to_numpy()
    np.testing.assert_array_equal(unfiltered.ld.subset(keep).to_csr().toarray(),
                                  fresh.to_csr().toarray())


def test_fit_prs__exact_fits_read_upper_rows_with_the_band_rows_results(study, tmp_path):
    """A VEM fit (exact sweeps) reads the store's upper triangle (``ld_layout`` default) and
    fits what it fits on the symmetric band rows; the mismatch filter reads them too."""
    d = study["dir"]
    # without the LD-noise term, whose column space of this one-block LD is band rows anyway;
    # plain iterations: the two sweeps agree to rounding at every iteration
    spec = model_spec({"prior": "spike_slab", "ld_noise": "none", "accelerate": "none"})
    models = {layout: _fit_one(d / "ss.tsv.gz", d / "chr1.zarr", _outputs(tmp_path / str(layout)),
                               spec=spec, ld_layout=layout) for layout in (None, "band")}
    assert models[None]._ld.layout == "upper" and models["band"]._ld.layout == "band"
    assert models[None].result_.n_iter == models["band"].result_.n_iter
    np.testing.assert_allclose(models[None].eta_, models["band"].eta_, rtol=1e-8, atol=1e-12)
    assert models[None].h2_ == pytest.approx(models["band"].h2_, rel=1e-9)
    # SQUAREM's step lengths pick up the rounding differences, so the two layouts stop at
    # other iterates of the same fixed point: within the stopping rule (max |d eta| < 1e-6)
    spec = model_spec({"prior": "spike_slab", "ld_noise": "none"})
    fast = {layout: _fit_one(d / "ss.tsv.gz", d / "chr1.zarr", _outputs(tmp_path / f"sq{layout}"),
                             spec=spec, ld_layout=layout) for layout in (None, "band")}
    assert fast[None].result_.stop_reason == fast["band"].result_.stop_reason == "converged"
    np.testing.assert_allclose(fast[None].eta_, fast["band"].eta_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast[None].eta_, models[None].eta_, rtol=0, atol=1e-5)
    assert fast[None].result_.elbo == pytest.approx(models[None].result_.elbo, abs=1e-3)
    _flipped_sumstats(study, tmp_path / "flipped.tsv.gz")
    (upper,), (band,) = (load_fit_data([tmp_path / "flipped.tsv.gz"], [d / "chr1.zarr"],
                                       mismatch_filter={"seed": 1}, ld_layout=layout).chromosomes
                         for layout in ("upper", "band"))
    assert upper.ld.layout == "upper" and len(upper.audit) == len(band.audit)
    np.testing.assert_array_equal(upper.ld.to_csr().toarray(), band.ld.to_csr().toarray())


def test_fit_prs__writes_each_chromosomes_audit(study, tmp_path):
    """Two chromosomes fitted jointly, each with its own dropped variants: the outputs' "audit"
    paths receive each chromosome's own audit, audit_out all of them."""
    ss = study["ss"]
    first = ss.copy()
    first.loc[[2, 5], ["A1", "A2"]] = ["A", "C"]  # alleles the panel lacks
    write_sumstats(first, tmp_path / "first.tsv.gz")
    second = pd.concat([ss.drop(index=[7]), ss.iloc[[0]].assign(SNP="absent", POS=10**9)])
    write_sumstats(second, tmp_path / "second.tsv.gz")
    outputs = [_outputs(tmp_path / name, (*FILES, "audit")) for name in ("first", "second")]
    store = study["dir"] / "chr1.zarr"
    fit_prs([tmp_path / "first.tsv.gz", tmp_path / "second.tsv.gz"], [store, store], outputs,
            spec=model_spec({"prior": "spike_slab"}), trait="t", model_name="m",
            audit_out=tmp_path / "all.tsv")
    audits = [pd.read_csv(out["audit"], sep="\t") for out in outputs]
    assert sorted(audits[0]["SNP"]) == sorted(ss["SNP"].iloc[[2, 5]])
    assert set(audits[0]["reason"]) == {"allele_mismatch"}
    assert list(audits[1]["SNP"]) == ["absent"] and list(audits[1]["reason"]) == ["not_in_ld"]
    everything = pd.read_csv(tmp_path / "all.tsv", sep="\t")
    assert sorted(everything["SNP"]) == sorted([*audits[0]["SNP"], *audits[1]["SNP"]])
    for out, n in zip(outputs, (M - 2, M - 1), strict=True):
        fit = json.loads(out["json"].read_text())
        assert fit["n_variants"] == n and fit["genome_wide"]
        assert len(pd.read_csv(out["effects"], sep="\t")) == n


def test_fit_prs__two_threads_read_and_write_chromosomes_to_the_same_files(study, tmp_path):
    """A joint fit reads and writes its chromosomes n_threads at a time: the result files are
    the same bytes as with one thread (the JSON's timing and thread fields aside)."""
    ss = study["ss"]
    write_sumstats(ss.iloc[::2], tmp_path / "even.tsv.gz")
    write_sumstats(ss.iloc[1::2], tmp_path / "odd.tsv.gz")
    store = study["dir"] / "chr1.zarr"
    written = {}
    for threads in (1, 2):
        outputs = [_outputs(tmp_path / f"t{threads}" / name, (*FILES, "audit"))
                   for name in ("even", "odd")]
        fit_prs([tmp_path / "even.tsv.gz", tmp_path / "odd.tsv.gz"], [store, store], outputs,
                spec=model_spec({"prior": "spike_slab"}), trait="t", model_name="m",
                n_threads=threads)
        written[threads] = outputs
    for one, two in zip(written[1], written[2], strict=True):
        for key in ("effects", "pgs", "score", "audit"):
            assert one[key].read_bytes() == two[key].read_bytes(), key
        fits = [json.loads(out["json"].read_text()) for out in (one, two)]
        for fit in fits:
            fit.pop("seconds"), fit.pop("threads"), fit.pop("history")
        assert fits[0] == fits[1]


def test_load_fit_data__worker_processes_give_the_same_data_and_one_line_errors(study, tmp_path):
    """With n_threads > 1 the statistics are harmonised in worker processes: the same tables,
    LD rows and audits as one thread, and a user's mistake in a worker's file is the one-line
    VibankError naming the file, raised here."""
    ss = study["ss"]
    write_sumstats(ss.iloc[::2], tmp_path / "even.tsv.gz")
    write_sumstats(ss.iloc[1::2], tmp_path / "odd.tsv.gz")
    store = study["dir"] / "chr1.zarr"
    paths = [tmp_path / "even.tsv.gz", tmp_path / "odd.tsv.gz"]
    one, two = (load_fit_data(paths, [store, store], n_threads=t) for t in (1, 2))
    for a, b in zip(one.chromosomes, two.chromosomes, strict=True):
        pd.testing.assert_frame_equal(a.matched, b.matched)
        pd.testing.assert_frame_equal(a.audit, b.audit)
        assert a.counts == b.counts and a.path == b.path
        np.testing.assert_array_equal(a.b, b.b)
        np.testing.assert_array_equal(a.ld.to_csr().toarray(), b.ld.to_csr().toarray())
    (tmp_path / "bad.tsv").write_text("SNP\tA1\n")  # no effect column
    with pytest.raises(VibankError, match="bad.tsv"):
        load_fit_data([tmp_path / "even.tsv.gz", tmp_path / "bad.tsv"], [store, store],
                      n_threads=2)


def test_tune_prs__grid_search_on_the_validation_metric(study, validation, tmp_path):
    outputs = [_outputs(tmp_path / "gs")]
    table = tune_prs([study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"], outputs,
                     grid_out=tmp_path / "grid.tsv", spec=model_spec({"strategy": "gs",
                                                                      "grid_size": 4}),
                     trait="t", model_name="gs", validation=validation)
    assert len(table) == 4 and "metric" in table
    fit = json.loads(outputs[0]["json"].read_text())
    assert fit["metric"] == "validation_r2" and fit["strategy"] == "gs"
    assert fit["chosen"]["pi"] == pytest.approx(table.loc[table["metric"].idxmax(), "pi"])


def test_tune_prs__pseudo_validation_without_genotypes_predicts_like_genotype_validation(
        study, validation, tmp_path):
    """Grid search selected on held-out summary statistics (metric pseudo, no genotypes)
    chooses a pi whose validation-sample R^2 is within 10 % of the genotype-validated best,
    and the written fit is the refit on all statistics at that pi."""
    grid = {"strategy": "gs", "grid_size": 8}
    by_genotypes = tune_prs([study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"],
                            [_outputs(tmp_path / "val")], grid_out=tmp_path / "val.tsv",
                            spec=model_spec(grid), trait="t", model_name="gs",
                            validation=validation)
    outputs = [_outputs(tmp_path / "pv")]
    pseudo = tune_prs([study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"], outputs,
                      grid_out=tmp_path / "pv.tsv", spec=model_spec({**grid, "metric": "pseudo"}),
                      trait="t", model_name="gs", validation=None, seed=3)
    fit = json.loads(outputs[0]["json"].read_text())
    assert fit["metric"] == "pseudo_validation"
    chosen = fit["chosen"]["pi"]
    # the sparsest pi within one SE of the best r_pv^2 (N_v = 750 of the 3,000)
    best = pseudo["metric"].max()
    se = 2 * np.sqrt(best) * (1 - best) / np.sqrt(750)
    assert chosen == pytest.approx(pseudo.loc[pseudo["metric"] >= best - se, "pi"].min())
    r2 = by_genotypes.set_index(by_genotypes["pi"].round(12))["metric"]
    print(pseudo[["pi", "metric"]], r2)
    assert r2[round(chosen, 12)] >= 0.9 * r2.max()
    # the refit on all statistics: the same as a fit of the whole GWAS with pi fixed there
    refit = _fit_one(study["dir"] / "ss.tsv.gz", study["dir"] / "chr1.zarr",
                     _outputs(tmp_path / "refit"),
                     spec=model_spec({"strategy": "gs", "grid_size": 8}))
    del refit  # (its pi is the VEM's; compared below through a fixed-pi fit)
    from vibank.prs import tuning
    from vibank.stages.fit_data import load_fit_data as load

    data = load([study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"])
    spec = model_spec({**grid, "metric": "pseudo"})
    model = tuning.viprs_fit_point(data.std_beta, data.n_per_variant, data.ld,
                                   **spec.viprs_options(), prior="spike_slab",
                                   fit_kwargs={"label": data.label})({"pi": chosen})
    effects = pd.read_csv(outputs[0]["effects"], sep="\t")
    np.testing.assert_allclose(effects["BETA"], model.eta_, rtol=1e-5, atol=1e-7)


def test_fit_models__one_job_writes_what_each_stage_writes_alone(study, validation, tmp_path,
                                                                 monkeypatch):
    """A fit job of several models (variational EM, grid search, a baseline), which reads the
    statistics, LD and validation genotypes once, writes the same files as each stage run on
    its own, and a timing row per model."""
    sumstats, ld = [study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"]
    specs = {"vem": model_spec({"prior": "spike_slab"}),
             "gs": model_spec({"strategy": "gs", "grid_size": 4}),
             "inf": model_spec({"method": "ldpred-inf"})}
    keys = (*FILES, "audit")

    def outputs(where):
        return {name: {"chromosomes": [_outputs(where / name, keys)], "grid": where / f"{name}.grid"}
                for name in specs}

    (tmp_path / "alone").mkdir()
    (tmp_path / "job").mkdir()
    alone = outputs(tmp_path / "alone")
    fit_prs(sumstats, ld, alone["vem"]["chromosomes"], spec=specs["vem"], trait="t",
            model_name="vem")
    tune_prs(sumstats, ld, alone["gs"]["chromosomes"], grid_out=alone["gs"]["grid"],
             spec=specs["gs"], trait="t", model_name="gs", validation=validation)
    fit_baseline(sumstats, ld, alone["inf"]["chromosomes"], grid_out=alone["inf"]["grid"],
                 spec=specs["inf"], trait="t", model_name="inf", validation=validation)
    job = outputs(tmp_path / "job")
    from vibank.stages import fit_data

    reads = []
    for name in ("_harmonised", "_load_validation"):
        real = getattr(fit_data, name)
        monkeypatch.setattr(fit_data, name, lambda *a, _real=real, _name=name, **k: (
            reads.append(_name), _real(*a, **k))[1])
    fit_models(list(specs.items()), sumstats, ld, job, trait="t",
               timing_out=tmp_path / "timing.tsv", validation=validation)

    def content(path):
        if path.suffix != ".json":
            return path.read_bytes()
        fit = json.loads(path.read_text())
        fit.pop("seconds", None)
        for record in fit.get("history") or []:
            record.pop("seconds", None)
        return fit

    assert reads == ["_harmonised", "_load_validation"]  # each input read once
    for name in specs:
        for kind in keys:
            assert content(job[name]["chromosomes"][0][kind]) == content(
                alone[name]["chromosomes"][0][kind]), (name, kind)
    for name in ("gs", "inf"):
        pd.testing.assert_frame_equal(
            pd.read_csv(job[name]["grid"], sep="\t").drop(columns="seconds", errors="ignore"),
            pd.read_csv(alone[name]["grid"], sep="\t").drop(columns="seconds", errors="ignore"))
    timing = pd.read_csv(tmp_path / "timing.tsv", sep="\t")
    assert list(timing["model"]) == list(specs)
    assert (timing["seconds"] > 0).all() and (timing["max_rss_mb"] > 0).all()


def test_tune_prs__validation_metric_without_samples_is_an_error(study, tmp_path):
    with pytest.raises(VibankError, match="without them use metric pseudo or elbo"):
        tune_prs([study["dir"] / "ss.tsv.gz"], [study["dir"] / "chr1.zarr"],
                 [_outputs(tmp_path / "gs")], grid_out=tmp_path / "grid.tsv",
                 spec=model_spec({"strategy": "gs", "grid_size": 3}), trait="t",
                 model_name="gs", validation=None)


def test_cli_fit__pseudo_validation_needs_no_genotypes(study, tmp_path, capsys):
    code = main(["fit", "--sumstats", str(study["dir"] / "ss.tsv.gz"), "--ld",
                 str(study["dir"] / "chr1.zarr"), "--out", str(tmp_path / "pv"), "--strategy",
                 "bo", "--metric", "pseudo", "--bo-calls", "4", "--pseudo-training-fraction",
                 "0.6"])
    assert code == 0, capsys.readouterr().err
    fit = json.loads((tmp_path / "pv.chr1.json").read_text())
    assert fit["metric"] == "pseudo_validation" and fit["strategy"] == "bo"
    assert len(pd.read_csv(tmp_path / "pv.grid.tsv", sep="\t")) == 4
