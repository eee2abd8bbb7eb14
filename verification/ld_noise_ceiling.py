"""What a small LD panel allows: the prediction R^2 within reach of any fit on the panel's LD.

Companion of ``ld_reference_noise.py`` (same cache, simulation, statistics and panels). For
each architecture and replicate at one N it reports, as R^2 / h2 (the population's expected
prediction R^2 over the truth, ``vibank.simulate.sumstats.expected_r2``):

- ``ridge``: the best of a grid of ridge estimates (R_b + lambda I)^-1 b, lambda tuned on the
  truth (an oracle choice, so a ceiling for infinitesimal shrinkage), with R_b the block-diagonal
  LD of the population (``population``) or of the panel in its column space (``panel``: per
  block the eigenvectors of positive eigenvalue, as ``vibank.ld.spectral`` fits it);
- ``vem``: VIPRS with default settings on the panel's block store (what ``vibank fit`` does);
- ``pi=P``: the same with the prior's pi fixed at P (hyperparameters chosen by hand rather than
  by the ELBO).

The gap between ``vem`` and ``ridge``/``pi=`` on the panel is what hyperparameter selection,
not the likelihood, leaves on the table.

    .venv/bin/python verification/ld_noise_ceiling.py --n-ref 378
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ld_reference_noise import ARCHITECTURES, ld_store, replicate, simulate_population
from vibank import columns as col
from vibank.io.plink import read_bim, read_dosages
from vibank.ld import LDMatrix
from vibank.ld.genotypes import standardise_genotypes
from vibank.prs import VIPRS
from vibank.simulate.sumstats import expected_r2
from vibank.stages.fit_data import load_fit_data

LAMBDAS = (0.3, 1, 2, 3, 5, 10, 30)


def standardised(bfile, lo, hi):
    dosages = read_dosages(bfile, sample_index=np.arange(lo, hi), num_threads=2)
    genotypes, mean, _, _ = standardise_genotypes(dosages.T, n_threads=2)
    return np.nan_to_num(np.asarray(genotypes, np.float64)), mean / 2


def block_eigen(genotypes, blocks):
    """Per block (index array) the eigenvectors of positive eigenvalue of its LD."""
    out = []
    for index in blocks:
        g = genotypes[index]
        values, vectors = np.linalg.eigh(g @ g.T / g.shape[1])
        keep = values > 1e-6 * len(index)
        out.append((index, values[keep], vectors[:, keep]))
    return out


def best_ridge(eigen, b, score):
    """max over LAMBDAS of score(eta_lambda), eta_lambda = V (D + lambda)^-1 V' b per block."""
    best = 0.0
    for lam in LAMBDAS:
        eta = np.zeros_like(b)
        for index, values, vectors in eigen:
            eta[index] = vectors @ ((vectors.T @ b[index]) / (values + lam))
        best = max(best, score(eta))
    return best


def run(args):
    cache = Path(args.cache)
    bfile, keeps, bounds = simulate_population(cache, n_pop=args.n_pop, panels=args.panels,
                                               length=args.length, spacing=args.spacing,
                                               seed=args.seed)
    bim = read_bim(bfile)
    population, frequency = standardised(bfile, bounds[0], bounds[1])
    polymorphic = (frequency > 0) & (frequency < 1)
    i = args.panels.index(args.n_ref)
    panel, _ = standardised(bfile, bounds[i + 1], bounds[i + 2])
    store = ld_store(cache, bfile, keeps[args.n_ref], args.n_ref, "block")
    ld = LDMatrix(store)
    position = pd.Series(np.arange(len(bim)), index=bim[col.SNP].to_numpy())
    stored = position[ld.variants()[col.SNP].to_numpy()].to_numpy()
    blocks = [stored[a:b] for a, b in ld.attrs["blocks"]]
    eigen = {"population": block_eigen(population, blocks), "panel": block_eigen(panel, blocks)}
    snps = bim[col.SNP].to_numpy()
    rows = []
    for arch in args.architectures:
        for rep in range(args.replicates):
            beta, b = replicate(population, polymorphic, arch, rep, args.n_gwas, h2=args.h2,
                                seed=args.seed)
            ss = cache / "fits" / f"{arch}_N{args.n_gwas}_rep{rep}.tsv.gz"
            if not ss.exists():
                sys.exit(f"{ss}: run ld_reference_noise.py with this cache and N first")
            score = lambda eta, beta=beta: expected_r2(population, beta, eta) / args.h2  # noqa: E731
            row = {"architecture": arch, "replicate": rep,
                   **{f"ridge_{k}": best_ridge(e, b, score) for k, e in eigen.items()}}
            data = load_fit_data([str(ss)], [str(store)])
            where = position[data.chromosomes[0].matched[col.SNP].to_numpy()].to_numpy()
            for name, kw in [("vem", {})] + [(f"pi={p}", {"pi": p, "fix": ("pi",)})
                                             for p in args.fixed_pi]:
                model = VIPRS(n_threads=2, **kw).fit(data.std_beta, data.n_per_variant, data.ld)
                eta = np.zeros(len(snps))
                eta[where] = model.eta_
                row[name] = score(eta)
                row[f"{name}_pi"] = model.pi_
            rows.append(row)
            logging.info("%s rep %d: %s", arch, rep,
                         {k: round(v, 3) for k, v in row.items() if isinstance(v, float)})
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="verification/.cache/ld_reference_noise")
    parser.add_argument("--n-ref", type=int, default=378)
    parser.add_argument("--panels", type=int, nargs="+", default=[378, 1000, 5000],
                        help="the panels of the cached simulation (as in ld_reference_noise.py)")
    parser.add_argument("--n-pop", type=int, default=20000)
    parser.add_argument("--n-gwas", type=int, default=500_000)
    parser.add_argument("--length", type=int, default=25_000_000)
    parser.add_argument("--spacing", type=int, default=2500)
    parser.add_argument("--h2", type=float, default=0.02)
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES))
    parser.add_argument("--fixed-pi", type=float, nargs="*", default=[0.1, 0.5])
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("vibank").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    table = run(args)
    values = [c for c in table.columns if c not in ("architecture", "replicate")]
    grouped = table.groupby("architecture", sort=False)[values]
    summary = grouped.mean().round(3).astype(str) + " (" + grouped.sem().round(3).astype(str) + ")"
    print(f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}` "
          f"({time.perf_counter() - t0:.0f} s)\n\nR^2 / h2, mean (SE) over {args.replicates} "
          f"replicates, n_ref {args.n_ref}, N {args.n_gwas}\n")
    print(summary.reset_index().to_markdown(index=False))


if __name__ == "__main__":
    main()
