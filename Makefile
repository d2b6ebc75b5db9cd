# Everything a fresh clone needs, from python3 and make alone: a pinned uv in .bootstrap, then the locked env.
PYTHON ?= python3
UV_VERSION := 0.13.9
BOOTSTRAP := .bootstrap
UV := $(BOOTSTRAP)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync

.PHONY: setup check test lint audit bench clean browser

$(UV):
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

# The IAM evaluator the contract tests run (node); reinstalled only when its lock changes.
tools/iam/node_modules/.installed: tools/iam/package-lock.json tools/iam/package.json
	npm ci --prefix tools/iam --no-audit --no-fund
	touch $@

# tsc and @pulumi/pulumi's types for the TypeScript example (~100 MB, 30-80 s): not part of `setup`; its test
# (tests/package/test_typescript_example.py) runs this target on first use and whenever the lock changes.
examples/ts-network/node_modules/.installed: examples/ts-network/package-lock.json examples/ts-network/package.json
	npm ci --prefix examples/ts-network --no-audit --no-fund --ignore-scripts
	touch $@

# The HTML report's browser test drives Debian's chromium through Playwright (browser builds cannot be downloaded
# here): installed with apt-get when missing and possible (root, or sudo without a password). Where it is not, this
# warns and the test fails naming this target; it never skips. A prerequisite of `test` only: the deploy and
# rollback jobs run `make setup` and must not wait for a browser install.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "make browser: no chromium and no apt-get: install Chromium or set RAMPART_CHROMIUM" >&2; \
	elif [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
			|| echo "make browser: apt-get could not install chromium; the HTML report's browser test will fail" >&2; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		{ sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
			|| echo "make browser: apt-get could not install chromium; the HTML report's browser test will fail" >&2; \
	else echo "make browser: chromium missing and apt-get needs root: run 'sudo apt-get install chromium'" >&2; fi

setup: $(VENV)/.synced tools/iam/node_modules/.installed

## check: both stacks through the policy pack, offline (the main job). The project's stacks are deployed, so the
## gate previews them as existing stacks (every output known); plain `rampart check` shows a new stack's first preview.
check: setup
	$(RUN) rampart check --assume-existing

## test: the whole test suite
test: setup browser
	$(RUN) pytest -q -n 2 -p no:cacheprovider --durations=15

## lint: ruff, the workflow linters (actionlint, zizmor) and the secret scanner, as the pre-commit hooks run them
lint: setup
	$(RUN) ruff check .
	$(RUN) actionlint
	$(RUN) zizmor --offline --no-progress .github/workflows
	$(RUN) python tools/scan_secrets.py

## audit: known vulnerabilities in every locked dependency (uv.lock as resolved, all groups: the dev tools run in CI
## too), looked up in the OSV database; needs the network. uv's own audit reads the lock file directly, so the
## versions judged are exactly the ones `uv sync --frozen` installs (no export, no resolver in between).
audit: $(UV)
	$(UV) audit --frozen --preview-features audit-command

# The AWS CDK + cdk-nag peer app the benchmark compares against; installed for the benchmark only.
bench/cdk/node_modules/.installed: bench/cdk/package-lock.json bench/cdk/package.json
	npm ci --prefix bench/cdk --no-audit --no-fund
	touch $@

bench: setup bench/cdk/node_modules/.installed
	$(RUN) python bench/bench_check.py
	$(RUN) python bench/bench_peer.py

clean:
	rm -rf $(BOOTSTRAP) $(VENV)
