# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
CONDA_ENV := workflow/envs/galaxy-pretraining.yaml
PIP := --quiet --disable-pip-version-check

.PHONY: demo test lint docs setup lock clean

setup: $(STAMP)

# Exactly the lock, in a new venv whenever the lock or pyproject.toml changes (pip, not uv: torch
# 2.14.1 / torchvision 0.29.1 come from this machine's disk); then this repository's library, editable.
$(STAMP): pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP) -r $(LOCK)
	$(BIN)/pip install $(PIP) --no-deps -e .
	touch $(STAMP)

# Resolve pyproject.toml's dependencies afresh in a throw-away venv and write requirements.lock and the
# rules' conda environment from it. Run after changing a dependency; commit both files.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install $(PIP) -e '.[test]'
	{ printf '%s\n' "# Every Python package of the environment that \`make\` builds, at its exact version (pip freeze)." \
	    "# Regenerate with \`make lock\` (resolves pyproject.toml afresh in a new venv); do not edit by hand." \
	    "# Resolved on Linux x86-64, CPython 3.11. No hashes: see docs/development.md (\"The locked environment\")."; \
	  .venv-lock/bin/pip freeze $(PIP) --exclude-editable; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	.venv-lock/bin/python -m galaxy_pretraining_tools.environment conda-env $(LOCK) $(CONDA_ENV)
	rm -rf .venv-lock

demo: $(STAMP)
	$(BIN)/snakemake --cores 2 --configfile config/demo.yaml
	$(BIN)/snakemake --cores 2 --configfile config/demo.yaml --report results/demo/report.html
	@echo
	@echo "Demo results are in results/demo/: tables/ (table1_budgets.csv, sign_tests.csv, ...), figures/ (PNG and PDF), runs/."
	@echo "Open results/demo/report.html in a browser: every figure and table of the run, with captions."

# Linters first (seconds), then the suite. ruff and snakefmt are pinned in pyproject's test extra.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/snakemake --lint --configfile config/config.yaml
	$(BIN)/snakemake --lint --configfile config/demo.yaml
	$(BIN)/snakemake --lint --configfile config/fu-galaxy10.yaml
	$(BIN)/snakemake --lint --configfile config/gz1-sdss-zoobot.yaml
	$(BIN)/snakemake --lint --configfile config/zhu2019-gz2.yaml

# The documentation site (docs/ and mkdocs.yml) into build/site, offline; --strict makes a broken link,
# a missing page or an unreadable docstring an error.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

test: lint docs
	$(BIN)/python -m pytest

clean:
	rm -rf results/demo .snakemake
