"""The config schema: defaults for every key, unknown keys and bad values rejected."""

from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

REPO = Path(__file__).parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT = REPO / "config" / "config.yaml"


def _walk(node, path=""):
    """Yield (path, schema) for every property in the schema."""
    for key, sub in node.get("properties", {}).items():
        yield f"{path}.{key}".lstrip("."), sub
        yield from _walk(sub, f"{path}.{key}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, f"{path}.*")


def test_schema__every_key_has_description_and_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    keys = list(_walk(schema))
    assert len(keys) > 40
    for path, sub in keys:
        assert "description" in sub, path
        assert "default" in sub, path


def test_validate__default_config_passes():
    validate(yaml.safe_load(DEFAULT.read_text()), str(SCHEMA))


def test_validate__empty_config_gets_demo_defaults():
    config = {}
    validate(config, str(SCHEMA))
    demo = yaml.safe_load(DEFAULT.read_text())
    validate(demo, str(SCHEMA))
    assert config == demo


def test_validate__unknown_key_rejected():
    with pytest.raises(WorkflowError) as err:
        validate({"qc": {"mafff": 0.1}}, str(SCHEMA))
    assert "'mafff' was unexpected" in str(err.value.__context__)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"phenotypes": {"traits": {"t": {"h2": "high"}}}}, "is not of type 'number'"),
        ({"phenotypes": {"traits": {"t": {"h2": 1.5}}}}, "greater than or equal to the maximum"),
        ({"phenotypes": {"traits": {"t": {"architecture": "lasso"}}}}, "is not one of"),
        ({"phenotypes": {"traits": {"1bad": {}}}}, "does not match"),
        ({"cohort": {"simulate": {"populations": {"AMR": 10}}}}, "is not one of"),
        ({"splits": {"n_folds": 1}}, "less than the minimum"),
        ({"gwas": {"covariates": ["BMI"]}}, "is not one of"),
    ],
)
def test_validate__bad_values_rejected(config, message):
    with pytest.raises(WorkflowError) as err:
        validate(config, str(SCHEMA))
    assert message in str(err.value.__context__)
