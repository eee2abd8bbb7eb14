"""Built-in multi-ancestry cohort: coalescent simulation with msprime under OutOfAfrica_3G09.

The demography is stdpopsim's HomSap ``OutOfAfrica_3G09`` (Gutenkunst et al. 2009), used as an
msprime ``Demography`` with a uniform recombination rate, so no genetic map is downloaded.
Mutations follow HKY (transition/transversion ratio ~2.1, as in humans).
Sites with one mutation (biallelic SNPs) are kept, then thinned to an array-like density:
pooled-sample MAF >= ``min_maf`` and at most one variant per ``min_spacing_bp`` (the first
qualifying site of each window). Optional array artefacts give QC something real to remove:
random missing calls, a few samples with a high missing rate, and a few variants with
genotype-calling errors (heterozygotes called as homozygotes) that break Hardy-Weinberg.
"""

import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.io.plink import write_bfile
from vibank.io.atomic import write_table

log = logging.getLogger(__name__)

#: vibank population label -> OutOfAfrica_3G09 population name
POPULATIONS = {"EUR": "CEU", "AFR": "YRI", "EAS": "CHB"}
MISSING = -127


@dataclass(frozen=True)
class CohortParams:
    """Parameters of the built-in cohort (defaults: the demo study)."""

    populations: dict = field(default_factory=lambda: {"EUR": 6000, "AFR": 1000, "EAS": 1000})
    n_chromosomes: int = 3
    chromosome_length: int = 20_000_000
    recombination_rate: float = 1e-8
    min_maf: float = 0.01
    min_spacing_bp: int = 2000
    missing_rate: float = 0.002
    error_variant_fraction: float = 0.002
    bad_sample_fraction: float = 0.005
    seed: int = 1

    def __post_init__(self):
        if not isinstance(self.populations, dict) or not self.populations:
            raise VibankError("cohort.simulate.populations must map population labels to sizes")
        unknown = set(self.populations) - set(POPULATIONS)
        if unknown:
            raise VibankError(
                f"cohort.simulate.populations: unknown label(s) {sorted(unknown)}; "
                f"choose from {sorted(POPULATIONS)}"
            )
        checks = [
            ("populations", all(_is_int(n) and n >= 1 for n in self.populations.values()),
             "sizes must be integers >= 1"),
            ("n_chromosomes", _is_int(self.n_chromosomes) and 1 <= self.n_chromosomes <= 22,
             "must be an integer in 1..22"),
            ("chromosome_length", _is_int(self.chromosome_length) and self.chromosome_length >= 100_000,
             "must be an integer >= 100000"),
            ("recombination_rate", _is_num(self.recombination_rate) and self.recombination_rate > 0,
             "must be a positive number"),
            ("min_maf", _is_num(self.min_maf) and 0 <= self.min_maf <= 0.5, "must be in [0, 0.5]"),
            ("min_spacing_bp", _is_int(self.min_spacing_bp) and self.min_spacing_bp >= 1,
             "must be an integer >= 1"),
            ("missing_rate", _is_num(self.missing_rate) and 0 <= self.missing_rate < 0.5,
             "must be in [0, 0.5)"),
            ("error_variant_fraction",
             _is_num(self.error_variant_fraction) and 0 <= self.error_variant_fraction <= 0.5,
             "must be in [0, 0.5]"),
            ("bad_sample_fraction",
             _is_num(self.bad_sample_fraction) and 0 <= self.bad_sample_fraction <= 0.5,
             "must be in [0, 0.5]"),
            ("seed", _is_int(self.seed) and self.seed >= 0, "must be an integer >= 0"),
        ]
        for key, ok, rule in checks:
            if not ok:
                raise VibankError(f"cohort.simulate.{key} {rule} (got {getattr(self, key)!r})")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _demography():
    import stdpopsim

    model = stdpopsim.get_species("HomSap").get_demographic_model("OutOfAfrica_3G09")
    return model.model, model.mutation_rate


