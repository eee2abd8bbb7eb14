"""Glue for the Snakemake scripts in ``workflow/scripts``: logging and one-line user errors."""

import contextlib
import logging
import os
import sys
from pathlib import Path

from vibank.errors import VibankError


@contextlib.contextmanager
def snakemake_job(snakemake):
    """Send stderr and logging to the rule's log; turn a VibankError into a one-line failure.

    Also limits OpenMP and BLAS to the rule's thread count (through threadpoolctl, since numpy
    is already loaded) and exports it for child processes, so a job uses what it was granted.
    """
    from threadpoolctl import threadpool_limits

    threads = int(getattr(snakemake, "threads", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    console = sys.stderr
    with open(snakemake.log[0], "w") as log_file, threadpool_limits(limits=threads):
        sys.stderr = log_file
        logging.basicConfig(stream=log_file, level=logging.INFO, force=True,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        try:
            _require_memory(snakemake)
            yield logging.getLogger(f"vibank.rule.{snakemake.rule}")
        except VibankError as err:
            message = f"vibank: error: {err}"
            print(message, file=log_file)
            print(f"{message} (rule {snakemake.rule}, log {snakemake.log[0]})", file=console)
            log_file.flush()
            sys.exit(1)
        except Exception:  # a bug, not a user mistake: the traceback goes to the job's log too
            logging.getLogger("vibank").exception("unexpected error in rule %s", snakemake.rule)
            log_file.flush()
            raise
        finally:
            sys.stderr = console


def _require_memory(snakemake):
    """Fail like an out-of-memory job when granted less than config testing.require_mem_mb
    names for this rule (for the retry tests; mem_mb grows with the attempt)."""
    need = snakemake.config.get("testing", {}).get("require_mem_mb", {}).get(snakemake.rule)
    granted = snakemake.resources.get("mem_mb")
    if need and granted is not None and granted < need:
        raise VibankError(f"testing.require_mem_mb: rule {snakemake.rule} was granted mem_mb="
                          f"{granted}, needs {need} (simulated out of memory)")


def model_outputs(output, models):
    """The result files of a PRS fit job (outputs effects, json, pgs, score, audit, one entry
    per model and chromosome, and grid, one per tuned or baseline model; every path under
    ``results/prs/<model>/``) per model: {"chromosomes": [per-chromosome dicts for
    ``vibank.stages.prs``], "grid": path or None}."""
    def of(model, paths):  # results/prs/<model>/<trait>/fold<f>/<file>
        return [p for p in paths if Path(p).parts[-4] == model]

    kinds = ("effects", "json", "pgs", "score", "audit")
    out = {}
    for model in models:
        files = [of(model, getattr(output, kind)) for kind in kinds]
        out[model] = {
            "chromosomes": [dict(zip(kinds, paths)) for paths in zip(*files, strict=True)],
            "grid": next(iter(of(model, output.grid)), None),
        }
    return out


