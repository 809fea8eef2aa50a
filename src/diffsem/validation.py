"""Held-out scoring for every choice the pipeline makes (docs/decisions.md §19).

Each function scores models on a validation slice (``Split.val_*`` for the designer, ``adv_val_*`` for
the attacker) with its own fixed-seed generators, so a learning curve moves only when the model does,
and training streams are untouched.  Nothing here reads the test set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from .data import to_float
from .io import atomic_path

# logits_fn(z, t_frac) -> class scores, for whatever receiver is being scored; (z, t_frac) is what Theta
# reads: Link.theta_view of the received signal (docs/decisions.md §23)
LogitsFn = Callable[[torch.Tensor, int], torch.Tensor]
VAL_SEED = 7_777_777  # validation draws never share a stream with training


def capped(n: int, max_images: int) -> int:
    return n if max_images <= 0 else min(n, max_images)


@torch.no_grad()
def receiver_accuracy(link, logits_fn: LogitsFn, x_uint8: torch.Tensor, y: torch.Tensor, ts, snr_db: float,
                      device, batch: int = 512, seed: int = VAL_SEED) -> dict[str, float]:
    """Accuracy of a receiver on validation images sent through Psi and the channel at each T' in ``ts``:
    {"acc_t<T'>": ..., "acc_mean": mean over ts}.  The same draws on every call (seeded per T')."""
    out = {}
    for t in ts:
        g = torch.Generator(device=device).manual_seed(seed + 101 * int(t))
        correct = 0
        for i in range(0, y.shape[0], batch):
            x = to_float(x_uint8[i : i + batch]).to(device)
            r = link.send(link.features(x), int(t), snr_db, g)  # the link's channel kind
            correct += int((logits_fn(r.z_in, r.t_frac).argmax(1) == y[i : i + batch].to(device)).sum())
        out[f"acc_t{int(t)}"] = correct / max(int(y.shape[0]), 1)
    out["acc_mean"] = sum(out.values()) / len(ts)
    return out


def eps_bands(T: int, n_bands: int = 5) -> list[tuple[int, int]]:
    """Equal-width t bands [lo, hi] covering 1..T, for the U-Net's per-band validation epsilon-MSE."""
    edges = torch.linspace(0, T, n_bands + 1).round().long().tolist()
    return [(edges[i] + 1, edges[i + 1]) for i in range(n_bands)]


@torch.no_grad()
def eps_mse(net, f0: torch.Tensor, alpha_bar: torch.Tensor, T: int, ctx=None,
            batch: int = 512, seed: int = VAL_SEED, n_bands: int = 5) -> dict[str, float]:
    """Eq. 15's epsilon-MSE on validation features, per t band and overall, with fixed (t, eps) draws.

    ``ctx``: None (unconditional), a (N, classes) tensor of labels, or a function (f_t, t) -> labels
    (E-DiffSem trained on soft labels: the context depends on the noisy input)."""
    dev = f0.device
    g = torch.Generator(device=dev).manual_seed(seed)
    t = torch.randint(1, T + 1, (f0.shape[0],), generator=g, device=dev)
    eps = torch.randn(f0.shape, generator=g, device=dev)
    ab = alpha_bar.to(device=dev, dtype=torch.float32)
    err = torch.empty(f0.shape[0], device=dev)
    for i in range(0, f0.shape[0], batch):
        sl = slice(i, i + batch)
        a = ab[t[sl]].view(-1, 1, 1, 1)
        f_t = a.sqrt() * f0[sl] + (1 - a).sqrt() * eps[sl]
        if ctx is None:
            pred = net(f_t, t[sl])
        else:
            pred = net(f_t, t[sl], ctx(f_t, t[sl]) if callable(ctx) else ctx[sl])
        err[sl] = (pred - eps[sl]).pow(2).flatten(1).mean(1)
    out = {"eps_mse": float(err.mean())}
    for lo, hi in eps_bands(T, n_bands):
        m = (t >= lo) & (t <= hi)
        out[f"eps_mse_t{lo}_{hi}"] = float(err[m].mean()) if m.any() else float("nan")
    return out


def write_curve(path: str | Path, rows: list[dict], **extra) -> pd.DataFrame:
    """A stage's learning curve (one row per epoch; ``extra`` columns such as the attacker's point)."""
    df = pd.DataFrame([{**extra, **r} for r in rows])
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
