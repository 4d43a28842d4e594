# pceval: every target sets itself up on a fresh machine that has Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   := synthetic_data
DATA_STAMP := $(DATA)/people.parquet
# the default synthetic data set (see synthetic_data/data_dictionary.md)
DATA_PEOPLE ?= 100000
DATA_SEED   ?= 2019

.PHONY: help install data test report lint bench validate clean docs typecheck
VALIDATE_REPS ?= 500

help:
	@echo "make report   set up, generate synthetic data if missing, run notebooks, render reports/"
	@echo "make test     set up, then run the whole test suite (PYTEST_ARGS=... passes options to pytest)"
	@echo "make data     (re)generate the default synthetic data in $(DATA)/"
	@echo "make bench    run the benchmarks and print their tables"
	@echo "make lint     ruff"
	@echo "make docs     build the documentation site into site/ (mkdocs build --strict; open site/index.html)"
	@echo "make typecheck  mypy on src/ (settings in pyproject.toml [tool.mypy])"
	@echo "make validate Monte Carlo validation study (VALIDATE_REPS=500 replications per scenario, twice that for the roll-out)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pceval needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

$(DATA_STAMP): | $(STAMP)
	$(BIN)/pceval synth --people $(DATA_PEOPLE) --scenario all --seed $(DATA_SEED) --out $(DATA)

data: $(STAMP)
	$(BIN)/pceval synth --people $(DATA_PEOPLE) --scenario all --seed $(DATA_SEED) --out $(DATA)

# PYTEST_ARGS passes extra arguments to pytest, e.g. `make test PYTEST_ARGS="-k sii -x"`;
# CI (.ci/run) uses `make test PYTEST_ARGS=--junitxml=test-artifacts/junit.xml` and then
# .ci/check_skips.py, which fails on any skip but missing Java (Spark) or Chromium (browser tests).
PYTEST_ARGS ?=
test: $(STAMP) $(DATA_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

report: $(STAMP) $(DATA_STAMP)
	$(BIN)/pceval report --data $(DATA) --out reports

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# the documentation site (mkdocs.yml): the `docs` extra, then a strict build (any warning fails);
# the site reads the docstrings from src/ and needs neither the synthetic data nor the network
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	@touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

typecheck: $(STAMP)
	$(BIN)/mypy

# BENCH_ARGS=--quick for the small sizes only
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@command -v Rscript >/dev/null || (command -v apt-get >/dev/null && apt-get install -y -qq r-cran-matchit >/dev/null 2>&1) \
		|| echo "R MatchIt could not be installed (needs root and Debian): bench_matching runs without it"
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info

validate: $(STAMP)
	$(BIN)/python validation/monte_carlo.py --reps $(VALIDATE_REPS) --out validation/results
	$(BIN)/python validation/reference_table.py > /dev/null
	@echo "wrote validation/results/ and docs/validation.md"
