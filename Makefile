# The two commands a newcomer needs: `make dev` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PYTHON  ?= python3
STAMP   := $(VENV)/.installed
export MOTO_SERVER := $(CURDIR)/$(VENV)/bin/moto_server

.PHONY: help test dev venv toolchain fmt-check clippy unit

help:
	@echo "make dev    run the API locally (moto + local API Gateway) and print a curl walk-through"
	@echo "make test   the full test suite: formatting, lints, unit and end-to-end tests"

## The Python tools (moto) live in a venv under the repo.
venv: $(STAMP)
$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## rustfmt and clippy, if the toolchain lacks them.
toolchain:
	@command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

fmt-check: toolchain
	cargo fmt --all -- --check

clippy: toolchain
	cargo clippy --workspace --all-targets -- -D warnings

unit: venv toolchain
	cargo test --workspace

test: fmt-check clippy unit
