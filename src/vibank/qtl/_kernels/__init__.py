"""Compiled kernels of the atlasQTL model (NumPy twins in ``vibank.qtl._reference``)."""
