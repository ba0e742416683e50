# mcp-blackbox — every target does its own set-up on a fresh machine.
#   make test    venv + install (all extras, dev group) + Kafka 4.3.1 jars, then ruff, mypy, pytest
#   make demo    venv + install of what the demo needs ([demo] extra; the dev venv if it exists), then the incident
#   make bench   the benchmarks (not part of `make test`)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export MCP_BLACKBOX_CACHE ?= $(CURDIR)/.cache
PYTEST_ARGS ?=

.PHONY: test demo setup kafka-jars npm-servers lint typecheck bench clean eval eval-servers

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip>=25.1'
	$(PY) -m pip install -q -e '.[all]' --group dev
	touch $@

setup: $(VENV)/.installed

kafka-jars: setup
	$(PY) tests/kafka_harness.py fetch

# The pinned npm MCP servers the tests run (samples/thirdparty.py), once per cache dir: in CI a missing
# npm server fails its test instead of skipping it, so `make test` installs them first.
npm-servers: setup
	$(PY) -m samples.thirdparty

lint: setup
	$(VENV)/bin/ruff check .

# mypy checks the package as it installs (a non-editable build of this checkout, without dependencies,
# under .cache/mypy-site): setuptools' editable finder maps cli/ → mcp_blackbox and so on at import time,
# which mypy cannot follow. Errors name the installed path: mcp_blackbox/forensics/x.py is forensics/x.py.
typecheck: setup
	rm -rf build $(MCP_BLACKBOX_CACHE)/mypy-site
	$(PY) -m pip install -q --no-deps --no-compile --target $(MCP_BLACKBOX_CACHE)/mypy-site .
	cd $(MCP_BLACKBOX_CACHE)/mypy-site && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml -p mcp_blackbox

test: setup kafka-jars npm-servers lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# The demo needs capture, collector, forensics and the TUI ([demo]), not the dev toolchain; a venv that
# `make setup` made already has all of it.
$(VENV)/.demo: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -f $(VENV)/.installed || $(PY) -m pip install -q -e '.[demo]'
	touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/mcp-blackbox demo

bench: setup kafka-jars
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# The detection evaluation's third-party servers (benign controls and the corpus fetch): mcp-server-fetch is in
# the dev group, the pinned npm reference servers are those of `npm-servers`.
eval-servers: npm-servers

eval: setup
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/eval_detections.py
