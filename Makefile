# Two commands matter: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Most slow tests wait on real runs (scenario time, not CPU): three pytest workers, one test
# file each at a time, keep the suite near ten minutes on two cores.
PYTEST_WORKERS ?= 3

.PHONY: demo test lint format bench browser broker clean help

help:
	@echo "make demo   - reproduce the 2021 lockout against the built-in backend and print the report"
	@echo "make test   - lint and run the whole test suite (slow end-to-end tests included)"
	@echo "make lint   - ruff, mypy (the package, tests and bench) and the layer contracts (import-linter)"
	@echo "make bench  - run the benchmarks under bench/ (figures land in docs/benchmarks/)"
	@echo "make clean  - remove .venv and run output"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fleetchaos demo

# Headless Chromium for the browser tests (report screenshots, the web UI's Chaos tab).
# Installed from Debian when we are root and it is missing; otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will skip"; \
	  else echo "chromium not found and not root: browser tests will skip"; fi; }

# Mosquitto for the MQTT tests and runs (cars over MQTT, docs/mqtt.md): from Debian when we
# are root and it is missing; otherwise those tests skip and say why.
broker:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian mosquitto for the MQTT tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null) \
	      || echo "mosquitto could not be installed: MQTT tests will skip"; \
	  else echo "mosquitto not found and not root: MQTT tests will skip"; fi; }

# mypy: the package strictly (pyproject.toml's [tool.mypy]), then tests/ and bench/ in a
# test mode: strict but that functions may go unannotated (test functions take pytest's
# fixtures by name; every body is checked all the same) and may return Any (parsed JSON).
# The import roots are pytest's (rootdir "prepend" mode): each test folder without an
# __init__.py is one, as tests import their helpers by bare name (`from engine_fakes import
# ...`); a folder with a conftest.py of its own is checked apart, its conftest being one
# more module named `conftest`.
MYPY_TESTS := $(VENV)/bin/mypy --cache-dir .mypy_cache/tests --follow-imports silent \
	--explicit-package-bases --allow-untyped-defs --allow-incomplete-defs \
	--allow-untyped-calls --no-warn-return-any
TEST_DIRS := $(filter-out tests/data,$(patsubst %/,%,$(wildcard tests/*/)))
TEST_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard tests/*/__init__.py))
TEST_APART := $(filter-out $(TEST_PACKAGES),$(patsubst %/conftest.py,%,$(wildcard tests/*/conftest.py)))
TEST_ROOTS := $(filter-out $(TEST_PACKAGES) $(TEST_APART),$(TEST_DIRS))
empty :=
define mypy_all
	$(VENV)/bin/mypy
	MYPYPATH=$(subst $(empty) ,:,$(TEST_ROOTS) tests) $(MYPY_TESTS) tests/conftest.py $(TEST_ROOTS) $(TEST_PACKAGES) bench
	@set -e; for d in $(TEST_APART); do echo "mypy $$d (its own conftest.py)"; MYPYPATH=$$d $(MYPY_TESTS) $$d; done
endef

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(mypy_all)
	$(VENV)/bin/lint-imports

# pytest runs from its own script (not `python -m pytest`), so the checkout's folders are
# not importable under their bare names: tests import the installed `fleetchaos` only.
test: $(STAMP) browser broker
	$(VENV)/bin/ruff check .
	$(mypy_all)
	$(VENV)/bin/lint-imports
	@$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(PY) -m bench.toxiproxy_bench
	$(PY) -m bench.backend_capacity
	$(PY) -m bench.backend_stop
	$(PY) -m bench.fleet_capacity
	$(PY) -m bench.fleet_overhead
	$(PY) -m bench.demo_spread
	$(PY) -m bench.mqtt_capacity
	$(PY) -m bench.metrics_scrape
	$(PY) -m bench.sizing

clean:
	rm -rf $(VENV) .pytest_cache fleetchaos-out
