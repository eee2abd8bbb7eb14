"""The config schema: defaults for every key, unknown keys and bad values rejected."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

REPO = Path(__file__).parents[2]
SCHEMAS = REPO / "workflow" / "schemas"
SCHEMA = str(SCHEMAS / "config.schema.yaml")
#: sections validated against their own schema after the main one (rules/config.smk)
SECTIONS = {"ld": "ld.schema.yaml", "qtl": "qtl.schema.yaml",
            "external_gwas": "external.schema.yaml", "target": "target.schema.yaml"}
DEFAULT = REPO / "config" / "config.yaml"


def full_schema():
    """config.schema.yaml with the section schemas in place of their entries."""
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    for section, name in SECTIONS.items():
        schema["properties"][section] = yaml.safe_load((SCHEMAS / name).read_text())
    return schema


def validate_all(config):
    """Validate as the workflow does: the whole config, then each section."""
    validate(config, SCHEMA)
    for section, name in SECTIONS.items():
        validate(config[section], str(SCHEMAS / name))


@pytest.fixture
def demo():
    return yaml.safe_load(DEFAULT.read_text())


def _walk(node, path=""):
    """Yield (path, schema) for every named or patterned property in the schema that is not
    required (a required key has no default)."""
    for key, sub in node.get("properties", {}).items():
        if key not in node.get("required", []):
            yield f"{path}.{key}".lstrip("."), sub
        yield from _walk(sub, f"{path}.{key}")
    for sub in node.get("patternProperties", {}).values():
        yield from _walk(sub, f"{path}.*")


def _objects(node, path=""):
    """Yield (path, schema) for every object schema below node, node included."""
    if node.get("type") == "object":
        yield path or "top level", node
    for key, sub in node.get("properties", {}).items():
        yield from _objects(sub, f"{path}.{key}".lstrip("."))
    for sub in node.get("patternProperties", {}).values():
        yield from _objects(sub, f"{path}.*")


def test_schema__every_key_has_description_default_and_type():
    schema = full_schema()
    keys = list(_walk(schema))
    assert len(keys) > 60
    for path, sub in keys:
        # simulate_from (null or an object with defaulted keys) has no default: Snakemake's
        # default-filling validator would descend into a null default and fail; the workflow
        # sets the absent key to null after validation (rules/common.smk)
        needed = ({"description", "type"} if path == "external_gwas.*.simulate_from"
                  else {"description", "default", "type"})
        assert needed <= sub.keys(), path


def test_schema__every_object_rejects_unknown_keys():
    schema = full_schema()
    for path, sub in _objects(schema):
        assert sub.get("additionalProperties") is not None, path
        if sub["additionalProperties"] is not False:  # a mapping: label -> value
            assert "propertyNames" in sub, path


def test_validate__default_config_passes(demo):
    config = copy.deepcopy(demo)
    validate_all(config)
    assert config["phenotypes"]["traits"]["sparse"]["h2"] == 0.5


def test_validate__empty_config_gets_demo_defaults(demo):
    config = {}
    validate_all(config)
    assert config["seed"] == demo["seed"]
    assert config["cohort"]["simulate"]["populations"] == {"EUR": 6000, "AFR": 1000, "EAS": 1000}
    assert config["cohort"]["simulate"] == demo["cohort"]["simulate"]
    assert config["pca"]["prune"] == demo["pca"]["prune"]
    assert config["qc"] == demo["qc"]
    assert config["splits"] == demo["splits"]
    # trait-level defaults are filled inside the default traits too
    assert config["phenotypes"]["traits"]["mixture"]["type"] == "quantitative"
    assert config["phenotypes"]["traits"]["mixture"]["mixture_pi"] is None
    validate_all(demo)
    # external GWAS are the study's own: the demo's example is not a default; nor are the
    # demo's pQTL scope (chromosome 1, to stay within 3 min) and its denser pruning (r2 0.3)
    assert config["external_gwas"] == {}
    assert demo["qtl"]["chromosomes"] == [1] and demo["qtl"]["chunks"]["r2"] == 0.3
    demo["qtl"]["chromosomes"], demo["qtl"]["chunks"]["r2"] = None, 0.1
    # nor the demo's 4 PCs in its GWAS of one simulated population (default: all pca.n_pcs)
    assert demo["gwas"]["n_pcs"] == 4
    demo["gwas"]["n_pcs"] = None
    assert config == {**demo, "external_gwas": {}}


def test_validate__trait_defaults_filled():
    config = {"phenotypes": {"traits": {"ldl": {}, "t2d": {"type": "binary"}}}}
    validate(config, SCHEMA)
    traits = config["phenotypes"]["traits"]
    assert list(traits) == ["ldl", "t2d"]
    assert traits["ldl"]["architecture"] == "spike_slab" and traits["ldl"]["h2"] == 0.3
    assert traits["t2d"]["prevalence"] == 0.15


def test_validate__unknown_key_rejected():
    with pytest.raises(WorkflowError, match=r"Additional properties .*'mafff' was unexpected"):
        validate({"qc": {"mafff": 0.1}}, SCHEMA)


def test_validate__unknown_top_level_section_rejected():
    with pytest.raises(WorkflowError, match=r"'phenotype' was unexpected"):
        validate({"phenotype": {}}, SCHEMA)


def test_validate__wrong_type_rejected():
    with pytest.raises(WorkflowError, match=r"'high' is not of type 'number'"):
        validate({"phenotypes": {"traits": {"t": {"h2": "high"}}}}, SCHEMA)


@pytest.mark.parametrize("h2", [2, 1.0, 0, -0.1])
def test_validate__h2_out_of_range_rejected(h2):
    with pytest.raises(WorkflowError, match=r"(greater|less) than or equal to the (max|min)imum"):
        validate({"phenotypes": {"traits": {"t": {"h2": h2}}}}, SCHEMA)


def test_validate__bad_architecture_rejected():
    with pytest.raises(WorkflowError, match=r"'lasso' is not one of \['spike_slab'"):
        validate({"phenotypes": {"traits": {"t": {"architecture": "lasso"}}}}, SCHEMA)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"phenotypes": {"traits": {"1bad": {}}}}, r"'1bad' does not match any of the regexes"),
        ({"phenotypes": {"traits": {"t": {"mixture_pi": [0.5, 0.5]}}}}, r"is too short"),
        ({"cohort": {"simulate": {"populations": {"AMR": 10}}}}, r"'AMR' is not one of"),
        ({"cohort": {"simulate": {"populations": {"EUR": 0}}}}, r"less than the minimum of 1"),
        ({"cohort": {"source": "plink"}}, r"None is not of type 'string'"),
        ({"phenotypes": {"source": "file"}}, r"None is not of type 'string'"),
        ({"qc": {"exclude_long_range_ld": True}}, r"None is not of type 'string'"),
        ({"qc": {"maf": 0.6}}, r"greater than the maximum of 0.5"),
        ({"pca": {"approx": "yes"}}, r"'yes' is not one of \[True, False, 'auto'\]"),
        ({"splits": {"n_folds": 1}}, r"less than the minimum of 2"),
        ({"gwas": {"covariates": ["BMI"]}}, r"'BMI' is not one of"),
        ({"prs": {"mismatch_filter": {"enabled": "yes"}}}, r"'yes' is not of type 'boolean'"),
        ({"external_gwas": {"e": {"file": 3}}}, r"3 is not of type 'string', 'null'"),
        ({"external_gwas": {"e": {"phenotype": "t", "format": "csv"}}}, r"'csv' is not one of"),
        ({"qtl": {"chunks": {"r2": 2}}}, r"greater than the maximum of 1"),
    ],
)
def test_validate__bad_values_rejected(config, message):
    with pytest.raises(WorkflowError, match=message):
        validate_all(config)


def test_validate__own_study_passes():
    config = {
        "cohort": {"source": "plink", "bfile": "data/x", "sample_table": "data/s.tsv"},
        "phenotypes": {"source": "file", "file": "data/p.tsv", "traits": {"t": {"type": "binary"}}},
        "qc": {"population": None, "hwe": 0, "exclude_long_range_ld": True,
               "long_range_ld_file": "data/lrld.bed"},
        "pca": {"approx": False},
    }
    validate_all(config)
    assert config["splits"]["reference_population"] == "EUR"
