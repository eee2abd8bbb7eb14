"""The demo study's sparse trait (h2 = 0.5): the VEM spike-and-slab fit recovers its heritability.

Runs the default config (the demo cohort, same seed) for one training fold of the sparse trait,
through simulation, QC, GWAS, LD and the per-chromosome fits: about two minutes on 2 cores.
"""

import json

import numpy as np
import pandas as pd
import pytest

from test_workflow import REPO, snakemake

MODEL, TRAIT, FOLD = "viprs-ss-vem", "sparse", 1


@pytest.mark.workflow
def test_demo_sparse_trait__vem_h2_within_15_percent_of_truth(tmp_path, report):
    import yaml

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    chroms = range(1, config["cohort"]["simulate"]["n_chromosomes"] + 1)
    targets = [f"results/prs/{MODEL}/{TRAIT}/fold{FOLD}/chr{c}.effects.tsv.gz" for c in chroms]
    # targets first: --configfile takes every following argument
    snakemake(*targets, "--cores", "2", "--directory", str(tmp_path), "--configfile",
              str(REPO / "config" / "config.yaml"))
    fits = [json.loads((tmp_path / f"results/prs/{MODEL}/{TRAIT}/fold{FOLD}/chr{c}.json").read_text())
            for c in chroms]
    truth = pd.read_csv(tmp_path / "results/phenotypes/traits.tsv", sep="\t").set_index("trait").loc[TRAIT]
    h2 = sum(f["h2"] for f in fits)
    effects = pd.concat([pd.read_csv(tmp_path / t, sep="\t") for t in targets]).set_index("SNP")
    true = pd.read_csv(tmp_path / f"results/phenotypes/true_effects/{TRAIT}.tsv.gz", sep="\t").set_index("SNP")
    common = effects.index.intersection(true.index)
    # the fit's A1 is the LD panel's; the truth's A1 may be the other allele
    sign = np.where(effects.loc[common, "A1"] == true.loc[common, "A1"], 1.0, -1.0)
    corr = np.corrcoef(effects.loc[common, "BETA"], sign * true.loc[common, "BETA"])[0, 1]
    report(f"demo sparse trait, fold {FOLD}: VEM h2 {h2:.4f} (truth {truth['h2']}, "
           f"{h2 / truth['h2'] - 1:+.1%}); corr(estimated, true effects) {corr:.3f} over "
           f"{len(common)} variants ({int(truth['n_causal'])} causal); iterations "
           f"{[f['iterations'] for f in fits]}")
    assert all(f["stop_reason"] == "converged" for f in fits)
    assert abs(h2 - truth["h2"]) <= 0.15 * truth["h2"]
    assert corr > 0.5
