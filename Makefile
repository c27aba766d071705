# quiesce.domino: `make demo` and `make test` on a machine with only Python 3.11.
# Each target sets up its own virtual environment from requirements.txt.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BUILD := build
# ansible-test asks git which files exist: the staged copy must live outside this repository.
STAGE ?= $(or $(TMPDIR),/tmp)/quiesce-domino-stage
COLL := $(STAGE)/ansible_collections/quiesce/domino
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export ANSIBLE_NOCOLOR := 1
export PYTHONDONTWRITEBYTECODE := 1
PYTEST_WORKERS ?= 2

.PHONY: demo test unit integration sanity lint build-artifact importer stage clean venv browser

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt meta/ee-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | { grep -v 'is ignored: it is neither a file' || true; }
	touch $@

demo: venv
	$(BIN)/python tests/tools/demo.py

test: unit integration sanity lint build-artifact importer

unit: venv
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/unit tests/sim

# The HTML report test renders the page in headless Chromium (Debian's package; CI runs as root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for the HTML report test"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

integration: venv browser
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/integration

stage: venv
	rm -rf $(STAGE)
	$(BIN)/python tests/tools/stage_collection.py $(STAGE) >/dev/null

sanity: stage
	$(BIN)/python tests/tools/ansible_test_pip_stub.py >/dev/null
	cd $(COLL) && PATH="$(CURDIR)/$(BIN):$$PATH" ansible-test sanity --venv --python 3.11 --color no

lint: stage
	cd $(COLL) && PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(STAGE)" ansible-lint --profile production --offline

build-artifact: stage
	cd $(COLL) && PATH="$(CURDIR)/$(BIN):$$PATH" ansible-galaxy collection build --force --output-path $(CURDIR)/$(BUILD)

# Galaxy's own import checks (docs via ansible-doc, role READMEs, ansible-lint) on the built artifact.
importer: build-artifact
	rm -rf $(BUILD)/importer && mkdir -p $(BUILD)/importer
	cd $(BUILD)/importer && PATH="$(CURDIR)/$(BIN):$$PATH" $(CURDIR)/$(BIN)/python -m galaxy_importer.main \
	  $(CURDIR)/$(BUILD)/quiesce-domino-$(VERSION).tar.gz \
	  | tee importer.log | grep -v '^Loading '
	grep -q 'Importer processing completed successfully' $(BUILD)/importer/importer.log
	! grep -E '^(WARNING|ERROR)' $(BUILD)/importer/importer.log

clean:
	rm -rf $(BUILD) tests/output
