"""Broken LD stores given to ``vibank fit``: truncated, foreign, of another format version."""

import json
import shutil

import pytest

from corpus import FAST, assert_no_partial_output, assert_one_line_error, run_vibank


def _attrs(store, **changes):
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"].update(changes)
    meta.write_text(json.dumps(doc))


def _delete_data_chunk(store):
    (store / "ld" / "data" / "c" / "0").unlink()
    return ["LD store is truncated: ld/data lacks 1 of its 1 chunk"]


def _delete_variant_chunk(store):
    (store / "variants" / "pos" / "c" / "0").unlink()
    return ["LD store is truncated: variants/pos lacks 1 of its 1 chunk"]


def _delete_root_metadata(store):
    (store / "zarr.json").unlink()
    return ["no Zarr metadata (zarr.json"]


def _delete_array(store):
    shutil.rmtree(store / "ld" / "indptr")
    return ["LD store is incomplete (ld/indptr missing)"]


def _corrupt_root_metadata(store):
    (store / "zarr.json").write_text('{"attributes": {"vibank_ld_fo')
    return ["unreadable Zarr metadata"]


def _truncated_chunk(store):
    chunk = store / "ld" / "data" / "c" / "0"
    chunk.write_bytes(chunk.read_bytes()[:20])
    return ["ld/data: a chunk cannot be decoded"]


def _wrong_version(store):
    _attrs(store, vibank_ld_format=99)
    return ["vibank_ld_format", "format version 99", "this vibank reads 1"]


def _no_version(store):
    doc = json.loads((store / "zarr.json").read_text())
    del doc["attributes"]["vibank_ld_format"]
    (store / "zarr.json").write_text(json.dumps(doc))
    return ["not an LD store (no vibank_ld_format"]


def _wrong_variant_count(store):
    _attrs(store, n_variants=81)
    return ["ld/indptr has 81 entries, expected 82 (attribute n_variants = 81)"]


def _plain_file(store):
    shutil.rmtree(store)
    store.write_text("not a store\n")
    return ["a file, not an LD store"]


def _absent(store):
    shutil.rmtree(store)
    return ["LD store not found"]


CASES = {
    "ld_data_chunk_deleted": _delete_data_chunk,
    "ld_variant_chunk_deleted": _delete_variant_chunk,
    "ld_zarr_json_deleted": _delete_root_metadata,
    "ld_array_deleted": _delete_array,
    "ld_zarr_json_corrupt": _corrupt_root_metadata,
    "ld_chunk_truncated": _truncated_chunk,
    "ld_wrong_format_version": _wrong_version,
    "ld_without_format_version": _no_version,
    "ld_variant_count_disagrees": _wrong_variant_count,
    "ld_store_is_a_plain_file": _plain_file,
    "ld_store_does_not_exist": _absent,
}
REAL = {"ld_data_chunk_deleted", "ld_wrong_format_version"}


@pytest.mark.parametrize("case", list(CASES))
def test_fit__bad_ld_store_is_refused(case, study, tmp_path):
    store = tmp_path / "chr1.zarr"
    shutil.copytree(study.ld, store)
    fragments = CASES[case](store)
    run = run_vibank("fit", "--sumstats", study.dir / "ss.tsv", "--ld", store, "--out",
                     tmp_path / "out", "--audit", tmp_path / "audit.tsv", *FAST,
                     real=case in REAL)
    assert_one_line_error(run, store, *fragments)
    assert_no_partial_output(tmp_path, tmp_path / "out", extra=[tmp_path / "audit.tsv"])
