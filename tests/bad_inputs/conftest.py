"""The bad-input corpus (issue 7, scope 5): every case breaks one input of a small valid study,
runs a real entry point (the ``vibank`` CLI, or ``snakemake --dry-run`` for configs) and checks
what the user sees. Helpers and the study are in ``corpus.py``."""

import pytest

from corpus import make_study


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """The valid study, made once per session (< 1 s) and treated as read-only."""
    return make_study(tmp_path_factory.mktemp("bad_inputs_study"))
