# Hilo: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CODE   := hilo schemas services tests bench deploy/tools

.PHONY: run test lint deploy-lint manifests bench eval install system-deps clean

run: install
	$(BIN)/hilo up

test: install system-deps lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy $(CODE)
	$(BIN)/lint-imports
	$(BIN)/python -m hilo.deploy_files --check
	$(BIN)/python -m hilo.asyncapi --check
	$(MAKE) --no-print-directory deploy-lint

# deploy/, offline: the Dockerfile, every manifest rendered and validated, the compose file.
deploy-lint: install
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/python -m deploy.tools.check
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml

# What deploy/ repeats per service, written from the service registry.
manifests: install
	$(BIN)/python -m deploy.tools.manifests

bench: install system-deps
	@set -e; for script in bench/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script; echo; \
	done

eval: install
	$(BIN)/python -m services.analyzer.evaluate data/analysis-dev.jsonl

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# espeak-ng makes the speech the transcriber's tests and benchmark listen to.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; \
		else \
			echo "please install espeak-ng (Debian/Ubuntu: sudo apt-get install espeak-ng)"; exit 1; \
		fi; }

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
