# aimc-verify: `make figures` regenerates every figure and prints the claims report;
# `make test` runs the test suite. Both bootstrap .venv on first use (only python3 is needed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= paper_figures/out
QUICK  ?=
MODE   := $(if $(filter 1 yes true,$(QUICK)),--quick,)
# WORKERS=N: run the figures' cells and the claims on a Dask LocalCluster of N processes (default: serial)
WORKERS ?=
PAR    := $(if $(WORKERS),--workers $(WORKERS),)
# Two cores: run the tests in two worker processes; BLAS threads would only oversubscribe them.
JOBS   ?= 2
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: help venv test test-slow figures verify bench lint typecheck doctest check clean

help:
	@echo "make figures [QUICK=1] [WORKERS=N]  regenerate all figures + claims report (into $(OUT));"
	@echo "                         WORKERS=N: cells on N Dask worker processes, same numbers"
	@echo "make test                run the test suite (fast; CI runs this)"
	@echo "make test-slow           paper-scale claims and figures (pytest -m slow)"
	@echo "make verify [QUICK=1]    claims report only"
	@echo "make bench               performance benchmarks (ratios in one run)"
	@echo "make lint                ruff check"
	@echo "make typecheck           mypy on sim, theory, verify, paper_figures ([tool.mypy])"
	@echo "make doctest             the docstring examples of sim, theory, verify, paper_figures"
	@echo "make check               lint + typecheck + doctest + test (what CI runs)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -n $(JOBS)

figures: $(STAMP)
	$(BIN)/python -m paper_figures all $(MODE) $(PAR) --out $(OUT)
	$(BIN)/python -m verify run $(MODE) $(PAR) --json $(OUT)/claims.json

verify: $(STAMP)
	$(BIN)/python -m verify run $(MODE) $(PAR) --json $(OUT)/claims.json

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/python -m mypy

doctest: $(STAMP)
	$(BIN)/python -m pytest -q -n 0 --doctest-modules sim theory verify paper_figures

check: lint typecheck doctest test

clean:
	rm -rf $(OUT) benchmarks/out .pytest_cache .ruff_cache
