# `make demo` and `make test` do all set-up from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint install serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/research-bridge demo

test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy

serve: $(STAMP)
	$(BIN)/research-bridge serve

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_handoffs.py
	$(BIN)/python benchmarks/bench_jira_sync.py
	$(BIN)/python benchmarks/bench_mlflow_sync.py
	$(BIN)/python benchmarks/bench_heartbeats.py
	$(BIN)/python benchmarks/bench_heartbeat_day.py
	$(BIN)/python benchmarks/bench_focus_team.py
	$(BIN)/python benchmarks/bench_pipelines.py
	$(BIN)/python benchmarks/bench_claim.py
	$(BIN)/python benchmarks/bench_digest.py
	$(BIN)/python benchmarks/bench_flood.py
	$(BIN)/python benchmarks/bench_research.py

clean:
	rm -rf $(VENV) demo.db demo.toml demo-digest.png *.egg-info
