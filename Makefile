# The two commands: `make scan` and `make test`. Both build what they need on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEMGREP_FLAGS := --metrics=off --disable-version-check

.PHONY: scan test test-rules test-py catalogue docs new-rule bench ecosystem clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no python3.11 or python3 on PATH (set PYTHON=...)" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## scan: scan the bundled demo service, write out/backend-review.sarif, print a summary
scan: $(STAMP)
	@mkdir -p out
	$(BIN)/backend-review scan fixtures/apps/orders-service --format sarif --output out/backend-review.sarif --fail-on never --summary

## test: rule fixtures, then the Python test suite
test: test-rules test-py

# The fixtures test what the engine runs: rules with their shared source models
# (rules/_sources) expanded, written to build/rules, which mirrors rules/.
test-rules: $(STAMP)
	$(BIN)/python -m backend_review.rules --expand build/rules
	$(BIN)/semgrep --test $(SEMGREP_FLAGS) --strict --config build/rules fixtures

# The suite runs without a network (a fresh network namespace) where the machine allows
# one; the wheel test builds and installs from the package index, so it runs outside.
NONET := $(shell unshare --net true >/dev/null 2>&1 && echo "unshare --net")
test-py: $(STAMP)
	$(NONET) $(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/test_wheel.py
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_wheel.py

## catalogue: regenerate docs/rules.md from the rules
catalogue: $(STAMP)
	$(BIN)/python -m backend_review.catalogue > docs/rules.md

## docs: regenerate everything in the docs that copies real output (README help, samples, catalogue)
docs: $(STAMP)
	$(BIN)/python scripts/update_docs.py

## new-rule: scaffold a rule and its fixture: make new-rule AREA=api LANG=python SLUG=foo-without-bar
new-rule: $(STAMP)
	$(BIN)/python scripts/new_rule.py $(AREA) $(LANG) $(SLUG)

## bench: performance ratios (not part of make test)
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## ecosystem: the pack on the pinned real backends of bench/ecosystem/projects.toml vs snapshot.json (not part of make test)
##   make ecosystem ARGS="--project pretix --update"; options: python -m bench.ecosystem.run --help
ecosystem: $(STAMP)
	$(BIN)/python -m bench.ecosystem.run $(ARGS)

clean:
	rm -rf $(VENV) out build dist .backend-review-cache
