# Pipeline Workbench: `make report` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SAMPLE  := data/sample
PERIOD  ?= 2026-10
PREVIOUS ?= 2026-09
SEED    ?= 20261
EXPORT  ?= $(SAMPLE)/exports/opportunities_$(PERIOD).csv
LEADS   ?= $(SAMPLE)/exports/leads_$(PERIOD).csv
HISTORY ?= $(SAMPLE)/exports/stage_history_$(PERIOD).csv
PREVIOUS_EXPORT ?= $(SAMPLE)/exports/opportunities_$(PREVIOUS).csv
PYTEST_ARGS ?=

.PHONY: help venv report test test-fast lab prepare sample lint clean

help:
	@echo "make report   install what is needed and build the report set on the bundled sample"
	@echo "make test     install what is needed and run the test suite"
	@echo "make lab      open JupyterLab on notebooks/ (the sample prepared in data/work/)"
	@echo "make prepare  (re)validate and fit the sample into data/work/ for the notebooks"
	@echo "make sample   (re)generate the synthetic sample under $(SAMPLE)/"
	@echo "make lint     ruff check and format check"

# The venv is built once with the newest Python >= 3.12 and reinstalled only when pyproject changes.
$(PY):
	@python=$$(scripts/find_python.sh) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 \
		--display-name "Python 3 (pipeline workbench)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

SAMPLE_MADE := $(SAMPLE)/exports/stage_history_$(PERIOD).csv

$(SAMPLE_MADE): | $(STAMP)
	$(VENV)/bin/pipeline-reports sample --out $(SAMPLE) --seed $(SEED)

sample: $(STAMP)
	$(VENV)/bin/pipeline-reports sample --out $(SAMPLE) --seed $(SEED)

report: $(STAMP) $(SAMPLE_MADE)
	$(VENV)/bin/pipeline-reports run --export $(EXPORT) --leads $(LEADS) $(if $(HISTORY),--history $(HISTORY)) \
		--previous-export $(PREVIOUS_EXPORT) --period $(PERIOD) --out reports --seed $(SEED)
	@echo "Open reports/$(PERIOD)/index.html"

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

WORK    := data/work/$(PERIOD)

$(WORK)/catalog.json: | $(STAMP) $(SAMPLE_MADE)
	$(VENV)/bin/pipeline-reports prepare --export $(EXPORT) --leads $(LEADS) $(if $(HISTORY),--history $(HISTORY)) \
		--previous-export $(PREVIOUS_EXPORT) --period $(PERIOD) --out $(WORK) --seed $(SEED)

prepare: $(STAMP) $(SAMPLE_MADE)
	$(VENV)/bin/pipeline-reports prepare --export $(EXPORT) --leads $(LEADS) $(if $(HISTORY),--history $(HISTORY)) \
		--previous-export $(PREVIOUS_EXPORT) --period $(PERIOD) --out $(WORK) --seed $(SEED)

lab: $(STAMP) $(WORK)/catalog.json
	$(VENV)/bin/jupyter lab notebooks/

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench notebooks
	$(VENV)/bin/ruff format --check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache
