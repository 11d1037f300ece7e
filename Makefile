# dupbench: `make exp1` runs Experiment 1, `make test` runs the tests; both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN := $(PY) experiments/run.py

.PHONY: setup exp1 exp2 exp3 test data-check readme-table clean distclean

setup: $(STAMP)

# Reinstalls when pyproject.toml changes. torch==2.14.1 / torchvision==0.29.1 are pinned there:
# the releases that install on these machines (a CUDA build that runs on the CPU).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Fruits-360 subset when its files are under the data root, else the embedded set (it says which).
exp1: setup
	$(RUN) experiment=exp1 dataset=fruits360 dataset_fallback=embedded

exp2 exp3:
	@echo "$@: not implemented yet (issues #5 and #6); nothing was run" >&2; exit 1

test: setup
	$(PY) -m pytest

# Every data set whose folder is there, verified file by file against its manifest.
data-check: setup
	$(PY) -m experiments.data check --staged

# After `make exp1` on fruits360: make its table the committed baseline and redraw the README table.
readme-table: setup
	$(PY) -m experiments.readme_table --promote results/exp1/fruits360/table.csv

clean:
	rm -rf results/exp1 results/runs data/embedded .pytest_cache .benchmarks

distclean: clean
	rm -rf $(VENV) *.egg-info
