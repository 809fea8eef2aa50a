"""Diffusion noise schedule (Eqs. 9-13).

Naming decision: the paper swaps the names of alpha and beta (its Eq. 9 calls the per-step noise
variance ``alpha_t``).  Here we use the DDPM convention that the paper's own numbers follow:

* ``betas[t]``  - per-step noise variance, linear from 1e-4 to 0.02 (the paper's Eq. 12 "alpha");
* ``alpha_bar[t] = prod_{s<=t} (1 - beta_s)`` with **1-indexed** t, and ``alpha_bar[0] = 1``.

With T = 500 this reproduces the paper's ESNR values: t=184 -> 0.01 dB, t=150 -> 2.3 dB,
t=67 -> 10 dB, t=344 -> -10 dB (pinned in ``tests/test_schedule.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Schedule:
    """A discrete DDPM schedule.  ``alpha_bar`` has T+1 entries, index 0 meaning 'no noise'."""

    betas: torch.Tensor  # shape (T+1,), betas[0] = 0
    alpha_bar: torch.Tensor  # shape (T+1,), alpha_bar[0] = 1

    @property
    def T(self) -> int:
        return self.betas.numel() - 1

    def esnr_db(self, t) -> torch.Tensor:
        """Equivalent SNR (Eq. 13) at step t for a unit-power feature, in dB."""
        return esnr_db(self.alpha_bar[torch.as_tensor(t, dtype=torch.long)])


def linear_schedule(T: int = 500, beta_start: float = 1e-4, beta_end: float = 2e-2) -> Schedule:
    """Eq. 12: linearly increasing per-step variances; Eq. 10's cumulative product, 1-indexed.

    Computed in float64 so that alpha_bar is exact to well below the float32 resolution the
    networks work in.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
    betas = torch.zeros(T + 1, dtype=torch.float64)
    betas[1:] = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    alpha_bar = torch.cumprod(1.0 - betas, dim=0)
    return Schedule(betas=betas, alpha_bar=alpha_bar)


def esnr_db(alpha_bar, signal_power: float = 1.0) -> torch.Tensor:
    """Eq. 13 in dB: power of sqrt(abar) f0 over power of sqrt(1-abar) eps, per element."""
    ab = torch.as_tensor(alpha_bar, dtype=torch.float64)
    return 10.0 * torch.log10(ab * signal_power / (1.0 - ab))


def t_for_esnr_db(schedule: Schedule, target_db: float) -> int:
    """The step t >= 1 whose ESNR is closest to ``target_db`` (used to convert SNRs to t, Fig. 4)."""
    e = schedule.esnr_db(torch.arange(1, schedule.T + 1))
    return int(torch.argmin((e - target_db).abs()).item()) + 1
