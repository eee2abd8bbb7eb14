"""A toy pQTL long table and gene positions shared by the scan and stage tests (imported as
``qtl_toy``: pytest puts this directory, the root conftest.py's, on sys.path)."""

import numpy as np
import pandas as pd


def toy_long():
    """Two chunks on chr1 and one on chr2; 3 proteins; PPIs chosen by hand."""
    variants = pd.DataFrame({"SNP": ["v1", "v2", "v3", "v4", "v5"],
                             "CHR": ["1", "1", "1", "2", "2"],
                             "POS": [100_000, 300_000, 2_000_000, 500_000, 5_000_000],
                             "A1": "A", "A2": "G"})
    ppi = np.array([[0.95, 0.7, 0.1],    # v1: hotspot of 2 proteins
                    [0.6, 0.2, 0.05],    # v2: 200 kb from v1 -> same locus
                    [0.0, 0.0, 0.8],     # v3: its own locus
                    [0.49, 0.5, 0.3],    # v4: P2 exactly at the threshold
                    [0.01, 0.02, 0.03]])
    long = variants.loc[np.repeat(range(5), 3)].reset_index(drop=True)
    long["protein"] = np.tile(["P1", "P2", "P3"], 5)
    long["PPI"] = ppi.ravel()
    long["BETA_STD"] = 0.1 * ppi.ravel()
    long["BETA"] = 0.2 * ppi.ravel()
    return long


GENES = pd.DataFrame({"protein": ["P1", "P2", "P3"], "CHR": ["1", "2", "1"],
                      "POS": [900_000, 1_000_000, 2_500_000]})
