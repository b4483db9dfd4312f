# cjm_pipeline: `make demo` installs and runs the pipeline on data/sample/; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/sample.yaml

.PHONY: install demo run test sample golden clean

$(BIN)/cjm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(BIN)/cjm

install: $(BIN)/cjm

demo: install  ## install, then run the whole pipeline on the sample data
	$(BIN)/cjm run -c $(CONFIG)
	@echo "Outputs: build/out/ (CSV + .meta.json); warehouse: build/cjm.duckdb"

run: install
	$(BIN)/cjm run -c $(CONFIG)

test: install  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q

sample:  ## regenerate data/sample/events.csv from its seeded generator
	$(PYTHON) data/sample/generate.py

golden: install  ## refresh tests/golden/ from a sample run (review the diff!)
	$(BIN)/python tests/golden/refresh.py

clean:
	rm -rf build .pytest_cache
