# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
NSV := $(VENV)/bin/nsv-eval
STAMP := $(VENV)/.installed
SCALE ?= 0.02
SEED ?= 1
KOMMUNE ?= 326
SYNTH ?= data/synthetic
PREPARED ?= data/prepared
# Layout of the synthetic hospital contacts: lpr3 (kontakter + diagnoser, prepared exactly
# as a real LPR3 extract with a research-server PNR), lpr2, or nsv (tidy contacts.parquet).
LAYOUT ?= lpr3
SYNTH_FILE := $(if $(filter nsv,$(LAYOUT)),contacts,$(if $(filter lpr2,$(LAYOUT)),lpr_adm,kontakter))
PSEUDO_KEY := $(if $(filter nsv,$(LAYOUT)),,--pseudonymised-key PNR)
REPORTS ?= reports

.PHONY: install demo test lab data lint typecheck clean-data bench print-tools audit

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing nsv-eval and its dependencies into $(VENV) ..."
	@$(PY) -m pip install -q -U pip
	@$(PY) -m pip install -q -e '.[dev,lab]'
	@touch $(STAMP)

install: $(STAMP)

# The shipped synthetic Denmark: generated once, then reused (git-ignored).
$(SYNTH)/$(SYNTH_FILE).parquet: | $(STAMP)
	$(NSV) synth --scale $(SCALE) --seed $(SEED) --layout $(LAYOUT) --out $(SYNTH)

# Ingest + cleaning + analysis cube, rebuilt when the synthetic data changes.
$(PREPARED)/manifest.json: $(SYNTH)/$(SYNTH_FILE).parquet | $(STAMP)
	$(NSV) prepare --raw $(SYNTH) --out $(PREPARED) --format $(LAYOUT) $(PSEUDO_KEY)

data: $(PREPARED)/manifest.json

# PDFs are printed by headless Chromium and read back by poppler-utils (pdftotext,
# pdftoppm): Debian's packages, installed when missing (needs root, as in CI containers).
print-tools:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "Headless Chromium is missing: installing Debian's 'chromium' package (PDF reports, browser test) ..."; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "Could not install chromium; no PDF reports, and the browser test will be skipped."; }
	@command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
	  echo "poppler-utils is missing: installing Debian's 'poppler-utils' package (PDF text and page images) ..."; \
	  (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null) \
	  || echo "Could not install poppler-utils; the PDF checks will be skipped."; }

demo: $(STAMP) data print-tools
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  $(NSV) run --kommune $(KOMMUNE) --study all --data $(PREPARED) --out $(REPORTS) --pdf; \
	else \
	  echo "Headless Chromium not found: rendering HTML and Excel only (no PDF)."; \
	  $(NSV) run --kommune $(KOMMUNE) --study all --data $(PREPARED) --out $(REPORTS); \
	fi

test: $(STAMP) data print-tools
	$(PY) -m pytest

# JupyterLab refuses to run as root unless told to (containers, CI machines)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP) data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

# No CPR number in the prepared data or the rendered reports (exit 1 on a hit).
audit: $(STAMP) data
	$(NSV) audit $(PREPARED)
	@if [ -d $(REPORTS) ]; then $(NSV) audit $(REPORTS); fi

lint: $(STAMP) typecheck
	$(VENV)/bin/ruff check nsv_eval tests bench notebooks

# mypy on the package (configuration in pyproject.toml [tool.mypy])
typecheck: $(STAMP)
	$(PY) -m mypy

# BENCH_SCALE=1.0 (all of Denmark) is the full-scale benchmark; a shared machine: 0.2
BENCH_SCALE ?= 1.0
bench: $(STAMP)
	$(PY) bench/run.py --scale $(BENCH_SCALE)

clean-data:
	rm -rf $(SYNTH) $(PREPARED) reports
