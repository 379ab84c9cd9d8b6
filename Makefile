# Hilo: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The tested versions of every dependency of every extra, with hashes (`make lock` writes it).
LOCK   := requirements.lock
CODE   := hilo schemas services tests bench fuzz chaos deploy/tools
# The web app's browser libraries (htmx, Chart.js; axe-core for the tests), from npm.
WEB       := services/inbox/web
WEB_STAMP := $(WEB)/node_modules/.installed-stamp

.PHONY: run test lint audit deploy-lint manifests bench eval fuzz chaos install lock lock-upgrade system-deps browser-deps clean

run: install
	$(BIN)/hilo up

test: install system-deps browser-deps lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy $(CODE)
	$(BIN)/lint-imports
	$(BIN)/python -m hilo.deploy_files --check
	$(BIN)/python -m hilo.asyncapi --check
	$(MAKE) --no-print-directory deploy-lint
	$(MAKE) --no-print-directory audit

# deploy/, offline: the Dockerfile, every manifest rendered and validated, the compose file.
deploy-lint: install
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/python -m deploy.tools.check
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml

# What deploy/ repeats per service, written from the service registry.
manifests: install
	$(BIN)/python -m deploy.tools.manifests

# Known vulnerabilities in the locked set (PyPI's advisory data). A package that cannot be
# looked up is listed as skipped; a known vulnerability fails. Ignores, with their reasons,
# go in AUDIT_IGNORE as `--ignore-vuln ID` (none today).
AUDIT_IGNORE :=
audit: install
	$(BIN)/pip-audit --requirement $(LOCK) --require-hashes --disable-pip --progress-spinner off $(AUDIT_IGNORE)

bench: install system-deps
	@set -e; for script in bench/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script; echo; \
	done

# Generated (schemathesis) and hand-written hostile requests against every HTTP service:
# prints requests tried, 5xx, hung requests and events published by invalid requests.
fuzz: install
	$(BIN)/python fuzz/run.py

# Mixed traffic through `hilo up` while kill -9 hits every service, a PostgreSQL backend,
# PostgreSQL and NATS in turn; prints messages, kills, lost, doubled, out of order, time.
# `make chaos N=1000` for a shorter run (default 10,000; CHAOS_MESSAGES, CHAOS_SEED too).
chaos: install
	CHAOS_MESSAGES=$(or $(N),$(CHAOS_MESSAGES),10000) $(BIN)/python chaos/run.py

eval: install
	$(BIN)/python -m services.analyzer.evaluate data/analysis-dev.jsonl

install: $(STAMP) $(WEB_STAMP)

# The locked versions first, each checked against its hash; then the project itself
# (editable), whose requirements they already satisfy. A requirement added to pyproject.toml
# since the last `make lock` still installs (unpinned) until the lock is regenerated.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Regenerate the lock from pyproject.toml (every extra): versions already locked are kept,
# new requirements are resolved. `make lock-upgrade` moves everything to the newest allowed.
LOCK_FLAGS :=
lock:
	@test -x $(BIN)/pip-compile || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet pip-tools; }
	$(BIN)/pip-compile --quiet --all-extras --generate-hashes --strip-extras \
		--unsafe-package hilo --no-emit-index-url --no-emit-find-links \
		$(LOCK_FLAGS) --output-file $(LOCK) pyproject.toml

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else \
			echo "please install Node.js and npm (Debian/Ubuntu: sudo apt-get install nodejs npm)"; exit 1; \
		fi; }
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	touch $@

# The web app's browser tests drive Debian's chromium (Playwright cannot download one here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "please install chromium (Debian/Ubuntu: sudo apt-get install chromium)"; exit 1; \
		fi; }

# espeak-ng makes the speech the transcriber's tests and benchmark listen to.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; \
		else \
			echo "please install espeak-ng (Debian/Ubuntu: sudo apt-get install espeak-ng)"; exit 1; \
		fi; }

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules
