# The two commands of giraffehd. Each sets up its own virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
# torch 2.14.1 with torchvision 0.29.1: a CUDA 13 build that also runs on CPU (clean-fid needs torchvision,
# and lightning imports it through torchmetrics, so the two must match). Override for another platform,
# e.g. make test TORCH_SPEC="torch==2.9.1 torchvision==0.24.1".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PIP = $(VENV)/bin/pip --disable-pip-version-check -q
STAMP = $(VENV)/.installed

.PHONY: test demo lint format clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH_SPEC)
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

## test: run the test suite (creates .venv on first use)
test: $(STAMP)
	$(VENV)/bin/python -m pytest

## demo: run the main job on the built-in default, writing into renders/
demo: $(STAMP)
	$(VENV)/bin/giraffehd-demo

## lint: ruff lint and format check
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
