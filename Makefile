# endpoint-relay: every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13; use it for the venvs and for `sam build`.
PYTHON313 ?= $(shell for p in "$$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13" $$HOME/.pyenv/versions/3.13*/bin/python3.13 \
	/usr/local/bin/python3.13 /usr/bin/python3.13; do [ -x "$$p" ] && "$$p" -c "" 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
# sam needs the runtime's python on PATH; fake credentials keep local tools off any real account.
LOCAL_AWS := AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	SAM_CLI_TELEMETRY=0 PATH="$(dir $(PYTHON313)):$$PATH"

.PHONY: help setup test lint typecheck unit integration template build demo serve bench soak clean security reliability-report

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements-dev.txt src/requirements.txt
	@test -x "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13.0) or set PYTHON313=" >&2; exit 1; }
	"$(PYTHON313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.stamp: requirements-sam.txt
	"$(PYTHON313)" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

setup: $(VENV)/.stamp $(SAM_VENV)/.stamp ## create both venvs with the pinned tools

lint: $(VENV)/.stamp ## ruff lint and format check
	$(VENV)/bin/ruff check src tests devstack benchmarks tools
	$(VENV)/bin/ruff format --check src tests devstack benchmarks tools

typecheck: $(VENV)/.stamp ## mypy, strict
	$(VENV)/bin/mypy

unit: $(VENV)/.stamp ## the pure-core tests: no network, no AWS
	$(PY) -m pytest tests/unit -q

integration: $(VENV)/.stamp ## handler and adapters against moto server and local simulators
	$(PY) -m pytest tests/integration -q

template: $(VENV)/.stamp $(SAM_VENV)/.stamp ## cfn-lint and sam validate --lint on template.yaml
	$(VENV)/bin/cfn-lint template.yaml
	$(LOCAL_AWS) $(SAM) validate --lint --template-file template.yaml
	$(LOCAL_AWS) $(SAM) validate --template-file template.yaml  # the SAM transform itself, as deploy runs it

# The official SDKs' own venvs (2.x speaks v1, 3.x v2): tests/integration/test_sdk_compat.py runs each against the relay.
SDK_VENVS := .venv-sdk2 .venv-sdk3
.venv-sdk%/.stamp: tests/sdk/requirements-sdk%.txt
	@test -x "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13.0) or set PYTHON313=" >&2; exit 1; }
	"$(PYTHON313)" -m venv .venv-sdk$*
	.venv-sdk$*/bin/python -m pip install --quiet --upgrade pip
	.venv-sdk$*/bin/python -m pip install --quiet -r $<
	touch $@

test: lint typecheck template security $(SDK_VENVS:%=%/.stamp) ## set everything up, lint, type-check, scan and run the whole suite
	RELIABILITY_FIGURES=1 $(PY) -m pytest -q
	@$(PY) -m tests.reliability.report

# A pruned package zips to under 5 MB (src/Makefile); the budget catches a dependency that brings back bulk.
PACKAGE_ZIP_BUDGET_MB ?= 6

build: $(SAM_VENV)/.stamp ## sam build, without a container; prints each function's package size
	$(LOCAL_AWS) $(SAM) build --template-file template.yaml
	@# Each function's package must carry bytecode (Lambda cannot write it, so without it every cold start
	@# recompiles) and stay within its zip budget; prints each one's zipped and unzipped size.
	@"$(PYTHON313)" tools/package_size.py .aws-sam/build --max-zip-mb $(PACKAGE_ZIP_BUDGET_MB)

# demo and serve start moto server, the Together simulator and a Slack receiver on 127.0.0.1 (see devstack/).
demo: $(VENV)/.stamp ## the relay end to end on a local stack, in under a minute: no AWS, Docker or internet
	PYTHONPATH=src exec $(PY) -m devstack.demo

serve: $(VENV)/.stamp ## the local stack, left running: the relay's HTTP API on 127.0.0.1 (RELAY_PORT, 3000)
	PYTHONPATH=src exec $(PY) -m devstack.serve

# The benchmarks' own venv: the relay's runtime pins plus the peer's Together SDK; never in the Lambda package.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.stamp: benchmarks/requirements.txt src/requirements.txt
	@test -x "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13.0) or set PYTHON313=" >&2; exit 1; }
	"$(PYTHON313)" -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements.txt
	touch $@

# After build: the package's size and a cold start from it, unpacked read-only, are rows of their own.
bench: $(BENCH_VENV)/.stamp build ## benchmarks vs the floor and the Together SDK: prints a table, writes benchmarks/results.json
	PYTHONPATH=src $(BENCH_VENV)/bin/python -m benchmarks.run

# The security scanners' own venv: their pins never move the dev tools' (requirements-security.txt).
SECURITY_VENV := .venv-security
$(SECURITY_VENV)/.stamp: requirements-security.txt
	@test -x "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13.0) or set PYTHON313=" >&2; exit 1; }
	"$(PYTHON313)" -m venv $(SECURITY_VENV)
	$(SECURITY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SECURITY_VENV)/bin/python -m pip install --quiet -r requirements-security.txt
	touch $@

security: $(VENV)/.stamp $(SECURITY_VENV)/.stamp ## bandit on src/, pip-audit on the runtime pins, cfn-lint serverless rules
	$(PY) -m tests.reliability.security_scan --tools $(SECURITY_VENV)/bin

# Bounded and loopback-only like make test, just longer: it stops by itself (about 6 minutes on 2 cores).
soak: $(VENV)/.stamp ## the long runs: 20,000 hostile cases per property, a 60 s load with 16 clients
	RELIABILITY_SOAK=1 RELIABILITY_FIGURES=1 $(PY) -m pytest -q tests/integration/test_hostile_input.py tests/load
	@$(PY) -m tests.reliability.report

reliability-report: $(VENV)/.stamp ## the figures of the latest test/soak run; puts them in docs/reliability.md between its markers
	$(PY) -m tests.reliability.report --page docs/reliability.md

clean: ## remove venvs and build output
	rm -rf $(VENV) $(SAM_VENV) $(BENCH_VENV) $(SECURITY_VENV) $(SDK_VENVS) reports .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
