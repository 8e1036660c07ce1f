# Two commands matter: `make demo` runs Kuorum on a local control plane, `make test`
# runs every test. Both set up what they need (a virtualenv, the control-plane binaries).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup control-plane node image demo down test lint format crds bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,dev]'
	touch $@

setup: $(STAMP)

## control-plane: find or build etcd, kube-apiserver, kube-controller-manager (cached)
control-plane: $(STAMP)
	$(BIN)/python -m kuorum.devenv.binaries

## node: find or build kubelet, kube-scheduler, kube-proxy, containerd, CoreDNS (cached)
node: $(STAMP)
	$(BIN)/python -m kuorum.devenv.binaries --node

## image: build (or find) the pause, busybox and kuorum OCI archives, without Docker (cached)
image: $(STAMP)
	$(BIN)/python -m kuorum.devenv.images

## demo: the local cluster with every component, a secret, a pod that reads it, an audit
demo: control-plane
	$(BIN)/kuorum dev up
	KUORUM=$(BIN)/kuorum hack/demo.sh

down: $(STAMP)
	$(BIN)/kuorum dev down

## test: linters, then unit, integration and real-node tests (the last skip without root)
test: control-plane lint
	$(BIN)/pytest

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
