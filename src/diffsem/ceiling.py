"""The feature ceiling: how much of the task the received features ẑ carry (docs/decisions.md §26).

At each operating point a wide MLP is trained with labels directly on ẑ (fresh channel and
self-noise draws every batch) from the transmitter–receiver training split, its epoch chosen on the
validation slice.  No function of ẑ beats the Bayes accuracy, and a trained network estimates that
bound from below, so the ceiling says how far each receiver is from what ẑ is known to allow.  Its
hidden width is set so that its parameter count matches the (unconditional) U-Net's, which makes it
also the capacity-matched control for "is DiffSem's gain from diffusion or from capacity?".

The same model trained on the adversary's split is the semantic attacker (issue "Attackers strong
enough to test the privacy claim"): ``train_feature_classifier`` serves both.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attack import SendFn, point_key
from .runtime import generator
from .training import FitResult, Validation, fit, make_optimizer
from .validation import VAL_SEED


class FeatureMLP(nn.Module):
    """ẑ (flattened) -> Linear+ReLU (h) -> Linear+ReLU (h) -> Linear (classes)."""

    def __init__(self, k: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.k, self.hidden = k, hidden
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(k, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def width_for(n_params: int, k: int, n_classes: int) -> int:
    """Hidden width h whose FeatureMLP has about ``n_params`` parameters: h^2 + (k + n_classes + 2) h + n_classes."""
    b = k + n_classes + 2
    return max(8, int(round((-b + math.sqrt(b * b + 4 * max(n_params - n_classes, 0))) / 2)))


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def train_feature_classifier(k: int, hidden: int, n_classes: int, send: SendFn, y: torch.Tensor, t: int, snr: float,
                             tcfg, seed: int, device, label: str, val_send: SendFn, y_val: torch.Tensor,
                             resume_path=None, meta=None) -> tuple[FeatureMLP, FitResult]:
    """A FeatureMLP on what ``send(rows, t, snr, g)`` delivers for training rows labelled ``y``; the epoch
    is chosen by accuracy on ``val_send``'s rows (fixed draws) labelled ``y_val``."""
    torch.manual_seed(seed)
    net = FeatureMLP(k, hidden, n_classes).to(device)
    g, gd = generator(seed), generator(seed, device)
    y_dev, yv_dev = y.to(device), y_val.to(device)

    def step(idx):
        rows = idx.to(device)
        return F.cross_entropy(net(send(rows, t, snr, gd)), y_dev[rows])  # fresh draws every batch

    def score():
        gv = generator(VAL_SEED + 17 * t, device)
        rows = torch.arange(y_val.shape[0], device=device)
        hit = sum(int((net(val_send(b, t, snr, gv)).argmax(1) == yv_dev[b]).sum()) for b in rows.split(1024))
        return {"acc": hit / max(int(y_val.shape[0]), 1)}

    opt, lrs = make_optimizer(net.parameters(), tcfg.lr, mode="max")
    res = fit(label, {"model": net}, opt, lrs, tcfg.epochs, y.shape[0], tcfg.batch_size, g, step, resume_path, meta,
              (gd,), tcfg.items_per_epoch, Validation(score, "acc", "max", tcfg.patience))
    return net, res


def ceiling_points(cfg) -> list[tuple[int, float]]:
    """Every evaluation grid point (Fig. 4's and Fig. 8's)."""
    return list(cfg.eval.grid_points())


__all__ = ["FeatureMLP", "width_for", "n_params", "train_feature_classifier", "ceiling_points", "point_key"]
