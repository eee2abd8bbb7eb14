"""Broken configs: the workflow's (``snakemake --dry-run``, checked against the schema before
any job) and the ones the ``vibank simulate`` commands read."""

import copy

import pytest
import yaml

from corpus import REPO, assert_no_partial_output, assert_one_line_error, run_snakemake, \
    run_vibank

TINY = REPO / "tests" / "workflow" / "config-tiny" / "config.yaml"


def _set(config, dotted, value):
    node = config
    *parents, key = dotted.split(".")
    for name in parents:
        node = node.setdefault(name, {})
    node[key] = value


WORKFLOW = {
    # case: (key, value, message after "config error at")
    "unknown_key": ("splits.n_fold", 3,
                    "splits: Additional properties are not allowed ('n_fold' was unexpected)"),
    "wrong_type": ("splits.n_folds", "five", "splits.n_folds: 'five' is not of type 'integer'"),
}


@pytest.fixture(scope="module")
def snakemake_runs(tmp_path_factory):
    """Both dry runs at once (a Snakemake start takes seconds): case -> (config path, Run)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(case):
        key, value, _ = WORKFLOW[case]
        tmp = tmp_path_factory.mktemp(f"snakemake_{case}")
        config = yaml.safe_load(TINY.read_text())
        _set(config, key, value)
        path = tmp / "bad.yaml"
        path.write_text(yaml.safe_dump(config))
        return case, (path, run_snakemake(path, tmp / "run"))

    with ThreadPoolExecutor(len(WORKFLOW)) as pool:
        return dict(pool.map(one, WORKFLOW))


@pytest.mark.parametrize("case", list(WORKFLOW))
def test_snakemake__bad_config_is_rejected_before_any_job(case, snakemake_runs):
    path, run = snakemake_runs[case]
    message = WORKFLOW[case][2]
    assert run.code != 0
    text = run.out + run.err
    assert "Traceback" not in text, text[-3000:]
    lines = [line for line in text.splitlines() if "config error at" in line]
    assert len(lines) == 1, text[-3000:]
    assert f"{path}: config error at {message}" in lines[0], lines[0]
    assert not (path.parent / "run" / "results").exists()
    assert_no_partial_output(path.parent)


# -- configs read by the vibank command ---------------------------------------------------
def _cohort_args(tmp_path, config):
    return ["simulate", "cohort", "--out", tmp_path / "cohort_out", "--samples",
            tmp_path / "samples_out.tsv",
            "--config", config]


COHORT = {
    "unknown_key": ({"cohort": {"simulate": {"n_chromosome": 2}}},
                    ["cohort.simulate: unknown key(s) n_chromosome", "known: "]),
    "wrong_type": ({"cohort": {"simulate": {"n_chromosomes": "two"}}},
                   ["cohort.simulate.n_chromosomes must be an integer in 1..22 (got 'two')"]),
    "section_not_a_mapping": ({"cohort": {"simulate": [1, 2]}},
                              ["cohort.simulate must be a mapping"]),
    "not_a_mapping": ([1, 2], ["the config must be a mapping"]),
}


@pytest.mark.parametrize("case", list(COHORT))
def test_simulate_cohort__bad_config_is_refused(case, tmp_path):
    content, fragments = COHORT[case]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(content))
    run = run_vibank(*_cohort_args(tmp_path, config), real=case == "unknown_key")
    assert_one_line_error(run, config, *fragments)
    assert_no_partial_output(tmp_path, tmp_path / "cohort_out",
                             extra=[tmp_path / "samples_out.tsv"])


def test_simulate_cohort__config_not_yaml_is_refused(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("cohort:\n  simulate: {n_chromosomes: 2\n")
    run = run_vibank(*_cohort_args(tmp_path, config))
    assert_one_line_error(run, config, "not valid YAML")
    assert_no_partial_output(tmp_path, tmp_path / "cohort_out",
                             extra=[tmp_path / "samples_out.tsv"])


PHENOTYPES = {
    "trait_h2_not_a_number": ("phenotypes.traits.height.h2", "high",
                              ["phenotypes.traits.height.h2: 'high' is not a number"]),
    "unknown_architecture": ("phenotypes.traits.height.architecture", "spiky",
                             ["phenotypes.traits.height.architecture: unknown "
                              "architecture 'spiky'"]),
    "no_traits": ("phenotypes.traits", {}, ["phenotypes.traits is empty"]),
}


@pytest.mark.parametrize("case", list(PHENOTYPES))
def test_simulate_phenotypes__bad_config_is_refused(case, study, tmp_path):
    key, value, fragments = PHENOTYPES[case]
    config = copy.deepcopy(yaml.safe_load(study.pheno_config.read_text()))
    _set(config, key, value)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "pheno"
    run = run_vibank("simulate", "phenotypes", "--bfile", study.bfile, "--samples",
                     study.samples, "--config", path, "--out-dir", out)
    assert_one_line_error(run, path, *fragments)
    assert_no_partial_output(tmp_path, extra=[out / "phenotypes.tsv", out / "traits.tsv",
                                              out / "true_effects_height.tsv.gz"])
