"""A small epoch loop shared by every training stage: progress bar, NaN guard, LR schedule, resume,
validation, learning curve, best-epoch selection and early stopping.

State (modules, optimiser, ReduceLROnPlateau, the stage's torch.Generator, the epoch, the learning
curve and the best epoch's weights) is saved atomically after every epoch to ``resume_path``; a rerun
with the same config continues from there.  All randomness of a stage flows from its generators
(saved with the state), so a resumed run on CPU is bit-identical to an uninterrupted one.

With a ``Validation`` the loop scores the modules on held-out data after every epoch, steps the
learning-rate schedule on that score (not on the noisy training loss), keeps the best epoch's
weights, stops after ``patience`` epochs without improvement, and leaves the modules at the best
epoch: every downstream stage loads the best-validation model (docs/decisions.md §19).
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from .io import CheckpointError, as_recorded, atomic_path, without_locations


class TrainingError(RuntimeError):
    """Training diverged (one-line message)."""


def make_optimizer(params: Iterable[nn.Parameter], lr: float, mode: str = "min") -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau]:
    """Adam with ReduceLROnPlateau (Sec. IV-A), never going below lr/10 (the paper's 1e-3 -> 1e-4).

    ``mode`` is the direction of the monitored quantity: "min" for a loss, "max" for an accuracy."""
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=2, min_lr=lr / 10)
    return opt, sched


@dataclass
class Validation:
    """Held-out scoring for ``fit``: ``score()`` -> {metric: value} (deterministic: fixed draws), the
    metric that selects the epoch and its direction, and the early-stopping patience (0 = none)."""

    score: Callable[[], dict[str, float]]
    monitor: str
    mode: str = "max"
    patience: int = 0
    select: bool = True  # False: only record the curve (epoch choice and lr decay stay on the training loss)
    start_epoch: int = 0  # epochs up to this one are recorded only (a warm-up whose objective is not yet the
                          # final one): no selection, no patience count, no lr decay

    def better(self, new: float, best: float | None) -> bool:
        if best is None or math.isnan(best):
            return not math.isnan(new)
        return new > best if self.mode == "max" else new < best


@dataclass
class FitResult:
    """Per-epoch training losses, the learning curve (one dict per epoch) and the selected epoch (1-based)."""

    losses: list[float]
    curve: list[dict] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def final_loss(self) -> float:
        return self.losses[-1]


def batches(n: int, batch_size: int, g: torch.Generator, shuffle: bool = True, limit: int = 0) -> list[torch.Tensor]:
    """Shuffled index batches over n items; ``limit`` > 0 keeps only the first ``limit`` of the
    permutation (an epoch of a fresh random subset)."""
    idx = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
    if limit > 0:
        idx = idx[:limit]
    return list(idx.split(batch_size))


class NanGuard:
    """The first non-finite loss of an epoch, tracked on the loss's device so that training steps need no
    host synchronisation (issue #14); ``check`` reads it once, at the end of the epoch."""

    def __init__(self) -> None:
        self.step = self.value = None

    def see(self, loss: torch.Tensor, step: int) -> None:
        loss = loss.detach()
        if self.step is None:
            self.step = torch.full((), -1, dtype=torch.long, device=loss.device)
            self.value = torch.zeros((), dtype=loss.dtype, device=loss.device)
        first = ~torch.isfinite(loss) & (self.step < 0)
        self.step = torch.where(first, step, self.step)
        self.value = torch.where(first, loss, self.value)

    def check(self, stage: str, epoch: int) -> None:
        if self.step is not None and int(self.step) >= 0:
            raise TrainingError(f"{stage}: loss became {float(self.value)} at epoch {epoch + 1}, step {int(self.step)}; "
                                "stopping without writing a model")


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
    validation: Validation | None = None,
    extendable: str | None = None,
    on_epoch: Callable[[int], None] | None = None,
    ema: float = 0.0,
) -> FitResult:
    """Run up to ``epochs`` epochs of ``step(batch_indices) -> loss``.

    ``g`` shuffles the data; ``extra_generators`` are the other generators ``step`` draws from (noise,
    t), saved and restored with the resume state.  ``items_per_epoch`` > 0 makes each epoch a fresh
    random draw of that many items (for the heaviest networks at small scales).  With ``validation``
    the modules end at the best-validation epoch (see the module docstring).  ``extendable`` names the
    section of ``resume_meta`` that holds this stage's own ``epochs``/``patience``: a rerun with a larger
    cap continues the saved state instead of starting over (the state holds the latest weights, and
    the best epoch's separately, so continuing equals an uninterrupted run with the larger cap).
    ``on_epoch(epoch)`` (0-based) runs at the start of every epoch, after the modules are put in training
    mode (e.g. the IBAL authors' full decoder epoch before each system epoch).  ``ema`` > 0 keeps an
    exponential moving average of the weights (decay ``ema`` per optimiser step; torch.optim.swa_utils):
    validation scores the averaged weights, the best epoch's state is theirs, and the modules end with them.
    """
    gens = (g, *extra_generators)
    st = _State()
    averaged = {k: AveragedModel(m, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True)
                for k, m in modules.items()} if ema else {}
    if resume_path is not None and Path(resume_path).is_file():
        st = _restore(resume_path, resume_meta or {}, modules, opt, sched, gens, extendable, epochs, averaged)
        print(f"{stage}: resumed after epoch {st.epoch} from {resume_path}", flush=True)
    for epoch in range(st.epoch, epochs):
        warm = validation is not None and validation.select and epoch + 1 <= validation.start_epoch
        selecting = validation is not None and validation.select and not warm
        since = st.epoch - max(st.best_epoch, validation.start_epoch if validation is not None else 0)
        if selecting and validation.patience and since >= validation.patience:
            print(f"{stage}: early stop after epoch {st.epoch} (best {validation.monitor} at epoch {st.best_epoch})", flush=True)
            break
        for m in modules.values():
            m.train()
        if on_epoch is not None:
            on_epoch(epoch)
        total, count, guard = 0.0, 0, NanGuard()
        bar = tqdm(batches(n_items, batch_size, g, limit=items_per_epoch), desc=f"{stage} {epoch + 1}/{epochs}", leave=False, mininterval=5)
        for i, idx in enumerate(bar):
            loss = step(idx)
            guard.see(loss, i)  # no .item() per step: the running loss and the NaN check stay on the device
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for k, a in averaged.items():
                a.update_parameters(modules[k])
            total = total + loss.detach() * idx.numel()
            count += idx.numel()
        guard.check(stage, epoch)  # before anything of this epoch is saved
        mean = float(total) / max(count, 1)
        row = {"epoch": epoch + 1, "max_epochs": epochs, "train_loss": mean, "lr": opt.param_groups[0]["lr"]}
        msg = ""
        if validation is not None:
            for m in modules.values():
                m.eval()
            with torch.no_grad(), _averaged_weights(modules, averaged):
                scores = {k: float(v) for k, v in validation.score().items()}
            row.update({f"val_{k}": v for k, v in scores.items()})
        if warm:
            msg = f" (warm-up: recorded, not selected until after epoch {validation.start_epoch})"
        elif selecting:
            value = scores[validation.monitor]
            sched.step(value)
            if validation.better(value, st.best_value):
                st.best_value, st.best_epoch = value, epoch + 1
                st.best_state = {k: copy.deepcopy((averaged[k].module if averaged else m).state_dict())
                                 for k, m in modules.items()}
            msg = f" val {validation.monitor} {value:.5f} (best {st.best_value:.5f} @ {st.best_epoch})"
        else:
            sched.step(mean)
            st.best_epoch = epoch + 1
            st.best_state = None
        st.losses.append(mean)
        st.curve.append(row)
        st.epoch = epoch + 1
        print(f"{stage}: epoch {epoch + 1}/{epochs} loss {mean:.5f} lr {opt.param_groups[0]['lr']:.2e}{msg}", flush=True)
        if resume_path is not None:
            _save(resume_path, resume_meta or {}, modules, opt, sched, gens, st, averaged)
    final = st.best_state if st.best_state is not None else \
        {k: a.module.state_dict() for k, a in averaged.items()} if averaged else None
    if final is not None:
        for k, m in modules.items():
            m.load_state_dict(final[k])
    for m in modules.values():
        m.eval()
    for r in st.curve:
        r["selected"] = int(r["epoch"] == st.best_epoch)
    return FitResult(st.losses, st.curve, st.best_epoch)


@contextmanager
def _averaged_weights(modules: dict[str, nn.Module], averaged: dict[str, AveragedModel]):
    """The modules hold their averaged weights inside the block (validation's score() reads the modules it
    closed over) and their trained ones again after it."""
    if not averaged:
        yield
        return
    live = {k: copy.deepcopy(m.state_dict()) for k, m in modules.items()}
    try:
        for k, m in modules.items():
            m.load_state_dict(averaged[k].module.state_dict())
        yield
    finally:
        for k, m in modules.items():
            m.load_state_dict(live[k])


@dataclass
class _State:
    epoch: int = 0
    losses: list = field(default_factory=list)
    curve: list = field(default_factory=list)
    best_epoch: int = 0
    best_value: float | None = None
    best_state: dict | None = None


def _save(path, meta, modules, opt, sched, gens, st: _State, averaged=None) -> None:
    blob = {
        "averaged": {k: a.state_dict() for k, a in (averaged or {}).items()},
        "meta": meta,
        "epoch": st.epoch,
        "history": st.losses,
        "curve": st.curve,
        "best": {"epoch": st.best_epoch, "value": st.best_value, "state": st.best_state},
        "modules": {k: m.state_dict() for k, m in modules.items()},
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "gens": [g.get_state() for g in gens],
        "torch_rng": torch.get_rng_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def _without_cap(meta: dict, section: str | None) -> dict:
    """``meta`` with ``section``'s epochs/patience removed (what may change between a run and its extension)."""
    if section is None or not isinstance(meta.get(section), dict):
        return meta
    out = dict(meta)
    out[section] = {k: v for k, v in meta[section].items() if k not in ("epochs", "patience")}
    return out


def _capped(meta: dict, section: str | None) -> tuple[float, float]:
    """(epochs, patience) of ``section`` in ``meta`` (patience 0 = never stop early: infinite)."""
    sec = meta.get(section, {}) if section else {}
    patience = sec.get("patience", 0) or float("inf")
    return sec.get("epochs", float("inf")), patience


def _restore(path, meta, modules, opt, sched, gens, extendable: str | None = None, epochs: int | None = None,
             averaged=None) -> _State:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        print(f"resume state {path} is unreadable; starting from scratch", flush=True)
        return _State()
    saved = as_recorded(without_locations(meta), without_locations(blob.get("meta", {})))
    if _without_cap(without_locations(blob.get("meta", {})), extendable) != _without_cap(saved, extendable) or "curve" not in blob:
        print(f"resume state {path} was made with another config or version; starting from scratch", flush=True)
        return _State()
    if extendable is not None:
        # only a larger (or equal) cap continues: a state trained past a smaller cap, or with more patience
        # than now allowed, is not what an uninterrupted run under the new settings would have produced
        (old_epochs, old_pat), (new_epochs, new_pat) = _capped(blob["meta"], extendable), _capped(meta, extendable)
        if int(blob["epoch"]) > (epochs if epochs is not None else new_epochs) or old_pat > new_pat:
            print(f"resume state {path} ran past the new epoch cap or patience; starting from scratch", flush=True)
            return _State()
    try:
        for k, m in modules.items():
            m.load_state_dict(blob["modules"][k])
        opt.load_state_dict(blob["opt"])
        sched.load_state_dict(blob["sched"])
        for k, a in (averaged or {}).items():
            a.load_state_dict(blob["averaged"][k])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"resume state {path} does not fit this stage ({str(exc).splitlines()[0][:160]}); delete it") from None
    if len(blob["gens"]) != len(gens):
        raise CheckpointError(f"resume state {path} holds {len(blob['gens'])} generator states, expected {len(gens)}; delete it")
    for g, state in zip(gens, blob["gens"]):
        g.set_state(state)
    torch.set_rng_state(blob["torch_rng"])
    print(f"resuming from {path} after epoch {blob['epoch']}", flush=True)
    best = blob["best"]
    return _State(int(blob["epoch"]), list(blob["history"]), list(blob["curve"]), int(best["epoch"]), best["value"],
                  best["state"])


def n_steps_per_epoch(n_items: int, batch_size: int) -> int:
    return math.ceil(n_items / batch_size)
