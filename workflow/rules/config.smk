# The config checked against its schemas (workflow/schemas), defaults filled in, before any
# other rule file reads it.
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def _validate(section, schema):
    """Validate config (or one section of it) against a schema, filling defaults; report the
    first problem in one line naming the config files and the key."""
    try:
        validate(section, workflow.source_path(f"../schemas/{schema}"))
    except WorkflowError as err:
        return err
    return None


def validate_config(config):
    """The whole config against config.schema.yaml, then the ld, qtl, external_gwas and target
    sections against their own schemas."""
    for prefix, section, schema in (
        ([], config, "config.schema.yaml"),
        (["ld"], lambda: config["ld"], "ld.schema.yaml"),
        (["qtl"], lambda: config["qtl"], "qtl.schema.yaml"),
        (["external_gwas"], lambda: config["external_gwas"], "external.schema.yaml"),
        (["target"], lambda: config["target"], "target.schema.yaml"),
    ):
        err = _validate(section() if callable(section) else section, schema)
        if err is None:
            continue
        cause = err.__context__  # the jsonschema ValidationError
        if not hasattr(cause, "absolute_path"):
            raise err
        where = ".".join(str(p) for p in [*prefix, *cause.absolute_path]) or "top level"
        files = ", ".join(str(f) for f in workflow.configfiles)
        raise WorkflowError(
            f"{files}: config error at {where}: {cause.message}"
        ) from None


validate_config(config)
