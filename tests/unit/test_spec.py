"""PRS model settings (vibank.prs.spec): each default is written once, and the config schema,
the ``vibank fit`` options and ``VIPRS`` agree with ModelSpec and GridSettings."""

import copy
import inspect
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import yaml
from snakemake.utils import validate

from vibank.cli import build_parser
from vibank.errors import VibankError
from vibank.prs.model import VIPRS
from vibank.prs.spec import GridSettings, ModelSpec, model_spec

REPO = Path(__file__).parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
CONFIG = REPO / "config" / "config.yaml"
GRID_KEYS = {f.name for f in fields(GridSettings)}


def _as_spec_value(value):
    """Schema/YAML lists compare with the spec's tuples."""
    return tuple(value) if isinstance(value, list) else value


@pytest.fixture(scope="module")
def prs_schema():
    return yaml.safe_load(SCHEMA.read_text())["properties"]["prs"]["properties"]


@pytest.fixture(scope="module")
def model_schema(prs_schema):
    entries = list(prs_schema["models"]["patternProperties"].values())
    assert len(entries) == 1
    return entries[0]["properties"]


@pytest.fixture
def config():
    return yaml.safe_load(CONFIG.read_text())


# (a)-(d): one default each


def test_schema_model_defaults_are_model_spec_defaults(model_schema):
    spec = ModelSpec()
    spec_fields = {f.name for f in fields(ModelSpec)}
    extra = set(model_schema) - {"traits"} - spec_fields
    assert not extra, f"schema model keys that are not ModelSpec fields: {extra}"
    for key, prop in model_schema.items():
        if key == "traits":
            continue
        assert "default" in prop, f"prs.models.<name>.{key} has no default"
        assert _as_spec_value(prop["default"]) == getattr(spec, key), key


def test_schema_model_keys_cover_the_model_settings(model_schema):
    """Every setting of a config entry that model_spec reads is in the schema."""
    entry_fields = {f.name for f in fields(ModelSpec)} - {"grid", "max_iter", "grid_max_iter"}
    assert entry_fields <= set(model_schema), entry_fields - set(model_schema)


def test_schema_grid_defaults_are_grid_settings(prs_schema):
    grid = prs_schema["grid"]["properties"]
    assert set(grid) == GRID_KEYS
    defaults = GridSettings()
    for key, prop in grid.items():
        assert prop["default"] == getattr(defaults, key), key


def test_schema_iteration_limits_are_model_spec_defaults(prs_schema):
    assert prs_schema["max_iter"]["default"] == ModelSpec.max_iter == ModelSpec().max_iter
    assert prs_schema["grid_max_iter"]["default"] == ModelSpec().grid_max_iter


def test_model_spec_viprs_defaults_are_viprs_init_defaults():
    viprs = inspect.signature(VIPRS.__init__).parameters
    spec = ModelSpec()
    for key in ("n_components", "update_components", "alpha", "fit_alpha", "ld_noise",
                "accelerate", "max_iter"):
        assert getattr(spec, key) == viprs[key].default, key
    assert spec.prior == viprs["prior"].default


# (e): model_spec


def test_model_spec__unknown_key_names_it():
    with pytest.raises(VibankError, match="n_compnents"):
        model_spec({"prior": "mixture", "n_compnents": 3})


def test_model_spec__unknown_grid_key_names_it():
    with pytest.raises(VibankError, match="unknown grid settings.*'lazy'"):
        model_spec({}, grid={"lazy": 1e-4})


def test_model_spec__traits_ignored():
    assert model_spec({"prior": "alpha", "traits": ["sparse"]}) == model_spec({"prior": "alpha"})
    assert model_spec({"traits": None}) == ModelSpec()


def test_model_spec__empty_entry_is_the_defaults():
    assert model_spec() == model_spec({}) == ModelSpec()


def test_model_spec__bad_choice_raises():
    with pytest.raises(VibankError, match="strategy 'grid'"):
        model_spec({"strategy": "grid"})


def test_model_spec__mixture_viprs_options():
    spec = model_spec({"prior": "mixture", "n_components": 3, "update_components": False})
    options = spec.viprs_options(n_threads=2)
    assert options["n_components"] == 3 and options["update_components"] is False
    assert options["n_threads"] == 2
    assert "alpha" not in options and "fit_alpha" not in options
    model = spec.viprs()
    assert model.prior == "mixture" and model.n_components == 3


