# Set-up and everyday commands. Only python3 is needed on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo-workspace

.PHONY: install demo serve test lint format bench eval sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the project definition changes (editable: code changes need no re-install).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The nightly job on the bundled sample: exports dropped into the inbox, company terms installed.
demo: install
	$(BIN)/auditor -w $(DEMO) init
	mkdir -p $(DEMO)/inbox $(DEMO)/dictionaries
	cp -R sample_data/exports/. $(DEMO)/inbox/
	cp sample_data/company-dictionaries/*.txt $(DEMO)/dictionaries/
	$(BIN)/auditor -w $(DEMO) nightly
	@echo "Report index: $(CURDIR)/$(DEMO)/reports/index.html (newest day: $$(ls -d $(CURDIR)/$(DEMO)/reports/*/index.html | tail -n 1))"

# The review console on the demo workspace (made first if missing), with an officer account
# "demo": its password comes from AUDITOR_DEMO_PASSWORD or is generated and printed once.
PORT ?= 8750
serve: install
	@test -f $(DEMO)/reports/index.html || $(MAKE) demo
	@if ! $(BIN)/auditor -w $(DEMO) user list | grep -q '^demo '; then \
		password="$${AUDITOR_DEMO_PASSWORD:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))')}"; \
		printf '%s\n' "$$password" | $(BIN)/auditor -w $(DEMO) user add demo --role officer --password-stdin && \
		echo "demo officer account: demo / $$password (shown once; set AUDITOR_DEMO_PASSWORD to choose it)"; \
	fi
	$(BIN)/auditor -w $(DEMO) serve --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/bench.py

# Detection quality on the committed public sets (eval/README.md), with COLD's dev split when it is
# next to the checkout; prints the table and the issue's targets, writes eval/results.json.
COLD_DEV ?= $(firstword $(wildcard ../shared/data/cold/dev.csv ../../shared/data/cold/dev.csv))
EVAL_WS ?= .eval-workspace
eval: install
	$(BIN)/auditor -w $(EVAL_WS) init >/dev/null
	$(BIN)/auditor -w $(EVAL_WS) eval --suite eval/data \
		$(if $(COLD_DEV),--set abuse-cold-dev=$(COLD_DEV)) --targets eval/targets.toml --out eval/results.json

# Regenerate the committed sample archive (deterministic: same bytes every time).
sample: install
	rm -rf sample_data
	$(BIN)/auditor sample --out sample_data

clean:
	rm -rf $(VENV) $(DEMO) .eval-workspace build *.egg-info .pytest_cache .ruff_cache test-artifacts
