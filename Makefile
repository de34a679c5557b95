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
LAB_DIR ?= data/work/notebooks
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told to
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help venv report test test-fast lab lab-copies prepare sample lint clean

help:
	@echo "make report   install what is needed and build the report set on the bundled sample"
	@echo "make test     install what is needed and run the test suite"
	@echo "make lab      open JupyterLab on your working copies of the notebooks in $(LAB_DIR)/"
	@echo "              (options to jupyter lab: make lab LAB_ARGS=\"--no-browser --port 8899\")"
	@echo "make prepare  (re)validate and fit the sample into data/work/ for the notebooks"
	@echo "make sample   (re)generate the synthetic sample under $(SAMPLE)/"
	@echo "make lint     ruff check and format check"

# The venv is built once with the newest Python >= 3.12 and reinstalled only when pyproject changes.
$(PY):
	@python=$$(scripts/find_python.sh) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

# The kernel is named and shown as the committed notebooks say (python3, "Python 3"), so opening
# one in JupyterLab changes neither; the git filter strips what a save adds (outputs, counts).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	scripts/notebook_filter.sh $(PY)
	@touch $(STAMP)

venv: $(STAMP)

SAMPLE_MADE := $(SAMPLE)/exports/stage_history_$(PERIOD).csv

$(SAMPLE_MADE): | $(STAMP)
	$(VENV)/bin/pipeline-reports sample --out $(SAMPLE) --seed $(SEED)

sample: $(STAMP)
	$(VENV)/bin/pipeline-reports sample --out $(SAMPLE) --seed $(SEED)

# Last month's set first (once), so that the executive page can say why the forecast moved.
BEFORE  ?= $(shell $(PY) -c "import pandas as p; print(p.Period('$(PREVIOUS)', 'M') - 1)" 2>/dev/null)

report: $(STAMP) $(SAMPLE_MADE)
	@if [ ! -e reports/$(PREVIOUS)/index.html ] && [ -e $(PREVIOUS_EXPORT) ]; then \
		echo "Building last month's set ($(PREVIOUS)) first: the summary compares with it"; \
		$(VENV)/bin/pipeline-reports run --export $(PREVIOUS_EXPORT) \
			$(if $(wildcard $(SAMPLE)/exports/leads_$(PREVIOUS).csv),--leads $(SAMPLE)/exports/leads_$(PREVIOUS).csv) \
			$(if $(wildcard $(SAMPLE)/exports/stage_history_$(PREVIOUS).csv),--history $(SAMPLE)/exports/stage_history_$(PREVIOUS).csv) \
			$(if $(wildcard $(SAMPLE)/exports/opportunities_$(BEFORE).csv),--previous-export $(SAMPLE)/exports/opportunities_$(BEFORE).csv) \
			--period $(PREVIOUS) --out reports --seed $(SEED) || exit $$?; \
	fi
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

# The analyst works on copies: what `pipeline-reports run` executes is notebooks/ as committed.
lab-copies:
	@mkdir -p $(LAB_DIR)
	@for notebook in notebooks/*.ipynb; do \
		copy="$(LAB_DIR)/$$(basename "$$notebook")"; \
		if [ ! -e "$$copy" ]; then \
			cp "$$notebook" "$$copy" && echo "  copied $$notebook to $$copy"; \
		elif [ "$$notebook" -nt "$$copy" ]; then \
			echo "  kept your $$copy ($$notebook changed since: delete your copy to take it)"; \
		fi; \
	done
	@echo "Your working copies of the notebooks are in $(LAB_DIR)/: edit and save them freely;"
	@echo "a copy is made only where none exists, so yours are never overwritten."
	@echo "The scheduled run (pipeline-reports run) executes notebooks/ as committed."

lab: $(STAMP) $(WORK)/catalog.json lab-copies
	$(VENV)/bin/jupyter lab $(LAB_DIR) $(ALLOW_ROOT) $(LAB_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench notebooks
	$(VENV)/bin/ruff format --check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache
