# The two commands a newcomer needs: `make dev` and `make test`. Everything else is a step of those,
# or of deploying (`make build`, then `sam deploy --guided`; see docs/deploy.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed
ST_STAMP := $(VENV)/.schemathesis-installed
export MOTO_SERVER := $(VENV_BIN)/moto_server
# SAM CLI would otherwise try to send telemetry, and this machine has no network for it.
export SAM_CLI_TELEMETRY := 0

# The Lambda architecture `make build` compiles for: arm64, or x86_64 where the aarch64 Rust
# target cannot be had. Deploy with the same value: --parameter-overrides Architecture=$(ARCH).
ARCH ?= arm64

.PHONY: help test dev venv toolchain fmt-check clippy unit lint-template build browser-deps schemathesis fuzz bench bench-variants bench-compare stack-policy

help:
	@echo "make dev    run the API locally (moto + local API Gateway) and print a curl walk-through"
	@echo "make test   the full test suite: formatting, lints, template checks, unit and end-to-end tests"

## The Python tools (moto, SAM CLI, cfn-lint, cargo-lambda, zig) live in a venv under the repo.
venv: $(STAMP)
$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Schemathesis has its own requirements file, so that `make dev` does not install it.
$(ST_STAMP): requirements-schemathesis.txt $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-schemathesis.txt
	touch $@

## rustfmt and clippy, if the toolchain lacks them; and the system OpenSSL the local Cognito's
## passkey checks link (webauthn-rs), from Debian's libssl-dev, if the machine lacks it.
toolchain:
	@command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	@pkg-config --exists openssl 2>/dev/null || { $(SUDO) apt-get update \
	  && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends libssl-dev pkg-config; }

fmt-check: toolchain
	cargo fmt --all -- --check

## checkov, in a venv of its own (its boto3 pin conflicts with SAM CLI's).
CHECKOV_STAMP := $(VENV)/checkov/.installed
$(CHECKOV_STAMP): requirements-checkov.txt $(STAMP)
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## template.yaml, offline and with no credentials: cfn-lint with its informational checks and
## AWS's serverless rules (.cfnlintrc.yaml), SAM's own validation, checkov (.checkov.yaml), and
## the transformed template's firewall, retention and secrets. Each config file lists the
## checks it skips, with the reason. sam validate wants a region, and only AWS_DEFAULT_REGION
## will do.
lint-template: venv $(CHECKOV_STAMP)
	$(VENV_BIN)/cfn-lint
	AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}" $(VENV_BIN)/sam validate --lint
	$(VENV)/checkov/bin/checkov --config-file .checkov.yaml --file template.yaml --skip-download
	AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}" $(VENV_BIN)/python scripts/check-transformed-template.py

clippy: toolchain
	cargo clippy --workspace --all-targets -- -D warnings

## The whole API on this machine: moto + the local API Gateway twin, and the demo page (web/) on
## an origin of its own. MOTO_PORT / API_PORT / WEB_PORT move them; ALLOWED_ORIGIN='*' opens the
## API to any origin.
dev: venv toolchain
	cargo build -p local-api
	MOTO_PORT=$(or $(MOTO_PORT),5050) API_PORT=$(or $(API_PORT),3000) WEB_PORT=$(or $(WEB_PORT),8080) ./scripts/dev

## The browser test's tools: Debian's chromium (apt-get, as root or through sudo) and
## playwright-core from tests/browser/package-lock.json (npm ci; it never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps: $(CHROMIUM) tests/browser/node_modules/.package-lock.json
$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium
tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

## Includes tests/e2e/template.rs, the template's wiring against the workspace and events/, and
## tests/e2e/browser.rs, the demo page in Chromium.
unit: venv toolchain browser-deps
	@# Unoptimised, an async test holds large futures on its stack: 8 MB, a main thread's, not 2.
	RUST_MIN_STACK=8388608 cargo test --workspace

## Property-based requests from openapi.yaml against the local API with moto behind it: no 5xx,
## no answer the spec does not describe. SCHEMATHESIS_EXAMPLES / SCHEMATHESIS_MAX_TIME bound it.
schemathesis: $(ST_STAMP) toolchain
	cargo build -p local-api
	$(VENV_BIN)/python scripts/schemathesis.py

test: fmt-check lint-template clippy unit schemathesis

