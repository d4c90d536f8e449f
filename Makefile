# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup clean

setup: $(STAMP)

# torch 2.14.1 / torchvision 0.29.1 are pinned in pyproject.toml; pip (not uv) installs them.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores 2 --configfile config/demo.yaml
	@echo
	@echo "Demo results are in results/demo/: tables/ (table1_budgets.csv, sign_tests.csv, ...), figures/ (PNG and PDF), runs/."
	@echo "HTML report: $(BIN)/snakemake --cores 2 --configfile config/demo.yaml --report results/demo/report.html"

# Linters first (seconds), then the suite. ruff and snakefmt are pinned in pyproject's test extra.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --configfile config/config.yaml
	$(BIN)/snakemake --lint --configfile config/demo.yaml

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf results/demo .snakemake
