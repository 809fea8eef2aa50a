"""A small epoch loop shared by every training stage: progress bar, NaN guard, LR schedule, resume.

State (modules, optimiser, ReduceLROnPlateau, the stage's torch.Generator and the epoch) is saved
atomically after every epoch to ``resume_path``; a rerun with the same config continues from there.
All randomness of a stage flows from its generators (saved with the state), so a resumed run on CPU
is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

from .io import CheckpointError, atomic_path


class TrainingError(RuntimeError):
    """Training diverged (one-line message)."""


def make_optimizer(params: Iterable[nn.Parameter], lr: float) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau]:
    """Adam with ReduceLROnPlateau (Sec. IV-A), never going below lr/10 (the paper's 1e-3 -> 1e-4)."""
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=lr / 10)
    return opt, sched


def batches(n: int, batch_size: int, g: torch.Generator, shuffle: bool = True, limit: int = 0) -> list[torch.Tensor]:
    """Shuffled index batches over n items; ``limit`` > 0 keeps only the first ``limit`` of the
    permutation (an epoch of a fresh random subset)."""
    idx = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
    if limit > 0:
        idx = idx[:limit]
    return list(idx.split(batch_size))


def check_finite(loss: torch.Tensor, stage: str, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise TrainingError(f"{stage}: loss became {loss.item()} at epoch {epoch + 1}, step {step}; stopping without writing a model")


def fit(
    stage: str,
    modules: dict[str, nn.Module],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.ReduceLROnPlateau,
    epochs: int,
    n_items: int,
    batch_size: int,
    g: torch.Generator,
    step: Callable[[torch.Tensor], torch.Tensor],
    resume_path: str | Path | None = None,
    resume_meta: dict | None = None,
    extra_generators: tuple[torch.Generator, ...] = (),
    items_per_epoch: int = 0,
) -> list[float]:
    """Run ``epochs`` epochs of ``step(batch_indices) -> loss`` and return the per-epoch mean losses.

    ``g`` shuffles the data; ``extra_generators`` are the other generators ``step`` draws from (noise,
    t), saved and restored with the resume state.  ``items_per_epoch`` > 0 makes each epoch a fresh
    random draw of that many items (for the heaviest networks at small scales).
    """
    gens = (g, *extra_generators)
    start, history = 0, []
    if resume_path is not None and Path(resume_path).is_file():
        start, history = _restore(resume_path, resume_meta or {}, modules, opt, sched, gens)
    for epoch in range(start, epochs):
        for m in modules.values():
            m.train()
        total, count = 0.0, 0
        bar = tqdm(batches(n_items, batch_size, g, limit=items_per_epoch), desc=f"{stage} {epoch + 1}/{epochs}", leave=False, mininterval=5)
        for i, idx in enumerate(bar):
            loss = step(idx)
            check_finite(loss, stage, epoch, i)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
            count += idx.numel()
        mean = total / max(count, 1)
        sched.step(mean)
        history.append(mean)
        print(f"{stage}: epoch {epoch + 1}/{epochs} loss {mean:.5f} lr {opt.param_groups[0]['lr']:.2e}", flush=True)
        if resume_path is not None:
            _save(resume_path, resume_meta or {}, modules, opt, sched, gens, epoch + 1, history)
    for m in modules.values():
        m.eval()
    return history


def _save(path, meta, modules, opt, sched, gens, epoch, history) -> None:
    blob = {
        "meta": meta,
        "epoch": epoch,
        "history": history,
        "modules": {k: m.state_dict() for k, m in modules.items()},
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "gens": [g.get_state() for g in gens],
        "torch_rng": torch.get_rng_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def _restore(path, meta, modules, opt, sched, gens) -> tuple[int, list[float]]:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        print(f"resume state {path} is unreadable; starting from scratch", flush=True)
        return 0, []
    if blob.get("meta") != meta:
        print(f"resume state {path} was made with another config; starting from scratch", flush=True)
        return 0, []
    try:
        for k, m in modules.items():
            m.load_state_dict(blob["modules"][k])
        opt.load_state_dict(blob["opt"])
        sched.load_state_dict(blob["sched"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"resume state {path} does not fit this stage ({str(exc).splitlines()[0][:160]}); delete it") from None
    if len(blob["gens"]) != len(gens):
        raise CheckpointError(f"resume state {path} holds {len(blob['gens'])} generator states, expected {len(gens)}; delete it")
    for g, state in zip(gens, blob["gens"]):
        g.set_state(state)
    torch.set_rng_state(blob["torch_rng"])
    print(f"resuming from {path} after epoch {blob['epoch']}", flush=True)
    return int(blob["epoch"]), list(blob["history"])


def n_steps_per_epoch(n_items: int, batch_size: int) -> int:
    return math.ceil(n_items / batch_size)
