# Two commands matter: `make demo` runs Kuorum on a local control plane, `make test`
# runs every test. Both set up what they need (a virtualenv, the control-plane binaries).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup control-plane demo down test test-kind lint format crds bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,dev]'
	touch $@

setup: $(STAMP)

## control-plane: find or build etcd, kube-apiserver, kube-controller-manager (cached)
control-plane: $(STAMP)
	$(BIN)/python -m kuorum.devenv.binaries

## demo: the local control plane with every component, a secret, an injected pod, an audit
demo: control-plane
	$(BIN)/kuorum dev up
	KUORUM=$(BIN)/kuorum hack/demo.sh

down: $(STAMP)
	$(BIN)/kuorum dev down

## test: linters, then unit and integration tests (the kind suite skips without Docker)
test: control-plane lint
	$(BIN)/pytest

test-kind: $(STAMP)
	$(BIN)/pytest tests/kind -m kind

lint: $(STAMP)
	$(BIN)/python -m kuorum.models --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## crds: regenerate crds/*.yaml from kuorum/models (the one source of truth)
crds: $(STAMP)
	$(BIN)/python -m kuorum.models

bench: $(STAMP)
	$(BIN)/python bench/sharing.py

clean:
	rm -rf $(VENV) .kuorum-dev .pytest_cache .mypy_cache .ruff_cache .hypothesis
