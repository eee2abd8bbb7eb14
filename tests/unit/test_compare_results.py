"""verification/compare_results.py: the before/after check of a refactor finds what differs."""

import gzip
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "verification"))
import compare_results  # noqa: E402


def _results(root, *, beta=0.5, seconds=1.0, header="#pgs_name=a", extra=False):
    (root / "prs").mkdir(parents=True)
    pd.DataFrame({"SNP": ["a", "b"], "BETA": [beta, 0.25], "seconds": [seconds, 2.0]}).to_csv(
        root / "prs" / "effects.tsv.gz", sep="\t", index=False)
    with gzip.open(root / "prs" / "x.pgs.txt.gz", "wt") as handle:
        handle.write(f"###PGS\n{header}\nrsID\teffect_weight\na\t{beta}\n")
    (root / "prs" / "fit.json").write_text(json.dumps(
        {"h2": beta, "seconds": seconds, "history": [{"elbo": 1.0, "seconds": seconds}]}))
    if extra:
        (root / "prs" / "more.json").write_text("{}")
    return root


def test_identical_apart_from_timings(tmp_path, capsys):
    a = _results(tmp_path / "a")
    b = _results(tmp_path / "b", seconds=9.0)
    assert compare_results.main([str(a), str(b)]) == 0
    assert "3 identical" in capsys.readouterr().out


def test_close_within_rtol_and_different_beyond(tmp_path, capsys):
    a = _results(tmp_path / "a")
    b = _results(tmp_path / "b", beta=0.5 + 1e-9)
    assert compare_results.main([str(a), str(b), "--rtol", "1e-6"]) == 0
    assert "close" in capsys.readouterr().out
    assert compare_results.main([str(a), str(b), "--rtol", "0"]) == 1
    out = capsys.readouterr().out
    assert "different prs/effects.tsv.gz column BETA" in out
    assert "different prs/fit.json .h2" in out


def test_header_lines_and_missing_files(tmp_path, capsys):
    a = _results(tmp_path / "a")
    b = _results(tmp_path / "b", header="#pgs_name=b", extra=True)
    assert compare_results.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "different prs/x.pgs.txt.gz header line 2" in out
    assert "missing   prs/more.json only in after" in out
