import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
MIRROR = (REPO.parent / "shared" / "datasets").resolve()


@pytest.fixture(autouse=True)
def _few_threads():
    # keep unit tests predictable on a 2-core machine
    torch.set_num_threads(min(2, os.cpu_count() or 1))


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
    configuration plus its Table II models and nothing else.  Built once per session and shared
    (the DAG tests and the DVC tests read it; a test that changes it works on a copy)."""
    from smoke_project import project, snakemake

    repo = request.config.rootpath
    mirror = (repo.parent / "shared" / "datasets").resolve()
    if not (mirror / "MNIST" / "raw").is_dir() or not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("dataset mirror not available")
    work = project(tmp_path_factory.mktemp("smoke"), repo, mirror)
    res = snakemake(work, repo)
    assert res.returncode == 0, res.stderr[-3000:]
    return work, repo
