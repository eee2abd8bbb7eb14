"""Step 12 of atlasQTL and its relatives, per (response, predictor) pair: the ``_probit`` kernels
at p = q = 1,000 on 1 and 2 threads (seconds of CPU in all).

Usage::

    .venv/bin/python bench/qtl_probit_bench.py [--repeats 7] [--module OTHER_BUILD.so] [--quick]

Prints nanoseconds per pair (the fastest of ``--repeats`` calls after one warm-up) of
``probit_refresh`` with and without the log-odds, ``probit_lpd`` over every response and
``latent_sums_annealed`` at c = 0.5. m = theta + zeta is drawn around -3 (sd 1.4), where the
atlasQTL propensities sit. ``--module`` times another build of ``_probit`` instead (e.g. the .so
of an older commit, copied aside before rebuilding), for a before/after comparison.
"""

import argparse
import importlib.machinery
import importlib.util
import time

import numpy as np


def load(path):
    """The ``_probit`` extension module: vibank's, or the build at ``path``."""
    if path is None:
        from vibank.qtl._kernels import _probit
        return _probit
    loader = importlib.machinery.ExtensionFileLoader("_probit", path)
    spec = importlib.util.spec_from_file_location("_probit", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--module", help="another build of vibank.qtl._kernels._probit (.so)")
    parser.add_argument("--quick", action="store_true", help="p = q = 200, 2 repeats")
    args = parser.parse_args()
    probit = load(args.module)
    p = q = 200 if args.quick else 1000
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    theta, zeta = rng.normal(-2.0, 1.0, p), rng.normal(-1.0, 1.0, q)
    g = rng.uniform(0.0, 1.0, (q, p))
    lpd, diff, z_row, probit_sum = np.empty((q, p)), np.empty((q, p)), np.empty(q), np.empty(q)
    parts = np.empty((-(-q // probit.ROWS), p))
    units = np.arange(q, dtype=np.int64)
    cases = {
        "probit_refresh, log-odds": lambda n: probit.probit_refresh(
            theta, zeta, g, lpd, diff, z_row, parts, probit_sum, True, n_threads=n),
        "probit_refresh": lambda n: probit.probit_refresh(
            theta, zeta, g, lpd, diff, z_row, parts, probit_sum, False, n_threads=n),
        "probit_lpd": lambda n: probit.probit_lpd(theta, zeta, units, lpd, n_threads=n),
        "latent_sums_annealed": lambda n: probit.latent_sums_annealed(
            theta, zeta, g, 0.5, z_row, parts, n_threads=n),
    }
    print(f"{probit.__file__}, p = q = {p}, fastest of {repeats}\n")
    print("| kernel | ns per pair, 1 thread | 2 threads |\n|---|---|---|")
    for name, run in cases.items():
        row = []
        for n_threads in (1, 2):
            run(n_threads)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                run(n_threads)
                times.append(time.perf_counter() - start)
            row.append(f"{min(times) / (p * q) * 1e9:.1f}")
        print(f"| {name} | {' | '.join(row)} |")


if __name__ == "__main__":
    main()
