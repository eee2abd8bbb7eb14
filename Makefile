# vibank: `make demo` runs the workflow on the built-in study, `make test` runs the test suite.
# Both create .venv, install vibank with its dependencies, and install plink2 (Debian) if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vibank-installed
CORES ?= all
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup plink2 demo test test-fast report lint clean

$(STAMP): pyproject.toml setup.py $(shell find src -name '*.pyx' -o -name '*.pxd' -o -name '*.h')
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# plink1.9 too: Debian's plink2 (2.00a3.5) has no --clump, which C+T needs
plink2:
	@for tool in plink2 plink1.9; do command -v $$tool >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing $$tool from Debian"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$tool >/dev/null; }; done
	@plink2 --version

setup: $(STAMP) plink2

demo: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --report results/report.html
	@echo "demo results: $(abspath results)  (QC: results/qc/qc_summary.tsv, GWAS: results/gwas/)"
	@echo "demo report: $(abspath results/report.html)"

# the HTML report of a finished run (figures, tables and their captions)
report: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --report results/report.html
	@echo "report: $(abspath results/report.html)"

test: setup
	$(BIN)/python -m pytest -q -ra --durations=15 tests

lint: setup
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs benchmarks .snakemake build src/*.egg-info
