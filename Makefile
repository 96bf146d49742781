# The two commands of the README: `make up` (main job on the local national DC) and `make test`.
# Everything runs from the project's venv; binaries come from `pdn toolchain build` (cached in
# ~/.cache/pdn, outside the clone), state lives in ~/.local/state/pdn.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= local

.PHONY: up down test lint unit integration toolchain status dc-status bench bench-scale constraints

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	timeout 900 $(BIN)/pip install --disable-pip-version-check --quiet -c constraints.txt -e '.[dev]'
	touch $@

# After a change of pyproject.toml: re-pin every transitive dependency.
constraints: $(VENV)/.installed
	{ sed -n '1,2p' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

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

bench-scale: toolchain
	$(BIN)/python benchmarks/site_scale.py --write-readme
