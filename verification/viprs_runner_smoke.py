"""Smoke test for ``viprs_runner.py`` (run on request, not part of the test suite).

Simulates a tiny chromosome-1 reference panel (320 samples in the .fam, 300 of
them kept, 500 variants with a cM column) and an independent GWAS sample of
N = 5000 from the same haplotype model, writes a PLINK 1 fileset by hand, a
keep file with a ``#FID IID`` header (the 20 dropped samples are the last ones
of the .fam, which is what exposed a magenpy 0.2.2 block-LD bug), an
LDetect-style block file (five blocks of 100 variants) and a
sumstats TSV, then runs the viprs runner for the windowed and block estimators
through the viprs venv's python and checks that the posterior mean effects
correlate with the simulated standardised effects (r > 0.5).

Only NumPy is needed here, so it runs with vibank's venv or any python with
NumPy::

    /work/main/.venv/bin/python verification/viprs_runner_smoke.py \
        --viprs-python /work/.viprs-venv/bin/python
"""

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RUNNER = Path(__file__).with_name("viprs_runner.py")
N_PANEL, N_KEEP, N_GWAS, M, N_CAUSAL, H2 = 320, 300, 5000, 500, 20, 0.5
BP_STEP = 100_000  # 500 variants over 50 Mb; at 1 cM per Mb a 3-cM window spans 30 variants
BLOCK = 100  # variants per LD block


