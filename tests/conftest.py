"""Shared fixtures: one small simulated cohort (with and without artefacts) and its phenotypes.

Each cohort is simulated once per test session (< 1 s each: 420 samples x ~1000 variants on two
1 Mb chromosomes) and treated as read-only by the tests; tests that write go to ``tmp_path``.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

SMALL_POPULATIONS = {"EUR": 300, "AFR": 60, "EAS": 60}

#: traits simulated on the artefact cohort (shared by the phenotype and split tests)
TRAITS = {
    "height": {"type": "quantitative", "architecture": "spike_slab", "pi": 0.05, "h2": 0.5},
    "disease": {"type": "binary", "architecture": "infinitesimal", "h2": 0.4, "prevalence": 0.2},
}
PHENOTYPE_SEED = 11


@dataclass(frozen=True)
class Cohort:
    """A simulated PLINK fileset: ``prefix.{bed,bim,fam}`` plus its sample table."""

    prefix: Path
    sample_table: Path
    params: object
    info: dict


@dataclass(frozen=True)
class Phenotypes:
    phenotypes: Path
    effects: dict
    summary: Path
    traits: dict
    seed: int


def small_params(**overrides):
    """CohortParams of the small test cohort; keyword arguments override fields."""
    from vibank.simulate import CohortParams

    kwargs = dict(populations=dict(SMALL_POPULATIONS), n_chromosomes=2,
                  chromosome_length=1_000_000, seed=5)
    kwargs.update(overrides)
    return CohortParams(**kwargs)


def simulate(directory, params):
    """Simulate ``params`` into ``directory`` and return a Cohort."""
    from vibank.simulate import simulate_cohort

    directory = Path(directory)
    prefix, table = directory / "cohort", directory / "samples.tsv"
    info = simulate_cohort(prefix, table, params)
    return Cohort(prefix, table, params, info)


#: artefacts raised above the demo defaults so that every QC filter has something to remove
ARTEFACTS = dict(missing_rate=0.002, error_variant_fraction=0.01, bad_sample_fraction=0.01)
NO_ARTEFACTS = dict(missing_rate=0.0, error_variant_fraction=0.0, bad_sample_fraction=0.0)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    """Small cohort with array artefacts (missing calls, bad samples, HWE-breaking variants)."""
    return simulate(tmp_path_factory.mktemp("cohort"), small_params(**ARTEFACTS))


@pytest.fixture(scope="session")
def clean_cohort(tmp_path_factory):
    """The same small cohort with every artefact switched off."""
    return simulate(tmp_path_factory.mktemp("clean_cohort"), small_params(**NO_ARTEFACTS))


@pytest.fixture(scope="session")
def phenotypes(cohort, tmp_path_factory):
    """TRAITS simulated on the artefact cohort (reference population EUR)."""
    from vibank.simulate.phenotypes import simulate_phenotypes

    out = tmp_path_factory.mktemp("phenotypes")
    effects = {t: out / f"true_effects_{t}.tsv.gz" for t in TRAITS}
    simulate_phenotypes(cohort.prefix, cohort.sample_table, TRAITS, out / "phenotypes.tsv",
                        effects, out / "traits.tsv", seed=PHENOTYPE_SEED)
    return Phenotypes(out / "phenotypes.tsv", effects, out / "traits.tsv", TRAITS, PHENOTYPE_SEED)


@pytest.fixture(scope="session")
def make_cohort():
    """Factory ``make_cohort(directory, params)`` simulating a cohort into ``directory``."""
    return simulate


# -- order: the longest modules first -----------------------------------------------------
#: the longest test modules (pytest --durations, module fixtures included), longest first.
#: `make test` runs the suite on pytest-xdist workers, one module per unit of work (--dist
#: loadscope): starting the longest modules first keeps one from starting last and running alone.
#: Order only; the other modules follow in collection order.
SLOW_MODULES = [
    "workflow/test_workflow.py",
    "workflow/test_slurm.py",
    "workflow/test_target.py",
    "workflow/test_demo_sparse.py",
    "workflow/test_external.py",
    "workflow/test_reference_panel.py",
]


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent

    def rank(item):
        module = Path(os.path.relpath(item.path, root)).as_posix()
        return SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable: within a module and among the rest, collection order


# -- measurements that acceptance tests report in the test log ------------------------------
# A test's lines travel in its report's user_properties, so that they reach the terminal summary
# from pytest-xdist workers too (a worker's own module globals never do).
_MEASUREMENT = "vibank measurement"
_MEASUREMENTS = []


@pytest.fixture
def report(request):
    """``report("text")`` adds a line to the "vibank measurements" section printed at the end
    of the run (pytest captures ordinary prints of passing tests)."""

    def add(text):
        request.node.user_properties.append((_MEASUREMENT, text))

    return add


def pytest_runtest_logreport(report):
    if report.when == "call":
        _MEASUREMENTS.extend(f"{report.nodeid}: {text}"
                             for key, text in report.user_properties if key == _MEASUREMENT)


def pytest_terminal_summary(terminalreporter):
    if _MEASUREMENTS:
        terminalreporter.section("vibank measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)
