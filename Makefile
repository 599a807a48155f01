# gmc: two set-up commands (make demo, make test) plus a few helpers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint serve venv postgres chromium pdf-libs clean

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

## make demo: environment, reference data (the small default sets, fetched on a fresh machine when the network
## answers), embedded database, demo centre (with progress), web app on http://127.0.0.1:$(PORT)
demo: $(STAMP) pdf-libs
	$(BIN)/gmc refdata ensure
	$(BIN)/gmc demo
	$(BIN)/gmc serve --host 127.0.0.1 --port $(PORT)

## make test: environment with test extras, PostgreSQL, Chromium and the PDF libraries if missing, the whole suite
test: $(STAMP) postgres chromium pdf-libs
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

## PDF reports (WeasyPrint) need Pango, HarfBuzz's subsetter and a font; installed when missing.
pdf-libs:
	@if ldconfig -p | grep -q 'libpango-1.0.so.0' && ldconfig -p | grep -q 'libpangoft2-1.0.so.0' \
		&& ldconfig -p | grep -q 'libharfbuzz-subset.so.0' && fc-list 2>/dev/null | grep -q .; then \
		echo "PDF libraries (Pango, HarfBuzz, fonts) found"; \
	else \
		echo "installing the PDF libraries (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

serve: $(STAMP)
	$(BIN)/gmc serve

clean:
	rm -rf $(VENV) var .pytest_cache