def simulate_dosages(rng, n, freq, rho=0.8):
    """A1 dosages (n x M) from two haplotypes of a Gaussian AR(1) copula.

    Neighbouring latent values correlate with ``rho``; thresholding at the
    allele-frequency quantile gives LD that decays with distance.
    """
    from statistics import NormalDist

    cut = np.array([NormalDist().inv_cdf(f) for f in freq])
    dos = np.zeros((n, freq.size), dtype=np.int8)
    for _ in range(2):
        latent = np.empty((n, freq.size))
        latent[:, 0] = rng.standard_normal(n)
        for j in range(1, freq.size):
            latent[:, j] = rho * latent[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        dos += latent < cut
    return dos


def write_bed(path, dosages):
    """PLINK 1 .bed, SNP-major: 0b00 = two A1 copies, 0b10 = het, 0b11 = no A1."""
    code = np.array([0b11, 0b10, 0b00], dtype=np.uint8)[dosages.T]  # (M, n)
    n = code.shape[1]
    pad = (-n) % 4
    code = np.pad(code, ((0, 0), (0, pad)))  # padding bits are ignored by readers
    code = code.reshape(code.shape[0], -1, 4)
    packed = code[..., 0] | code[..., 1] << 2 | code[..., 2] << 4 | code[..., 3] << 6
    with open(path, "wb") as fh:
        fh.write(bytes([0x6C, 0x1B, 0x01]))
        fh.write(packed.astype(np.uint8).tobytes())


def make_data(tmp, seed=7):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.5, M)
    snp = np.array([f"rs{j + 1}" for j in range(M)])
    pos = (np.arange(M) + 1) * BP_STEP
    cm = pos / 1e6
    a1 = np.array(["A", "C", "G", "T"])[rng.integers(0, 4, M)]  # no strand-ambiguous pairs
    a2 = np.array([{"A": "G", "C": "T", "G": "A", "T": "C"}[x] for x in a1])

    panel = simulate_dosages(rng, N_PANEL, freq)
    prefix = tmp / "panel"
    write_bed(prefix.with_suffix(".bed"), panel)
    with open(prefix.with_suffix(".bim"), "w") as fh:
        fh.writelines(f"1\t{snp[j]}\t{cm[j]:.6f}\t{pos[j]}\t{a1[j]}\t{a2[j]}\n" for j in range(M))
    with open(prefix.with_suffix(".fam"), "w") as fh:
        fh.writelines(f"F{i} I{i} 0 0 0 -9\n" for i in range(N_PANEL))
    keep = tmp / "panel.keep"
    keep.write_text("#FID\tIID\n" + "".join(f"F{i}\tI{i}\n" for i in range(N_KEEP)))
    blocks = tmp / "blocks.bed"  # LDetect layout: next start = previous stop
    inner = [int(pos[b * BLOCK - 1]) + BP_STEP // 2 for b in range(1, M // BLOCK)]
    edges = [0, *inner, int(pos[-1]) + 1]
    blocks.write_text(
        "chr\tstart\tstop\n"
        + "".join(f"chr1\t{lo}\t{hi}\n" for lo, hi in itertools.pairwise(edges))
    )

    # GWAS sample: effects live on the standardised-genotype scale.
    x = simulate_dosages(rng, N_GWAS, freq).astype(float)
    xs = (x - x.mean(0)) / x.std(0)
    truth = np.zeros(M)
    causal = rng.choice(M, N_CAUSAL, replace=False)
    truth[causal] = rng.normal(0, np.sqrt(H2 / N_CAUSAL), N_CAUSAL)
    g = xs @ truth
    y = g + rng.normal(0, np.sqrt(1 - H2), N_GWAS)
    y = (y - y.mean()) / y.std()
    r = xs.T @ y / N_GWAS
    z = r * np.sqrt((N_GWAS - 2) / (1 - r**2))
    beta = z / np.sqrt(N_GWAS + z**2)
    sumstats = tmp / "sumstats.tsv"
    with open(sumstats, "w") as fh:
        fh.write("SNP\tCHR\tPOS\tA1\tA2\tN\tZ\tBETA\n")
        fh.writelines(
            f"{snp[j]}\t1\t{pos[j]}\t{a1[j]}\t{a2[j]}\t{N_GWAS}\t{z[j]:.6g}\t{beta[j]:.6g}\n"
            for j in range(M)
        )
    return prefix, keep, blocks, sumstats, dict(zip(snp, truth)), dict(zip(snp, a1))


def read_effects(path):
    rows = [line.split("\t") for line in Path(path).read_text().splitlines()]
    assert rows[0] == ["SNP", "A1", "BETA"], rows[0]
    return {s: (a, float(b)) for s, a, b in rows[1:]}


def run_runner(python, prefix, keep, blocks, sumstats, estimator, tmp, out):
    cmd = [
        python,
        str(RUNNER),
        "--bfile",
        str(prefix),
        "--keep",
        str(keep),
        "--chrom",
        "1",
        "--estimator",
        estimator,
        "--window-cm",
        "3",
        "--blocks",
        str(blocks),
        "--sumstats",
        str(sumstats),
        "--ld-dir",
        str(tmp / "ld"),
        "--threads",
        "2",
        "--out",
        str(out),
    ]
    return subprocess.run(cmd, check=False, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viprs-python", default="/work/.viprs-venv/bin/python")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir for inspection")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="viprs_smoke_"))
    prefix, keep, blocks, sumstats, truth, a1 = make_data(tmp)
    ok = True
    runs = [("windowed", "windowed"), ("block", "block"), ("block", "block_again")]
    for estimator, label in runs:  # the repeated block run must reuse the LD store
        out = tmp / f"out_{label}"
        t0 = time.time()
        proc = run_runner(args.viprs_python, prefix, keep, blocks, sumstats, estimator, tmp, out)
        wall = time.time() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"runner exited {proc.returncode} for {label}")
        meta = json.loads(Path(f"{out}.json").read_text())
        if meta["status"] != "ok":
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit(f"{label}: status {meta['status']}: {meta.get('message')}")
        assert meta["ld_cached"] == (label == "block_again"), "LD cache not used as expected"
        est = read_effects(f"{out}.effects.tsv")
        assert all(a1[s] == a for s, (a, _) in est.items()), "A1 differs from the bim"
        snps = sorted(est)
        r = np.corrcoef([est[s][1] for s in snps], [truth[s] for s in snps])[0, 1]
        print(
            f"{label:11s} variants={len(snps)} r(effects, truth)={r:.3f} "
            f"h2={meta['h2']:.3f} (simulated {H2}) iters={meta['n_iter']} "
            f"stop='{meta['stop_reason']}' ld_cached={meta['ld_cached']} "
            f"ld_s={meta['ld_seconds']:.2f} fit_s={meta['fit_seconds']:.2f} wall_s={wall:.1f}"
        )
        ok &= r > 0.5

    # A failing fit must still leave a JSON with status "failed" and exit 0.
    out = tmp / "out_failed"
    proc = run_runner(
        args.viprs_python, prefix, keep, blocks, tmp / "missing.tsv", "windowed", tmp, out
    )
    meta = json.loads(Path(f"{out}.json").read_text())
    assert proc.returncode == 0 and meta["status"] == "failed", (proc.returncode, meta["status"])
    print(f"failure path: exit {proc.returncode}, status {meta['status']}: {meta['message'][:80]}")
    print("temp dir:", tmp if args.keep_tmp else "(removed)")
    if not args.keep_tmp:
        import shutil

        shutil.rmtree(tmp)
    if not ok:
        raise SystemExit("FAIL: correlation with the simulated effects <= 0.5")
    print("PASS")


if __name__ == "__main__":
    main()
