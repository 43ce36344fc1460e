# Two commands do all set-up on a fresh machine: `make run` (the app) and `make test` (the suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU wheel of torch lies on disk on the reference machines; on a CUDA machine pip takes the CUDA build.
	$(BIN)/pip install -q "torch==2.13.0" || $(BIN)/pip install -q "torch<=2.14.1"
	# Everything: the core (engine, trainer, commands) plus the desktop app, the optional detectors and plots.
	$(BIN)/pip install -q -e ".[cpu,gui,detectors,plots,test]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/fsr-studio $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/fsr-studio bench $(ARGS)

.PHONY: venv run test test-slow bench
