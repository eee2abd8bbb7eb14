"""Run every benchmark in bench/ and write their tables to one markdown file (``make bench``).

Usage::

    .venv/bin/python bench/run_all.py [--out results/bench/benchmarks.md] [--quick]
        [--viprs-python /work/.viprs-venv/bin/python] [--only prs_bench gs_vs_gibbs_bench]
        [--args genome_scale="--chroms 21,22"]

Each script runs in its own process with this Python, one after another (never two at once:
they time themselves), with its recorded-numbers settings, or with ``--quick`` a smoke run
(each script's ``--quick`` where it has one, else the small arguments listed here). The file
starts with the commit (``git describe --always --dirty``), the date, the machine and its load
average before and after, then one section per script: its command, wall time, exit code and
everything it printed on stdout (its tables). ``--args NAME="..."`` appends options to one
script's command (e.g. a subset of the genome for genome_scale.py); they appear in its
recorded command. A script whose inputs are missing is skipped
with the reason (demo_stages.py needs a demo run's ``benchmarks/``; the viprs and magenpy
comparisons need ``--viprs-python``, from ``bash verification/setup_viprs.sh``); a script
that fails is recorded with its exit code and the end of its stderr, and the run goes on.
The file is written to a temporary name and renamed when complete; the exit code is 1 when a
script failed.
"""

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = Path(tempfile.gettempdir()) / "vibank_bench"

#: small arguments for a smoke run of scripts without ``--quick``
QUICK_ARGS = {
    "ld_bench": ["--repeats", "1", "--workdir", str(WORK / "ld_quick")],
    "score_target_bench": ["--samples", "2000", "--variants", "3000", "--workdir",
                           str(WORK / "score_quick")],
}


def commands(args):
    """(name, argv after the script, reason to skip or None, note or None) for every script."""
    competitor = None if args.viprs_python else "no --viprs-python: the vibank rows only"
    viprs = ["--viprs-python", args.viprs_python] if args.viprs_python else []
    magenpy = ["--magenpy-python", args.viprs_python] if args.viprs_python else []
    demo_dir = args.demo_dir or ROOT / "benchmarks"
    yield "ld_bench", ["--public", *magenpy], None, competitor
    yield "prs_bench", viprs, None, competitor
    yield ("gs_vs_gibbs_bench", ["--results", str(args.workdir / "demo" / "results"),
                                 "--make-inputs"], None, None)
    yield "qtl_bench", [], None, None
    yield "qtl_probit_bench", [], None, None
    afatlasqtl = Path("/work/.afatlasqtl/lib")  # made by bench/qtl_vs_reference.py --build
    yield ("qtl_vs_reference", ["--afatlasqtl", str(afatlasqtl), "--cut"],
           None if (afatlasqtl / "AFatlasqtl").is_dir() else
           f"AFatlasqtl not installed in {afatlasqtl} (python bench/qtl_vs_reference.py --build)",
           None)
    yield "qtl_biobank_chunk", [], None, None
    yield "score_target_bench", [], None, None
    if (BENCH / "genome_scale.py").exists():  # another helper's, new in issue 19
        yield "genome_scale", viprs, None, competitor
    skip = None if demo_dir.is_dir() else f"no demo run's benchmark files in {demo_dir} (make demo)"
    yield "demo_stages", [str(demo_dir)], skip, None


def has_quick(script):
    """Whether the script takes ``--quick`` (its own smoke run)."""
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    return "--quick" in out.stdout


def git_commit():
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="smoke run of every script")
    default_viprs = Path("/work/.viprs-venv/bin/python")
    parser.add_argument("--viprs-python", dest="viprs_python",
                        default=str(default_viprs) if default_viprs.exists() else None,
                        help="python of the venv with viprs and magenpy (verification/setup_viprs.sh)")
    parser.add_argument("--demo-dir", dest="demo_dir", type=Path,
                        help="a demo run's benchmarks/ directory for demo_stages.py")
    parser.add_argument("--workdir", type=Path, default=WORK,
                        help="where inputs made for the benches are cached")
    parser.add_argument("--only", nargs="+", help="run only these scripts (names without .py)")
    parser.add_argument("--args", action="append", default=[], metavar='NAME="OPTIONS"',
                        help="extra options for one script, appended to its command (repeatable)")
    args = parser.parse_args()
    extra = {}
    for item in args.args:
        name, sep, options = item.partition("=")
        if not sep or not (BENCH / f"{name}.py").exists():
            parser.error(f"--args takes NAME=OPTIONS with NAME a script in bench/, not {item!r}")
        extra.setdefault(name, []).extend(shlex.split(options))
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    lines = [f"# vibank benchmarks, {'quick smoke run' if args.quick else 'full run'}", "",
             f"Commit {git_commit()}, {started:%Y-%m-%d %H:%M} UTC; {platform.node()}, "
             f"{os.cpu_count()} hardware threads, Python {platform.python_version()}; load average "
             f"at the start {load()}. Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
             ""]
    failed = []
    for name, argv, skip, note in commands(args):
        if args.only and name not in args.only:
            continue
        script = BENCH / f"{name}.py"
        if args.quick:
            argv = [*argv, "--quick"] if has_quick(script) else [*argv, *QUICK_ARGS.get(name, [])]
        argv = [*argv, *extra.get(name, [])]
        command = [sys.executable, str(script.relative_to(ROOT)), *argv]
        lines += [f"## {name}", ""]
        if skip:
            lines += [f"Skipped: {skip}.", ""]
            print(f"{name}: skipped ({skip})", flush=True)
            continue
        print(f"{name}: {' '.join(command)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        lines += [f"`{' '.join(command[1:])}` — {seconds:.0f} s, exit code {proc.returncode}, "
                  f"load average after {load()}" + (f"; {note}" if note else ""), "",
                  proc.stdout.rstrip(), ""]
        if proc.returncode != 0:
            failed.append(name)
            lines += ["stderr (end):", "", "```", proc.stderr[-2000:].rstrip(), "```", ""]
        print(f"{name}: exit code {proc.returncode} after {seconds:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(args.out)
    print(f"tables: {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