def test_model_spec__tuned_viprs_options_carry_grid_settings():
    spec = model_spec({"strategy": "gs"}, grid={"lazy_tol": 1e-3}, max_iter=50,
                      grid_max_iter=77)
    assert spec.tuned
    options = spec.viprs_options()
    assert options["max_iter"] == 77 and options["progress"] is False
    assert options["dtype"] is np.float32
    expected = {**GridSettings().viprs_options(), "lazy_tol": 1e-3}
    for key in GRID_KEYS:
        assert options[key] == expected[key], key
    model = spec.viprs()
    assert model.max_iter == 77 and model.dtype is np.float32 and model.lazy_tol == 1e-3


def test_model_spec__vem_viprs_options_carry_max_iter_and_no_grid_settings():
    spec = model_spec({"prior": "spike_slab"}, grid={"lazy_tol": 1e-3}, max_iter=50,
                      grid_max_iter=77)
    assert not spec.tuned
    options = spec.viprs_options()
    assert options["max_iter"] == 50
    # the VEM fit's own state type, not the grid's
    assert not (GRID_KEYS - {"dtype"}) & set(options) and options["dtype"] is np.float64
    vem32 = model_spec({"prior": "spike_slab", "dtype": "float32"}, grid={"dtype": "float64"})
    assert vem32.viprs_options()["dtype"] is np.float32 and vem32.viprs().dtype is np.float32
    with pytest.raises(VibankError, match="dtype"):
        model_spec({"dtype": "float16"})


def test_model_spec__baselines_are_not_tuned():
    for method in ("ldpred-inf", "gibbs", "ct"):
        assert not model_spec({"method": method, "strategy": "gs"}).tuned
    spec = model_spec({"method": "ct", "p_thresholds": [0.01, 1.0]})
    assert spec.p_thresholds == (0.01, 1.0)
    assert spec.baseline_options() == {"p_thresholds": (0.01, 1.0)}


# (f): vibank fit


def test_cli_fit_defaults_resolve_to_model_spec():
    args = build_parser().parse_args(["fit", "--sumstats", "s.tsv.gz", "--ld", "chr1.zarr",
                                      "--out", "out"])
    spec_fields = {f.name for f in fields(ModelSpec)}
    given = {k: v for k, v in vars(args).items() if k in spec_fields}
    assert {"prior", "n_components", "alpha", "fit_alpha", "strategy", "metric", "grid_size",
            "bo_calls", "max_iter", "grid_max_iter"} <= set(given)
    for key, value in given.items():  # None: the spec's default
        assert value is None or _as_spec_value(value) == getattr(ModelSpec(), key), key
    limits = {k: given.pop(k) for k in ("max_iter", "grid_max_iter")}
    spec = model_spec({k: v for k, v in given.items() if v is not None}, **limits)
    assert spec == ModelSpec()
    assert spec.max_iter == ModelSpec().max_iter and spec.grid_max_iter == ModelSpec().grid_max_iter


# (g): the shipped config


def test_config_models_become_model_specs(config):
    prs = config["prs"]
    for name, entry in prs["models"].items():
        spec = model_spec(entry, grid=prs.get("grid"), max_iter=prs.get("max_iter"),
                          grid_max_iter=prs.get("grid_max_iter"))
        for key, value in entry.items():
            if key != "traits":
                assert getattr(spec, key) == _as_spec_value(value), (name, key)


def test_validated_config_models_become_model_specs(config):
    """After the schema fills in its defaults (as the workflow validates the config), every
    model entry is the spec of its given keys: the filled defaults change nothing."""
    given = copy.deepcopy(config["prs"]["models"])
    validate(config, str(SCHEMA))
    prs = config["prs"]
    limits = dict(grid=prs["grid"], max_iter=prs["max_iter"], grid_max_iter=prs["grid_max_iter"])
    for name, entry in prs["models"].items():
        assert model_spec(entry, **limits) == model_spec(given[name], **limits), name


def test_schema_default_models_become_model_specs(prs_schema):
    for name, entry in prs_schema["models"]["default"].items():
        assert isinstance(model_spec(entry), ModelSpec), name


def test_model_spec__ld_layout_upper_only_for_exact_viprs_sweeps():
    assert model_spec({"prior": "mixture"}).ld_layout == "upper"  # VEM: exact sweeps
    assert model_spec({"strategy": "gs"}).ld_layout == "band"  # grid fits: lazy sweeps
    assert model_spec({"strategy": "gs"}, grid={"lazy_tol": 0.0}).ld_layout == "upper"
    for method in ("gibbs", "ldpred-inf", "ct"):
        assert model_spec({"method": method}).ld_layout == "band"
