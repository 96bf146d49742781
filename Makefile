# The two commands of the README: `make up` (main job on the local national DC) and `make test`.
# Everything runs from the project's venv; binaries come from `pdn toolchain build` (cached in
# ~/.cache/pdn, outside the clone), state lives in ~/.local/state/pdn.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= local

.PHONY: up down test lint unit integration toolchain status dc-status bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	timeout 900 $(BIN)/pip install --disable-pip-version-check --quiet -e '.[dev]'
	touch $@

toolchain: $(VENV)/.installed
	$(BIN)/pdn toolchain build

status: $(VENV)/.installed
	$(BIN)/pdn toolchain status

up: $(VENV)/.installed
	$(BIN)/pdn up --stack local

down: $(VENV)/.installed
	$(BIN)/pdn down --stack local

dc-status: $(VENV)/.installed
	$(BIN)/pdn dc status

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

integration: toolchain
	$(BIN)/pytest tests/integration

test: lint unit integration

bench: toolchain
	$(BIN)/python benchmarks/run.py --write-readme
