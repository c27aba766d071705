# quiesce.domino: `make demo` and `make test` on a machine with only Python 3.11.
# Each sets up its own virtual environment: `make demo` .venv from requirements.txt (what a controller
# needs), `make test` .venv-test from requirements-test.txt (that and the test, lint and build tools).

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TEST_VENV := .venv-test
TEST_BIN := $(TEST_VENV)/bin
BUILD := build
# Where `make demo` keeps its simulated fleet, the staged collection and the reports.
DEMO_BUILD ?= $(BUILD)
# ansible-test asks git which files exist: the staged copy must live outside this repository.
STAGE ?= $(or $(TMPDIR),/tmp)/quiesce-domino-stage
COLL := $(STAGE)/ansible_collections/quiesce/domino
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export ANSIBLE_NOCOLOR := 1
export PYTHONDONTWRITEBYTECODE := 1
PYTEST_WORKERS ?= 2
# pip's own lines, one per package, as they come (pip -q would be silent for a minute)
PIP_SHOW := { grep --line-buffered -E '^(Collecting|Successfully installed|ERROR)' || true; }

.PHONY: demo fleet-up fleet-down test unit integration sanity lint build-artifact importer stage clean venv \
	test-venv browser restic

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt meta/ee-requirements.txt
	@echo "Setting up $(VENV) with what a controller needs (requirements.txt: ansible-core, pywinrm, pypsrp);" \
	  "about a minute the first time."
	$(PYTHON) -m venv $(VENV)
	PYTHONUNBUFFERED=1 $(BIN)/python -m pip install --progress-bar off -r requirements.txt 2>&1 | $(PIP_SHOW)
	touch $@

test-venv: $(TEST_BIN)/.installed

$(TEST_BIN)/.installed: requirements-test.txt requirements.txt meta/ee-requirements.txt
	@echo "Setting up $(TEST_VENV) with the test, lint and build tools (requirements-test.txt)."
	$(PYTHON) -m venv $(TEST_VENV)
	PYTHONUNBUFFERED=1 $(TEST_BIN)/python -m pip install --progress-bar off -r requirements-test.txt 2>&1 | $(PIP_SHOW)
	touch $@

# The copy backend of the demo: robocopy (default) or restic (`make demo DEMO_BACKEND=restic`).
DEMO_BACKEND ?= robocopy

# restic only for the restic demo: the default demo needs nothing but Python 3.11.
demo: venv $(if $(filter restic,$(DEMO_BACKEND)),restic)
	$(BIN)/python tests/tools/demo.py --build $(DEMO_BUILD) --backend $(DEMO_BACKEND)

# The demo's simulated fleet again, for runs of your own (the demo prints the commands); a fleet is
# created first when there is none.  Uses the demo's venv as it is (made by `make demo` when missing).
fleet-up:
	@test -x $(BIN)/python || $(MAKE) --no-print-directory venv
	$(BIN)/python tests/tools/demo.py --build $(DEMO_BUILD) fleet-up

fleet-down:
	@test -x $(BIN)/python || $(MAKE) --no-print-directory venv
	$(BIN)/python tests/tools/demo.py --build $(DEMO_BUILD) fleet-down

test: unit integration sanity lint build-artifact importer

unit: test-venv
	$(TEST_BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/unit tests/sim

# The HTML report test renders the page in headless Chromium (Debian's package; CI runs as root).
# Not root: the command to run is printed instead (apt-get needs root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "chromium is missing: run 'sudo apt-get install chromium', then make again" >&2; exit 1; fi; \
	  echo "installing chromium for the HTML report test"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The twin runs the real restic for snapshot_copy backend=restic (Debian's package, 0.14.0 in bookworm).
restic:
	@command -v restic >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "restic is missing: run 'sudo apt-get install restic', then make again" >&2; exit 1; fi; \
	  echo "installing restic for the restic backend (the twin runs the real one)"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null; }

integration: test-venv browser restic
	$(TEST_BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/integration

stage: test-venv
	rm -rf $(STAGE)
	$(TEST_BIN)/python tests/tools/stage_collection.py $(STAGE) >/dev/null

sanity: stage
	$(TEST_BIN)/python tests/tools/ansible_test_pip_stub.py >/dev/null
	cd $(COLL) && PATH="$(CURDIR)/$(TEST_BIN):$$PATH" ansible-test sanity --venv --python 3.11 --color no

lint: stage
	cd $(COLL) && PATH="$(CURDIR)/$(TEST_BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(STAGE)" ansible-lint --profile production --offline

build-artifact: stage
	cd $(COLL) && PATH="$(CURDIR)/$(TEST_BIN):$$PATH" ansible-galaxy collection build --force --output-path $(CURDIR)/$(BUILD)

# Galaxy's own import checks (docs via ansible-doc, role READMEs, ansible-lint) on the built artifact.
importer: build-artifact
	rm -rf $(BUILD)/importer && mkdir -p $(BUILD)/importer
	cd $(BUILD)/importer && PATH="$(CURDIR)/$(TEST_BIN):$$PATH" $(CURDIR)/$(TEST_BIN)/python -m galaxy_importer.main \
	  $(CURDIR)/$(BUILD)/quiesce-domino-$(VERSION).tar.gz \
	  | tee importer.log | grep -v '^Loading '
	grep -q 'Importer processing completed successfully' $(BUILD)/importer/importer.log
	! grep -E '^(WARNING|ERROR)' $(BUILD)/importer/importer.log

clean:
	-test -x $(BIN)/python && $(BIN)/python tests/tools/demo.py --build $(DEMO_BUILD) fleet-down
	rm -rf $(BUILD) tests/output
