# vibank: `make demo` runs the workflow on the built-in study, `make test` runs the test suite,
# `make test-fast` the suite without the Snakemake runs. Each creates .venv, installs vibank with
# its dependencies, and checks for plink2 and plink 1.9 (installed from Debian when make runs as
# root, otherwise make stops and says how to get them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vibank-installed
CORES ?= all
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup plink2 demo test test-fast report lint bench clean

$(STAMP): pyproject.toml setup.py $(shell find src -name '*.pyx' -o -name '*.pxd' -o -name '*.h')
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# plink1.9 too: Debian's plink2 (2.00a3.5) has no --clump, which C+T needs (a plink2 that has
# --clump, or a plink 1.9 named `plink`, does instead). A missing tool is installed from Debian
# only as root; otherwise (no root, no apt-get, or the install failed) make stops with a message.
plink2:
	@have() { case $$1 in \
	  plink2) command -v plink2 >/dev/null 2>&1 ;; \
	  plink1.9) for exe in plink1.9 plink; do command -v $$exe >/dev/null 2>&1 && \
	      $$exe --version 2>/dev/null | grep -q '^PLINK v1\.9' && return 0; done; \
	    command -v plink2 >/dev/null 2>&1 && plink2 --help clump 2>/dev/null | grep -q -- --clump-p-field ;; \
	  esac; }; \
	missing=; for tool in plink2 plink1.9; do have $$tool || missing="$$missing $$tool"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then why="make is not running as root"; \
	elif ! command -v apt-get >/dev/null 2>&1; then why="no apt-get (not Debian or Ubuntu?)"; \
	else echo "installing$$missing from Debian"; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  missing=; for tool in plink2 plink1.9; do have $$tool || missing="$$missing $$tool"; done; \
	  [ -z "$$missing" ] && exit 0; why="apt-get install failed"; fi; \
	echo "vibank needs plink2 and plink 1.9 on the PATH. Missing:$$missing; $$why." >&2; \
	echo "Install them one of these ways, then run make again:" >&2; \
	echo "  Debian/Ubuntu, as root:  apt-get install plink2 plink1.9   (or: sudo apt-get install ...)" >&2; \
	echo "  conda (bioconda):        conda install -c conda-forge -c bioconda plink2 plink" >&2; \
	echo "  cluster module:          module load plink2   (and a plink 1.9 module if that plink2 has" >&2; \
	echo "                           no --clump; names vary, see module avail plink)" >&2; \
	exit 1
	@plink2 --version

setup: plink2 $(STAMP)

demo: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --report results/report.html
	@echo "demo results: $(abspath results)  (QC: results/qc/qc_summary.tsv, GWAS: results/gwas/)"
	@echo "demo report: $(abspath results/report.html)"

# the HTML report of a finished run (figures, tables and their captions)
report: setup
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --report results/report.html
	@echo "report: $(abspath results/report.html)"

# The suite on one pytest-xdist worker per core (TEST_WORKERS=0 runs it in one process). A
# module is one unit of work (--dist loadscope), so a module's fixtures (a Snakemake run shared
# by its tests) are made once; tests/conftest.py puts the longest modules first.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -ra --durations=15 -n $(TEST_WORKERS) --dist loadscope \
	--no-loadscope-reorder

test: setup
	$(PYTEST) tests

# the suite without the tests marked workflow (real Snakemake runs: tiny end-to-end, demo fold,
# external GWAS, live SLURM); Snakemake's lint, dry runs and snakefmt check still run
test-fast: setup
	$(PYTEST) -m "not workflow" tests

lint: setup
	$(BIN)/snakemake --lint

# every script in bench/ one after another (bench/run_all.py): tables, commit and date in
# results/bench/benchmarks.md; `make bench QUICK=1` for a smoke run. The viprs and magenpy
# comparisons run in their own venv (verification/setup_viprs.sh, from PyPI, made once).
bench: setup
	$(BIN)/python bench/run_all.py --viprs-python "$$(bash verification/setup_viprs.sh)" $(if $(QUICK),--quick)

clean:
	rm -rf results logs benchmarks .snakemake build src/*.egg-info
