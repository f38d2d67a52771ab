# The two commands a new user needs: `make generate` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: generate check test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[codegen,dev]'
	touch $(STAMP)

## generate: regenerate src/multica_db from queries/ and the migrations
generate: $(STAMP)
	$(BIN)/multica-db generate

## check: fail when the committed generated code is stale. No database: the committed analysis
## snapshot answers (the analyzer URL points where nothing listens, so it must).
OFFLINE := postgresql://127.0.0.1:1/offline-check
check: $(STAMP)
	MULTICA_DB_ANALYZER_URL=$(OFFLINE) $(BIN)/multica-db generate --check

lint: $(STAMP)
	$(BIN)/ruff check src codegen tests benches examples
	$(BIN)/ruff format --check src codegen tests benches examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict src codegen/multica_db_codegen examples

pytest: $(STAMP)
	$(BIN)/pytest -q

## test: lint, type-check, check generated code is current, run the suite
test: lint typecheck check pytest

## bench: the benchmarks (not part of the test suite); make bench BENCH_ARGS=--quick
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[codegen,dev,bench]'
	$(BIN)/python benches/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
