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
