"""Device choice, threads and seeding: the only process-wide knobs, set once by the CLI."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


_SWITCHES = {"cuda_graphs": os.environ.get("DIFFSEM_CUDA_GRAPHS", "") == "1"}


def set_cuda_graphs(on: bool) -> None:
    """Replay the receivers' DDIM loops from CUDA graphs on a GPU (``cuda_graph``; decisions §36)."""
    _SWITCHES["cuda_graphs"] = bool(on)


def cuda_graphs_enabled() -> bool:
    return _SWITCHES["cuda_graphs"]


def setup_threads(n: int = 0) -> None:
    """Use ``n`` threads, or every core this process may run on (affinity aware) when n = 0."""
    if n > 0:
        torch.set_num_threads(n)
        return
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    torch.set_num_threads(max(1, n))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
