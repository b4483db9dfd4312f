# cjm_pipeline: `make demo` installs and runs the pipeline on data/sample/; `make test` runs every test,
# `make test-fast` all but those marked slow (browser, notebooks, Spark, PostgreSQL, benchmark, long oracles).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/sample.yaml
BENCH_SIZES ?= 1M
BENCH_SPARK_SIZE ?= 10M

.PHONY: install demo run test test-fast sample golden clean bench bench-50m bench-smoke bench-spark

$(BIN)/cjm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
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

test: install  ## the whole test suite, slow tests included (what CI runs: .ci/run)
	$(BIN)/python -m pytest -q

test-fast: install  ## the tests not marked slow (pyproject.toml [tool.pytest.ini_options]), one worker per core: under 2 minutes on 2 cores
	$(BIN)/python -m pytest -q -m "not slow" -n auto --dist loadfile

sample: install  ## regenerate both samples with the simulator: data/sample/events.csv (one shop log) and data/sample/multi/
	$(BIN)/cjm simulate --template ecommerce --format generic --customers 3000 --days 120 --seed 3 --no-truth --out data/sample
	$(BIN)/cjm simulate --template classic --customers 1500 --days 120 --seed 1 --out data/sample/multi

golden: install  ## refresh tests/golden/ from a sample run (review the diff!)
	$(BIN)/python tests/golden/refresh.py

bench: install  ## benchmark at 1M events (about ten minutes; BENCH_SIZES=1M,10M for more): steps vs the floor, peers, nightly incremental
	@test -x build/bench-rete/bin/python || ($(PYTHON) -m venv build/bench-rete && build/bench-rete/bin/pip install --quiet retentioneering) \
		|| echo "retentioneering did not install: the benchmark reports it as unavailable"
	$(BIN)/python -m benchmarks.run --sizes $(BENCH_SIZES) $(BENCH_ARGS)

bench-50m: install  ## 50M events with a 4 GiB DuckDB memory limit (no peers): build/bench-50m/results.txt
	$(BIN)/python -m benchmarks.run --sizes 50M --memory-limit 4GiB --no-peers --out build/bench-50m $(BENCH_ARGS)

bench-spark: install  ## DuckDB vs Spark local on 10M events (BENCH_SPARK_SIZE=1M for less): build/bench-spark/results.txt
	$(BIN)/python -m benchmarks.spark_vs_duckdb --size $(BENCH_SPARK_SIZE) $(BENCH_ARGS)

bench-smoke: install  ## the benchmark harness at 100k events (tests/test_bench_smoke.py runs it too)
	$(BIN)/python -m benchmarks.run --sizes 100k --out build/bench-smoke

clean:
	rm -rf build .pytest_cache
