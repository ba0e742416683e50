# mcp-blackbox — every target does its own set-up on a fresh machine.
#   make test    venv + install (all extras, dev group) + Kafka 4.3.1 jars, then ruff, mypy, pytest
#   make demo    venv + install, then the bundled incident end to end
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

# mypy cannot follow setuptools' editable import hook, so it reads a tree of symlinks that has the
# installed layout (mcp_blackbox/schema -> schema/, …).
typecheck: setup
	rm -rf $(MCP_BLACKBOX_CACHE)/mypy-src && mkdir -p $(MCP_BLACKBOX_CACHE)/mypy-src/mcp_blackbox
	for f in cli/*.py; do ln -s $(CURDIR)/$$f $(MCP_BLACKBOX_CACHE)/mypy-src/mcp_blackbox/; done
	for d in schema collector forensics tui; do ln -s $(CURDIR)/$$d $(MCP_BLACKBOX_CACHE)/mypy-src/mcp_blackbox/$$d; done
	cd $(MCP_BLACKBOX_CACHE)/mypy-src && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml -p mcp_blackbox

test: setup kafka-jars npm-servers lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
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
