"""Run plink2 as a subprocess with the job's threads and memory; fail with a one-line error."""

import logging
import shutil
import subprocess
from pathlib import Path

from vibank.errors import ExternalToolError, VibankError

log = logging.getLogger(__name__)


def plink2_binary():
    """Path of the plink2 executable, or a clear error saying how to install it."""
    exe = shutil.which("plink2")
    if exe is None:
        raise VibankError(
            "plink2 not found on PATH: install it (Debian: apt-get install plink2) "
            "or run `make setup`"
        )
    return exe


def run_plink2(args, out, *, threads=1, memory_mb=None, exe=None):
    """Run ``plink2 <args> --out <out>``; return the Path prefix ``out``.

    Parameters
    ----------
    args : list of str, plink2 arguments without --out/--threads/--memory
    out : output prefix
    threads, memory_mb : resources handed to plink2 (--threads, --memory)
    exe : another plink executable with the same conventions (e.g. plink 1.9), default plink2

    Raises
    ------
    ExternalToolError naming the plink2 log and its error line when plink2 fails.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    exe = exe or plink2_binary()
    cmd = [exe, *map(str, args), "--threads", str(threads), "--out", str(out)]
    if memory_mb:
        cmd += ["--memory", str(int(memory_mb))]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr + proc.stdout).strip().splitlines()
        errors = [line for line in lines if line.startswith("Error")] or lines[-1:]
        raise ExternalToolError(
            f"{Path(exe).name} failed ({out}.log): {errors[0] if errors else 'no message'}"
        )
    return out