## Not part of `make test`: coverage-guided fuzzing of the request-parsing entry points. Needs a
## nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). FUZZ_SECONDS bounds each target.
FUZZ_SECONDS ?= 120
fuzz:
	cd fuzz && for t in lambda_event json_body; do \
	  cargo +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## sam build: one bootstrap per function under .aws-sam/build/. SAM finds cargo-lambda and zig
## only on PATH, so the venv goes first.
build: venv toolchain
	@if [ "$(ARCH)" = arm64 ] && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
	    && ! rustup target add aarch64-unknown-linux-gnu; then \
	  echo "The aarch64 Rust target cannot be installed here. Build for x86_64 instead:"; \
	  echo "  make build ARCH=x86_64, then sam deploy --parameter-overrides Architecture=x86_64"; \
	  exit 1; \
	fi
	PATH="$(VENV_BIN):$$PATH" $(VENV_BIN)/sam build --parameter-overrides Architecture=$(ARCH)
	@PATH="$(VENV_BIN):$$PATH" ./scripts/check-bootstraps $(ARCH)
ifneq ($(ARCH),arm64)
	@echo "Built for $(ARCH): deploy with sam deploy --parameter-overrides Architecture=$(ARCH)"
endif

## After the first `sam deploy` (and whenever stack-policy.json changes): CloudFormation refuses,
## from then on, every update that would replace or delete the user pool or a table. STACK names
## the stack (samconfig.toml's stack_name by default).
STACK ?= $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -n 1)
stack-policy:
	aws cloudformation set-stack-policy --stack-name "$(STACK)" \
	  --stack-policy-body file://stack-policy.json
	@echo "$(STACK): updates that would replace or delete the pool or a table are refused (docs/deploy.md)"

## `make bench` (not part of `make test`): the release binaries, run by bench/ as Lambda runs them
## against moto on loopback; Criterion's micro-benchmarks; bench/results/{report.md,chart.png}.
## The functions are those template.yaml builds. BENCH_RUNS cold starts each, BENCH_WARM warm
## invocations after each.
BENCH_RUNS ?= 20
BENCH_WARM ?= 10
VARIANT_ROUNDS ?= 12
BENCH_BINS = $(shell awk '/^        Binary: /{print $$2}' template.yaml)
BENCH = target/release/lambda-bench
bench: venv toolchain $(VENV)/.bench-installed
	cargo bench -p platform -p auth -p books -p local-api --bench '*' -- --warm-up-time 1 --measurement-time 3
	cargo build --profile bench -p lambda-bench
	@# After `cargo bench`, which leaves bench-profile builds of the functions in target/release.
	cargo build --release $(addprefix -p ,$(BENCH_BINS))
	@if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
	    || rustup target add aarch64-unknown-linux-gnu; then \
	  for fmt in binary zip; do PATH="$(VENV_BIN):$$PATH" cargo lambda build --release --arm64 \
	    --output-format $$fmt $(addprefix -p ,$(BENCH_BINS)) || exit 1; done; \
	else echo "No aarch64 target here: the report has x86_64 sizes only."; fi
	$(BENCH) run --runs $(BENCH_RUNS) --warm $(BENCH_WARM)
	$(BENCH) run --label no-prewarm --set PREWARM_CONNECTIONS=false --runs $(BENCH_RUNS) --warm $(BENCH_WARM)
	$(BENCH) run --label backend-refused --backend refused --init-only --runs $(BENCH_RUNS)
	$(BENCH) run --label backend-silent --backend silent --init-only --runs 5
	$(BENCH) report
	$(VENV_BIN)/python bench/chart.py bench/results

## The release profile against the settings it was chosen over (bench/results/variants.md), on
## confirm and books. Not part of `make bench`: each variant is a release build of its own.
bench-variants: venv toolchain
	cargo build --profile bench -p lambda-bench
	$(VENV_BIN)/python bench/variants.py $(VARIANT_ROUNDS)

## This tree's functions against the same functions at BASE (a git revision), in interleaved
## rounds (bench/results/compare.md): for code changes that must not cost init, time or memory.
BASE ?= HEAD~1
COMPARE_ROUNDS ?= 8
bench-compare: venv toolchain
	cargo build --profile bench -p lambda-bench
	$(VENV_BIN)/python bench/compare.py $(BASE) $(COMPARE_ROUNDS)

$(VENV)/.bench-installed: requirements-bench.txt $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@
