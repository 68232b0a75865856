# diffexplore: every set-up step lives here, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup dot browser demo test gallery bench bench-ab lint clean

setup: $(STAMP) dot

# setup.py builds the compiled planning walk (diffexplore/_planwalk.c) into the package's folder.
$(STAMP): pyproject.toml setup.py diffexplore/_planwalk.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,jax,torch]'
	touch $(STAMP)

# The Graphviz `dot` program comes from the system package, not from pip.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "Graphviz 'dot' is missing: installing the Debian package graphviz"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz >/dev/null; }

# Headless Chromium for the explorer page's end-to-end tests (Debian's package, driven by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium is missing: installing the Debian packages chromium and chromium-driver"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

demo: setup
	$(PY) -m diffexplore demo

test: setup browser
	$(PY) -m pytest -q

gallery: setup browser
	$(PY) -m gallery.build --out gallery

bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/run.py

# Every diffexplore row of `make bench`, this tree (B) against another revision or checkout (A), interleaved.
BASE ?= HEAD~1
bench-ab: setup
	$(PY) benchmarks/ab.py --base $(BASE)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build diffexplore/_planwalk.*.so
