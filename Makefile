# The two commands of the README: `make up` (main job on the local national DC) and `make test`.
# Everything runs from the project's venv; binaries come from `pdn toolchain build` (cached in
# ~/.cache/pdn, outside the clone), state lives in ~/.local/state/pdn.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= local

.PHONY: up down test lint unit integration toolchain status dc-status bench bench-scale bench-tenants bench-backups bench-clusters bench-discovery bench-compliance bench-sso bench-gis lock

# Dependencies only from requirements.lock, each file checked against its sha256, nothing
# resolved; then the project itself, without dependencies and without a build environment.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	timeout 900 $(BIN)/pip install --disable-pip-version-check --quiet --require-hashes --no-deps -r requirements.lock
	timeout 300 $(BIN)/pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

# After a change of pyproject.toml: install its pins, then re-lock every transitive dependency.
lock: $(VENV)/.installed
	timeout 900 $(BIN)/pip install --disable-pip-version-check --quiet -e '.[dev]'
	$(BIN)/python scripts/lock_requirements.py

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
	cd playbooks && PATH="$(abspath $(BIN)):$$PATH" ../$(BIN)/yamllint --strict .
	cd playbooks && PATH="$(abspath $(BIN)):$$PATH" ANSIBLE_COLLECTIONS_PATH="$$PWD/collections" \
		../$(BIN)/ansible-lint --nocolor -q

# Unit tests need neither Go nor iproute2 (tests/unit/conftest.py runs them on a bare PATH).
unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

# pdn's own Go program (the GIS feature front): vet and unit tests, with the Go that builds it.
unit-go: toolchain
	cd toolchain/pdn-features && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go vet ./... \
		&& GOTOOLCHAIN=local GOFLAGS=-mod=readonly go test -count=1 ./...

# The slowest tests are listed at the end: the suite is most of a CI run's time.
integration: toolchain
	$(BIN)/pytest --durations=20 tests/integration

test: lint unit unit-go integration

bench: toolchain
	$(BIN)/python benchmarks/run.py --write-readme

bench-scale: toolchain
	$(BIN)/python benchmarks/site_scale.py --write-readme

bench-tenants: toolchain
	$(BIN)/python benchmarks/tenant_fleet.py --write-readme

bench-backups: toolchain
	$(BIN)/python benchmarks/backups.py --write-readme

bench-clusters: toolchain
	$(BIN)/python benchmarks/clusters.py --write-readme

# Needs no toolchain: the estate's hosts and Ansible.
bench-discovery: $(VENV)/.installed
	$(BIN)/python benchmarks/discovery.py --write-readme

# A scratch DC with the example tenants and a scratch estate (~10 min).
bench-compliance: $(VENV)/.installed
	$(BIN)/python benchmarks/compliance.py --write-readme

# A scratch DC's Keycloak under concurrent logins and grants (~3 min).
bench-sso: toolchain
	$(BIN)/python benchmarks/sso.py --write-readme

bench-gis: toolchain
	$(BIN)/python benchmarks/gis.py --write-readme

bench-migration: toolchain
	$(BIN)/python benchmarks/migration.py --write-readme
