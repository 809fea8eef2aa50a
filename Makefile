# The README's two commands are `make run` (set-up + main job) and `make test` (set-up + tests).
PY ?= python3
SCALE ?= cpu
# threads per job: MNIST's small networks run faster as parallel one-thread jobs (docs/results.md)
THREADS ?= 1

.PHONY: setup run test smoke lint bench slurm-test

setup:  ## install the package, the pinned torch pair and the pipeline tools
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev,pipeline]"

run: setup  ## the whole DAG at the scale that finishes on a 2-core CPU machine (about 1 h 15 min)
	snakemake --cores all --max-threads $(THREADS) --config scale=$(SCALE)

test: setup  ## unit tests + a smoke run of the whole DAG, in two workers (tests/conftest.py says in what order)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

smoke: setup
	snakemake --cores all --config scale=smoke

lint:
	snakemake --lint

bench: setup  ## speed benchmark -> reports/bench.json (needs the benchmark-only extra: diffusers)
	$(PY) -m pip install -q -e ".[bench]"
	diffsem bench --scale $(SCALE)

slurm-test: setup  ## the SLURM profile on a real single-node Slurm on localhost (root; docs/slurm.md)
	command -v slurmctld >/dev/null || scripts/slurm_cluster.sh install
	PY=$(PY) scripts/slurm_test.sh
