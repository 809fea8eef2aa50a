import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
MIRROR = (REPO.parent / "shared" / "datasets").resolve()


# `make test` runs the suite in two pytest-xdist workers, one test file at a time each (`--dist loadfile`),
# in this order: the two whole-DAG builds start at once, one per worker, and the files that only read the
# shared smoke run come last, when it is built (the order in which xdist hands out files is this order)
FIRST = ("test_smoke_dag.py", "test_catalog_dag.py")
LAST = ("test_dvc.py", "test_seeds_dag.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        if name in FIRST:
            return FIRST.index(name)
        return len(FIRST) + 1 + LAST.index(name) if name in LAST else len(FIRST)

    items.sort(key=rank)  # stable: the order inside a file is kept


@pytest.fixture(autouse=True)
def _few_threads():
    # keep unit tests predictable on a 2-core machine; one thread each when two workers share it
    torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1))


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def mirror() -> Path:
    if not (MIRROR / "MNIST" / "raw").is_dir():
        pytest.skip(f"dataset mirror not found at {MIRROR}")
    return MIRROR


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, request):
    """Both datasets' whole DAG at smoke scale in one Snakemake run: MNIST, and CIFAR-10 from
    configuration plus its Table II models and nothing else.  Built once per test run and shared (the DAG
    tests and the DVC tests read it; a test that changes it works on a copy): under pytest-xdist the first
    worker to ask builds it under a file lock in the run's common temporary folder, the other waits and
    reads it (pytest-xdist's documented pattern for a session fixture that must run once)."""
    from filelock import FileLock

    repo = request.config.rootpath
    mirror = (repo.parent / "shared" / "datasets").resolve()
    if not (mirror / "MNIST" / "raw").is_dir() or not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("dataset mirror not available")
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # no xdist: this process is the only user
        return _build_smoke(tmp_path_factory.mktemp("smoke"), repo, mirror), repo
    common = tmp_path_factory.getbasetemp().parent  # this run's pytest-N folder, shared by its workers
    work, done = common / "smoke", common / "smoke.built"
    with FileLock(str(common / "smoke.lock")):
        if work.exists() and not done.is_file():
            pytest.fail("the shared smoke run failed to build in another worker: see that worker's error")
        if not done.is_file():
            work.mkdir()
            _build_smoke(work, repo, mirror)
            done.write_text("ok\n")
    return work, repo


def _build_smoke(work, repo, mirror):
    from smoke_project import project, snakemake

    project(work, repo, mirror)
    res = snakemake(work, repo)
    assert res.returncode == 0, res.stderr[-3000:]
    return work
