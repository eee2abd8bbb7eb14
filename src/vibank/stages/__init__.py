"""File-to-file stages, one module per pipeline (called by the workflow scripts and the CLI).

The rule: a stage module joins two or more domains (io, genotypes, sumstats, ld, prs, qtl, eval,
simulate) through ``vibank.io`` and the domains' public APIs; it reads inputs, calls the
library, writes outputs; it defines no numerics (no statistics, no array arithmetic beyond
selecting/reordering columns). Domains never import ``vibank.stages``.

Modules: ``fit_data`` (``load_fit_data``: sumstats harmonised to LD stores, as the models take
them; the validation samples), ``prs`` (VEM fits, tuned fits, baselines), ``external``
(external GWAS files harmonised and compared), ``qtl`` (pQTL chunks, fits, calls).
"""
