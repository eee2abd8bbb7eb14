"""Figures drawn from saved result tables (matplotlib, Agg backend), PNG + PDF each.

Import this package lazily (inside the function or script that draws): it loads matplotlib.
``prs`` holds the PRS evaluation figures (paper Fig 1-4, S8, S13), ``ld`` the comparison of
LD panels; ``_style`` the palette, table checks and atomic saving shared by both.
"""

from vibank.plot.ld import ld_panels, ld_summary_table
from vibank.plot.prs import accuracy, grid_elbo, h2_calibration, runtime, transfer

__all__ = ["accuracy", "grid_elbo", "h2_calibration", "ld_panels", "ld_summary_table", "runtime",
           "transfer"]
