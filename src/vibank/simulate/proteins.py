"""Protein panels with hotspot QTLs: the AF-CAVI paper's simulation design (pqtl_afcavi.md (h)).

On a genotype matrix (n x p dosages; the workflow reads it from a bed file):
* a share of the variants is active, each with a hotspot propensity pi_s ~ Beta(1, 5), and is
  linked to each active protein independently with probability pi_s; then every active variant
  gets at least one protein and every active protein at least one variant, at random;
* each active protein has a total PVE h_t ~ Beta(1, (1 - hm) / hm) (mean hm), split over its
  variants with weights w ~ Beta(2, 5) normalised to sum 1;
* per-allele effects beta_st = +-sqrt(var_err / (1 - h_t) * h_t * w_s / (2 f_s (1 - f_s)));
* residuals are Gaussian with unit variance, equicorrelated within blocks of 50 proteins with
  rho_b ~ U(0, 0.5); Y = residuals + X B.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError


@dataclass
class ProteinPanel:
    """A simulated panel. ``beta`` (p, q) per-allele effects, zero off the true associations."""

    Y: np.ndarray
    beta: np.ndarray
    associations: np.ndarray
    active_variants: np.ndarray
    active_proteins: np.ndarray
    hotspot_propensity: np.ndarray
    pve: np.ndarray
    block_rho: np.ndarray

    def associations_table(self, variant_names=None, protein_names=None):
        """Long table of the true associations: variant, protein, beta (per allele)."""
        s, t = np.nonzero(self.associations)
        vnames = np.asarray(variant_names) if variant_names is not None else np.arange(len(self.beta))
        pnames = (np.asarray(protein_names) if protein_names is not None
                  else np.array([f"Resp_{k + 1}" for k in range(self.Y.shape[1])]))
        return pd.DataFrame({"variant": vnames[s], "protein": pnames[t], "beta": self.beta[s, t]})

    def save(self, directory, variant_names=None, protein_names=None):
        """Write proteins.tsv (n x q) and true_associations.tsv into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        pnames = protein_names or [f"Resp_{k + 1}" for k in range(self.Y.shape[1])]
        pd.DataFrame(self.Y, columns=pnames).to_csv(out / "proteins.tsv", sep="\t", index=False)
        self.associations_table(variant_names, pnames).to_csv(out / "true_associations.tsv",
                                                              sep="\t", index=False)


def simulate_protein_panel(genotypes, n_proteins, *, active_variant_fraction=0.01,
                           active_protein_fraction=0.005, mean_pve=0.15, block_size=50,
                           max_block_rho=0.5, seed=None, n_active_variants=None):
    """Simulate proteins with hotspot QTLs on a genotype matrix (paper design, section (h)).

    Parameters
    ----------
    genotypes : (n, p) allele dosages 0/1/2 (no missing values)
    n_proteins : q
    active_variant_fraction : a_p, share of variants with any effect (at least 1 variant)
    active_protein_fraction : a_q, share of proteins with any QTL (at least 1 protein)
    mean_pve : hm, mean PVE of an active protein
    block_size, max_block_rho : residual equicorrelation blocks and the bound of rho_b ~ U(0, .)
    seed : seed of the numpy Generator
    n_active_variants : the number of active variants instead of ``active_variant_fraction``

    Returns
    -------
    ProteinPanel
    """
    x = np.asarray(genotypes, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise VibankError("genotypes must be an n x p matrix without missing values")
    if not (0 < active_variant_fraction <= 1 and 0 < active_protein_fraction <= 1
            and 0 < mean_pve < 1 and 0 <= max_block_rho < 1 and block_size >= 1):
        raise VibankError("fractions must be in (0, 1], mean_pve in (0, 1), max_block_rho in [0, 1)")
    rng = np.random.default_rng(seed)
    n, p = x.shape
    q = int(n_proteins)
    freq = x.mean(axis=0) / 2.0
    polymorphic = np.flatnonzero((freq > 0) & (freq < 1))
    n_act_v = (max(1, int(round(active_variant_fraction * p))) if n_active_variants is None
               else min(max(1, int(n_active_variants)), p))
    n_act_q = max(1, int(round(active_protein_fraction * q)))
    if polymorphic.size < n_act_v:
        raise VibankError(f"only {polymorphic.size} polymorphic variants for {n_act_v} active ones")
    act_v = np.sort(rng.choice(polymorphic, n_act_v, replace=False))
    act_q = np.sort(rng.choice(q, n_act_q, replace=False))

    propensity = rng.beta(1.0, 5.0, size=n_act_v)
    links = rng.random((n_act_v, n_act_q)) < propensity[:, None]
    for i in np.flatnonzero(~links.any(axis=1)):
        links[i, rng.integers(n_act_q)] = True
    for j in np.flatnonzero(~links.any(axis=0)):
        links[rng.integers(n_act_v), j] = True

    pve = rng.beta(1.0, (1.0 - mean_pve) / mean_pve, size=n_act_q)
    beta = np.zeros((p, q))
    het = 2.0 * freq * (1.0 - freq)
    var_err = 1.0
    for j, t in enumerate(act_q):
        rows = np.flatnonzero(links[:, j])
        w = rng.beta(2.0, 5.0, size=rows.size)
        w /= w.sum()
        s = act_v[rows]
        size = np.sqrt(var_err / (1.0 - pve[j]) * pve[j] * w / het[s])
        beta[s, t] = size * rng.choice([-1.0, 1.0], size=rows.size)

    n_blocks = -(-q // block_size)
    rho = rng.uniform(0.0, max_block_rho, size=n_blocks)
    block = np.arange(q) // block_size
    shared = rng.standard_normal((n, n_blocks))
    noise = (np.sqrt(rho[block]) * shared[:, block]
             + np.sqrt(1.0 - rho[block]) * rng.standard_normal((n, q)))
    y = noise * np.sqrt(var_err) + x @ beta
    return ProteinPanel(Y=y, beta=beta, associations=beta != 0, active_variants=act_v,
                        active_proteins=act_q, hotspot_propensity=propensity, pve=pve,
                        block_rho=rho)


def true_associations(panel, variants, protein_names):
    """The simulated associations of ``panel`` as a table: SNP CHR POS (from ``variants``, in
    the panel's variant order), protein, BETA; one row per non-zero effect."""
    s, t = np.nonzero(panel.associations)
    truth = variants.iloc[s][[col.SNP, col.CHR, col.POS]].reset_index(drop=True)
    truth[col.PROTEIN] = np.asarray(protein_names)[t]
    truth[col.BETA] = panel.beta[s, t]
    return truth
