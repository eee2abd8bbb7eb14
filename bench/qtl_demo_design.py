"""Full against adaptive CAVI on candidate demo pQTL panels (issue 20 item 3): does any
realistic panel make adaptive focus reach different calls than full CAVI? Not part of the test
suite; the results are summarised in docs/benchmarks.md, "Demo pQTL panel".

    python bench/qtl_demo_design.py --results <demo dir>/results --seeds 1,2,3
    python bench/qtl_demo_design.py --results R --n-active-variants 2 \
        --active-protein-fraction 0.2 --mean-pve 0.005 --seeds 1,2 --active-chunks-only \
        --model '{"min_epsilon": 0, "final_full_sweep": false}'

It reads a finished demo's chunk table, QC'd genotypes, splits and covariates, then for each
seed simulates a panel exactly as rule simulate_proteins does (``simulate_protein_panel`` on the
pruned chunk variants of the discovery samples, with the same seed handling), residualises it
on SEX, AGE and the PCs, fits every chunk (or only those holding a true variant) in both modes
with the demo's model options (overridden by ``--model``) and prints, per seed and mode, AUROC,
AUPRC and true/false calls at PPI >= 0.5, Bayesian FDR < 0.05 and PPI >= 0.9, iterations, and
the PPI agreement of the two modes.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.qtl import AtlasQTL, association_table, call_pairs, hotspot_table, mode_metrics
from vibank.qtl import residualise
from vibank.simulate.proteins import simulate_protein_panel, true_associations
from vibank.stages.qtl import _dosages, discovery_samples

#: the demo's qtl.model section (config/config.yaml), as AtlasQTL options
DEMO_MODEL = {"p0": (1.0, 4.0), "epsilon_scheme": "iteration", "alpha": 0.95,
              "min_epsilon": 0.01, "start_partial": 50, "anneal": (1, 2.0, 10), "tol": 0.01,
              "max_iter": 3000, "seed": 25}


def load(results, chunk_table):
    variants = pd.read_csv(chunk_table, sep="\t", dtype={col.CHR: str, col.SNP: str})
    samples = discovery_samples(results / "splits/splits.tsv")
    x = _dosages(str(results / "qc/qc"), samples[col.IID], variants[col.SNP])
    covar = pd.read_csv(results / "phenotypes/covariates.tsv", sep="\t", dtype={col.IID: str})
    table = samples.merge(covar.drop(columns=col.FID), on=col.IID, how="left")
    names = ["SEX", "AGE"] + [c for c in covar.columns if c.startswith("PC")]
    keep = table[names].notna().all(axis=1).to_numpy()
    return variants, x, keep, table.loc[keep, names].to_numpy(dtype=float)


def fit_panel(variants, x_all, keep, z, design, seed, model, active_only):
    rng = np.random.default_rng(seed)  # as vibank.stages.qtl.simulate_qtl_proteins
    q = design["n_proteins"]
    panel = simulate_protein_panel(x_all, q, seed=rng.integers(2**32),
                                   **{k: v for k, v in design.items() if k != "n_proteins"})
    names = [f"P{k + 1:04d}" for k in range(q)]
    truth = true_associations(panel, variants, names)
    x, y = x_all[keep], residualise(panel.Y[keep], z)
    chunks = sorted(variants[col.CHUNK].unique())
    if active_only:
        chunks = sorted(set(variants.loc[variants[col.SNP].isin(truth[col.SNP]), col.CHUNK]))
    out = {}
    for mode in ("full", "adaptive"):
        longs, iterations = [], 0
        for chunk in chunks:
            idx = np.flatnonzero(variants[col.CHUNK].to_numpy() == chunk)
            v = variants.iloc[idx].reset_index(drop=True)
            fit = AtlasQTL(cavi=mode, thinned_elbo=mode != "full", **model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit.fit(x[:, idx], y, variant_names=v[col.SNP].to_numpy(), response_names=names)
            iterations += fit.n_iter_
            longs.append(association_table(fit, v, names))
        long = pd.concat(longs, ignore_index=True)
        hot = hotspot_table(long, call_pairs(long, threshold=0.5), {})
        out[mode] = ({**mode_metrics(long, hot, truth, 0.5), "iterations": iterations}, long)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a finished demo's results/")
    parser.add_argument("--chunk-table", type=Path, help="default results/qtl/chunks/chr1.tsv")
    parser.add_argument("--n-proteins", type=int, default=600)
    parser.add_argument("--n-active-variants", type=int, default=6)
    parser.add_argument("--active-protein-fraction", type=float, default=0.05)
    parser.add_argument("--mean-pve", type=float, default=0.03)
    parser.add_argument("--seeds", default="1", help="comma-separated panel seeds")
    parser.add_argument("--model", default="{}", help="JSON AtlasQTL options over the demo's")
    parser.add_argument("--active-chunks-only", action="store_true")
    args = parser.parse_args()
    chunk_table = args.chunk_table or args.results / "qtl/chunks/chr1.tsv"
    variants, x_all, keep, z = load(args.results, chunk_table)
    design = {"n_proteins": args.n_proteins, "n_active_variants": args.n_active_variants,
              "active_protein_fraction": args.active_protein_fraction,
              "mean_pve": args.mean_pve}
    model = {**DEMO_MODEL, **json.loads(args.model)}
    print("| seed | CAVI | true pairs | AUROC | AUPRC | PPI ≥ 0.5 TP/FP | FDR < 0.05 TP/FP "
          "| PPI ≥ 0.9 TP/FP | iterations | PPI r (max abs diff) |\n|" + "---|" * 10)
    for seed in (int(s) for s in args.seeds.split(",")):
        tick = time.perf_counter()
        out = fit_panel(variants, x_all, keep, z, design, seed, model, args.active_chunks_only)
        a, b = (out[m][1][col.PPI].to_numpy() for m in ("full", "adaptive"))
        agree = f"{np.corrcoef(a, b)[0, 1]:.6f} ({np.abs(a - b).max():.3f})"
        for mode, (m, _) in out.items():
            print(f"| {seed} | {mode} | {m['n_true']} | {m['auroc']:.4f} | {m['auprc']:.4f} | "
                  f"{m['tp']}/{m['fp']} | {m['tp_fdr05']}/{m['fp_fdr05']} | "
                  f"{m['tp_ppi90']}/{m['fp_ppi90']} | {m['iterations']} | "
                  f"{agree if mode == 'adaptive' else ''} |", flush=True)
        print(f"<!-- seed {seed}: {time.perf_counter() - tick:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