def _thin_sites(ts, min_maf, min_spacing_bp):
    """Ids of biallelic sites passing the pooled MAF filter, at most one per spacing window."""
    n = ts.num_samples
    site_ids, positions = [], []
    for tree in ts.trees():
        for site in tree.sites():
            if len(site.mutations) != 1:
                continue
            count = tree.num_samples(site.mutations[0].node)
            maf = min(count, n - count) / n
            if maf >= min_maf:
                site_ids.append(site.id)
                positions.append(site.position)
    site_ids = np.asarray(site_ids, dtype=np.int64)
    window = (np.asarray(positions) // min_spacing_bp).astype(np.int64)
    first = np.ones(len(window), dtype=bool)
    first[1:] = window[1:] != window[:-1]
    return site_ids[first]


def _simulate_chromosome(args):
    """Simulate one chromosome; return its bim rows and (n_individuals, n_variants) dosages."""
    import msprime

    chrom, params, sample_counts, seed, bad_samples = args
    demography, mutation_rate = _demography()
    seeds = np.random.SeedSequence(seed).generate_state(3)
    samples = [
        msprime.SampleSet(n, population=POPULATIONS[label], ploidy=2)
        for label, n in sample_counts
    ]
    ts = msprime.sim_ancestry(
        samples=samples,
        demography=demography,
        sequence_length=params.chromosome_length,
        recombination_rate=params.recombination_rate,
        random_seed=int(seeds[0]),
    )
    # HKY with kappa 4.2 gives the human transition/transversion ratio (~2.1), so about 16% of
    # SNPs are strand-ambiguous (A/T, C/G) as on real arrays, not the 33% of Jukes-Cantor
    ts = msprime.sim_mutations(ts, rate=mutation_rate, model=msprime.HKY(kappa=4.2),
                               random_seed=int(seeds[1]))
    keep = _thin_sites(ts, params.min_maf, params.min_spacing_bp)
    ts = ts.delete_sites(np.setdiff1d(np.arange(ts.num_sites), keep))
    haplotypes = ts.genotype_matrix()  # (sites, 2 * individuals), derived allele = 1
    dosages = (haplotypes[:, 0::2] + haplotypes[:, 1::2]).T.astype(np.int8)
    pos = ts.tables.sites.position.astype(np.int64) + 1  # msprime is 0-based
    ancestral = np.array([s.ancestral_state for s in ts.sites()])
    derived = np.array([s.mutations[0].derived_state for s in ts.sites()])
    bim = pd.DataFrame(
        {
            col.CHR: str(chrom),
            col.SNP: [f"{chrom}:{p}:{a}:{d}" for p, a, d in zip(pos, ancestral, derived)],
            col.CM: pos * params.recombination_rate * 100.0,
            col.POS: pos,
            col.A1: derived,
            col.A2: ancestral,
        }
    )
    _add_artefacts(dosages, params, bad_samples, np.random.default_rng(seeds[2]))
    return bim, dosages


def _add_artefacts(dosages, params, bad_samples, rng):
    """In place: calling errors, failed probes, random missing calls, high-missingness samples.

    ``error_variant_fraction`` of the variants get heterozygotes called as homozygotes (half of
    them, which breaks Hardy-Weinberg equilibrium) and as many other variants are "failed probes"
    with 10% missing calls; every call is missing with probability ``missing_rate``; and the
    ``bad_samples`` (drawn once for the whole genome) miss 8% of their calls.
    """
    n, m = dosages.shape
    n_err = int(round(params.error_variant_fraction * m))
    picked = rng.choice(m, size=2 * n_err, replace=False)
    for j in picked[:n_err]:
        het = np.flatnonzero(dosages[:, j] == 1)
        flip = het[rng.random(len(het)) < 0.5]
        dosages[flip, j] = rng.choice(np.array([0, 2], dtype=np.int8), size=len(flip))
    rate = np.full(m, params.missing_rate, dtype=np.float32)
    rate[picked[n_err:]] = 0.10
    rate = np.broadcast_to(rate, (n, m)).copy()
    rate[bad_samples] = np.maximum(rate[bad_samples], 0.08)
    dosages[rng.random((n, m), dtype=np.float32) < rate] = MISSING


def _sample_table(params, rng):
    labels = np.concatenate([np.full(n, label) for label, n in params.populations.items()])
    counters = {label: 0 for label in params.populations}
    iids = []
    for label in labels:
        counters[label] += 1
        iids.append(f"{label}{counters[label]:06d}")
    return pd.DataFrame(
        {
            col.FID: iids,
            col.IID: iids,
            col.POP: labels,
            col.SEX: rng.integers(1, 3, size=len(labels)),
            col.AGE: np.round(rng.uniform(40, 70, size=len(labels)), 1),
        }
    )


def simulate_cohort(out_prefix, sample_table_path, params=None, *, n_jobs=1):
    """Simulate the cohort and write ``out_prefix.{bed,bim,fam}`` and the sample table.

    Parameters
    ----------
    out_prefix : path prefix of the PLINK fileset to write
    sample_table_path : path of the TSV sample table (FID IID POP SEX AGE)
    params : CohortParams
    n_jobs : int, keyword-only
        Chromosomes simulated in parallel processes.

    Returns
    -------
    dict with the numbers of samples and variants per chromosome and the seconds taken.
    """
    params = params or CohortParams()
    t0 = time.perf_counter()
    master = np.random.SeedSequence(params.seed)
    chrom_seeds = [int(s.generate_state(1)[0]) for s in master.spawn(params.n_chromosomes + 1)]
    rng = np.random.default_rng(chrom_seeds[-1])
    samples = _sample_table(params, rng)
    n = len(samples)
    bad_samples = np.sort(rng.choice(n, size=int(round(params.bad_sample_fraction * n)), replace=False))
    tasks = [
        (c + 1, params, list(params.populations.items()), chrom_seeds[c], bad_samples)
        for c in range(params.n_chromosomes)
    ]
    if n_jobs > 1:
        with ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks))) as pool:
            results = list(pool.map(_simulate_chromosome, tasks))
    else:
        results = [_simulate_chromosome(t) for t in tasks]
    for (bim, _), task in zip(results, tasks):
        log.info("chromosome %s: %d variants after thinning", task[0], len(bim))
    bim = pd.concat([r[0] for r in results], ignore_index=True)
    dosages = np.concatenate([r[1] for r in results], axis=1)
    write_bfile(out_prefix, dosages, bim, samples)
    write_table(samples, sample_table_path)
    seconds = time.perf_counter() - t0
    log.info(
        "cohort: %d samples x %d variants written to %s.bed in %.1f s",
        len(samples), len(bim), out_prefix, seconds,
    )
    return {
        "n_samples": len(samples),
        "n_variants": {str(t[0]): len(r[0]) for r, t in zip(results, tasks)},
        "seconds": seconds,
    }
