"""vibank: variational Bayesian polygenic scores and multi-trait pQTL mapping at biobank scale."""

from vibank._version import __version__
from vibank.errors import VibankError

__all__ = ["__version__", "VibankError"]
