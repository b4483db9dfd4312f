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

demo: install  ## install, then run the whole pipeline on both samples (generic events; Metrica + Calltouch + amoCRM)
	$(BIN)/cjm run -c $(CONFIG)
	$(BIN)/cjm run -c configs/sample_multi.yaml
	$(BIN)/cjm report -c $(CONFIG)
	$(BIN)/cjm report -c configs/sample_multi.yaml --lang ru
	@echo "Outputs: build/out/ and build/out_multi/ (CSV + .meta.json); warehouses: build/cjm.duckdb, build/cjm_multi.duckdb"
	@echo "Reports: build/out/report.html, build/out_multi/report.html"

run: install
	$(BIN)/cjm run -c $(CONFIG)

test: install  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q

sample:  ## regenerate data/sample/events.csv and data/sample/multi/ from their seeded generators
	$(PYTHON) data/sample/generate.py
	$(PYTHON) data/sample/generate_multi.py

golden: install  ## refresh tests/golden/ from a sample run (review the diff!)
	$(BIN)/python tests/golden/refresh.py

clean:
	rm -rf build .pytest_cache
