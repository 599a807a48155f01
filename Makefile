# gmc: two set-up commands (make demo, make test) plus a few helpers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint serve venv postgres chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

PORT ?= 8000
# A data directory given on the command line (make demo GMC_DATA_DIR=/srv/gmc) reaches gmc.
ifdef GMC_DATA_DIR
export GMC_DATA_DIR
endif

## make demo: environment, embedded database, demo centre (with progress), web app on http://127.0.0.1:$(PORT)
demo: $(STAMP)
	$(BIN)/gmc demo
	$(BIN)/gmc serve --host 127.0.0.1 --port $(PORT)

## make test: environment with test extras, PostgreSQL and Chromium if missing, the whole suite
test: $(STAMP) postgres chromium
	$(BIN)/pytest $(PYTEST_ARGS)

postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL server binaries found"; \
	else \
		echo "installing PostgreSQL server (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# The browser suite drives Debian's Chromium through the playwright package (never Playwright's own builds).
chromium:
	@if [ -x /usr/bin/chromium ]; then \
		echo "Chromium found"; \
	else \
		echo "installing Chromium (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

serve: $(STAMP)
	$(BIN)/gmc serve

clean:
	rm -rf $(VENV) var .pytest_cache
