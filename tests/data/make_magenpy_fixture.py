"""Make tests/data/magenpy_ld/: a small PLINK panel and the LD stores the real magenpy writes for it.

Run with vibank's environment for the panel and a separate environment that has magenpy
(never a vibank dependency), e.g.::

    python3 -m venv /tmp/magenv && /tmp/magenv/bin/pip install magenpy
    .venv/bin/python tests/data/make_magenpy_fixture.py --magenpy-python /tmp/magenv/bin/python

The committed output is what tests/unit/test_ld_interop.py reads.
"""

import argparse
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from vibank.io.plink import write_bfile

OUT = Path(__file__).parent / "magenpy_ld"

MAGENPY = textwrap.dedent("""
    import sys
    import magenpy as mgp
    prefix, out = sys.argv[1], sys.argv[2]
    g = mgp.GWADataLoader(bed_files=prefix, backend="magenpy", threads=1)
    for dtype in ("float32", "int16", "int8"):
        g.compute_ld("windowed", f"{out}/{dtype}", window_size=None, kb_window_size=None,
                     cm_window_size=0.05, dtype=dtype)
""")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--magenpy-python", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    n, m = 120, 80
    geno = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(np.int8)
    for j in range(1, m):  # LD: copy the previous variant in 60% of the samples
        copy = rng.random(n) < 0.6
        geno[copy, j] = geno[copy, j - 1]
    pos = np.cumsum(rng.integers(200, 2000, m))
    ids = [f"S{i:03d}" for i in range(n)]
    bim = pd.DataFrame({"CHR": "1", "SNP": [f"1:{p}" for p in pos], "CM": pos * 1e-6, "POS": pos,
                        "A1": "A", "A2": "G"})
    fam = pd.DataFrame({"FID": ids, "IID": ids, "SEX": 1})
    OUT.mkdir(parents=True, exist_ok=True)
    write_bfile(OUT / "panel", geno, bim, fam)
    subprocess.run([args.magenpy_python, "-c", MAGENPY, str(OUT / "panel"), str(OUT)], check=True)


if __name__ == "__main__":
    main()
