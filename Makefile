# One command for each job; CI runs `make test` unchanged. Every target installs what it
# needs on first use (a Python venv in .venv, the pinned CDK CLI in node_modules).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Sample IDs for synth in tests and CI; real deploys pass their own (see README).
SAMPLE_CONTEXT := -c primaryInstanceId=i-0123456789abcdef0 -c standbyInstanceId=i-0fedcba9876543210 \
	-c eniId=eni-0123456789abcdef0 -c notifyEmail=ops@example.com
# The same pair probed, with a trigger alarm (issue 10's done-when command): the prober, its
# VPC wiring and the alarm rule get synthesized, nagged and linted too.
PROBED_CONTEXT := $(SAMPLE_CONTEXT) -c probe=tcp:443 -c vpcId=vpc-0123456789abcdef0 \
	-c probeSubnetIds=subnet-0123456789abcdef0 -c triggerAlarms=web-unhealthy
PROBED_OUT := cdk.out.probed
# Automatic failback and fencing (issue 11's done-when command): the fence policy, scoped to
# the pair's instance ARNs, gets synthesized, nagged and linted too.
FENCED_CONTEXT := $(SAMPLE_CONTEXT) -c failback=auto -c fence=stop
FENCED_OUT := cdk.out.fenced
# A fleet (issue 13's done-when command): 200 pairs and pairs discovered by tags in one
# stack, synthesized, nagged and linted; the sample pairs come from bench.synth_time.
FLEET_CONTEXT = -c notifyEmail=ops@example.com -c discovery=tags \
	-c pairs="$$($(PY) -m bench.synth_time --context 200)"
FLEET_OUT := cdk.out.fleet
# Sixty trigger alarms (issue 18's done-when command): their rules and DescribeAlarms
# policies, split to fit EventBridge's and IAM's limits, get synthesized, nagged and linted.
ALARMED_CONTEXT = $(SAMPLE_CONTEXT) \
	-c triggerAlarms=$$(seq -s, -f 'checkout-service-%02g-unhealthy-host-count' 1 60)
ALARMED_OUT := cdk.out.alarmed
# Routes and an Elastic IP, no interface (issue 19's done-when command): ReplaceRoute on the
# two route tables and AssociateAddress on the allocation get synthesized, nagged and linted.
ROUTED_CONTEXT := -c primaryInstanceId=i-0123456789abcdef0 -c standbyInstanceId=i-0fedcba9876543210 \
	-c routeTableIds=rtb-0123456789abcdef0,rtb-0fedcba9876543210 -c routeCidrs=0.0.0.0/0 \
	-c eipAllocationIds=eipalloc-0123456789abcdef0 -c notifyEmail=ops@example.com
ROUTED_OUT := cdk.out.routed

# jsii prints a banner about Node 20 being past end of life unless told the major version.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup lint typecheck unit pytest synth cfn-lint test demo bench sandbox sandbox-down clean

# The first run installs for minutes with pip and npm quiet: say what, and why it takes time.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@echo "setup: installing the pinned Python packages into $(VENV): about 3 minutes the first"
	@echo "       time (the CDK libraries, moto and the test tools are large), then only on changes"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@
	@echo "setup: Python packages installed"

node_modules/.installed: package.json package-lock.json
	@echo "setup: installing the pinned CDK CLI into node_modules (npm ci; first run: about a minute)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@
	@echo "setup: CDK CLI installed"

setup: $(VENV)/.installed node_modules/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy lambda/eni_failover eni_failover_cdk app.py eni_failover_ec2sim eni_failover_emulator \
		eni_failover_cli bench tests

pytest: setup
	$(VENV)/bin/pytest

synth: setup
	rm -rf cdk.out $(PROBED_OUT) $(FENCED_OUT) $(FLEET_OUT) $(ALARMED_OUT) $(ROUTED_OUT)
	npx cdk synth --quiet $(SAMPLE_CONTEXT) > /dev/null
	npx cdk synth --quiet --output $(PROBED_OUT) $(PROBED_CONTEXT) > /dev/null
	npx cdk synth --quiet --output $(FENCED_OUT) $(FENCED_CONTEXT) > /dev/null
	npx cdk synth --quiet --output $(FLEET_OUT) $(FLEET_CONTEXT) > /dev/null
	npx cdk synth --quiet --output $(ALARMED_OUT) $(ALARMED_CONTEXT) > /dev/null
	npx cdk synth --quiet --output $(ROUTED_OUT) $(ROUTED_CONTEXT) > /dev/null

cfn-lint: synth
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json $(PROBED_OUT)/*.template.json \
		$(FENCED_OUT)/*.template.json $(FLEET_OUT)/*.template.json $(ALARMED_OUT)/*.template.json \
		$(ROUTED_OUT)/*.template.json

test: lint typecheck pytest cfn-lint

demo: setup
	@echo "demo: starting the drill on the embedded emulator (about a minute)"
	$(PY) -m eni_failover_emulator.drill

bench: setup
	$(PY) -m bench
	$(PY) -m bench.address_report
	$(PY) -m bench.failback
	$(PY) -m bench.synth_time

# A local AWS stand-in with one pair deployed, for trying the eni-failover commands.
sandbox: setup
	$(PY) -m eni_failover_cli sandbox up --background

sandbox-down: setup
	$(PY) -m eni_failover_cli sandbox down

clean:
	rm -rf cdk.out $(PROBED_OUT) $(FENCED_OUT) $(FLEET_OUT) $(ALARMED_OUT) $(ROUTED_OUT) .pytest_cache .mypy_cache .ruff_cache
