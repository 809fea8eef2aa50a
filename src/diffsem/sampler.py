"""Deterministic DDIM reverse process (Eq. 16), independent of any network.

Step-count decision (docs/decisions.md): the paper says both "N = min(T', 50)" (Sec. III-D) and
"a fixed stride-10 grid [0, 10, ..., 500]" (Sec. III-C).  We run N = min(t_start, max_steps) steps on
``round(linspace(t_start, 0, N + 1))``; with max_steps = 50 this is the stride-10 grid exactly when
t_start = 500 and a uniform grid anchored at T' otherwise, so the reverse always starts at the step
the transmitter actually stopped at instead of a snapped neighbour.
"""

from __future__ import annotations

from typing import Callable

import torch

from .schedule import Schedule

# eps_model(x_t, t) -> predicted noise; t is an int step shared by the batch
EpsModel = Callable[[torch.Tensor, int], torch.Tensor]


def ddim_timesteps(t_start: int, max_steps: int = 50) -> list[int]:
    """Decreasing step sequence t_start = s_0 > s_1 > ... > s_N = 0 with N = min(t_start, max_steps)."""
    if t_start < 0:
        raise ValueError(f"t_start must be >= 0, got {t_start}")
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    n = min(int(t_start), int(max_steps))
    if n == 0:
        return [0]
    seq = torch.linspace(float(t_start), 0.0, n + 1, dtype=torch.float64).round().long().tolist()
    # rounding cannot create duplicates because the spacing is >= 1, but be explicit about it
    out: list[int] = []
    for s in seq:
        if not out or s < out[-1]:
            out.append(int(s))
    return out


def ddim_step(x_t: torch.Tensor, eps: torch.Tensor, abar_t: float, abar_prev: float) -> torch.Tensor:
    """Eq. 16 (eta = 0): predict f0 from (x_t, eps) and re-noise it deterministically to abar_prev."""
    f0_hat = (x_t - (1.0 - abar_t) ** 0.5 * eps) / abar_t**0.5
    return abar_prev**0.5 * f0_hat + (1.0 - abar_prev) ** 0.5 * eps


@torch.no_grad()
def ddim_reverse(eps_model: EpsModel, x: torch.Tensor, schedule: Schedule, t_start: int, max_steps: int = 50,
                 step_values: list | None = None) -> torch.Tensor:
    """Run Eq. 16 from step ``t_start`` down to 0 and return the estimate of f0.  ``step_values``: what
    ``eps_model`` receives for each step instead of the int (device tensors, so that a CUDA graph can
    capture the loop; ``cuda_graph.step_tensors``)."""
    steps = ddim_timesteps(t_start, max_steps)
    ab = schedule.alpha_bar.tolist()  # python floats: no host-device syncs inside the loop
    for i, (t, t_prev) in enumerate(zip(steps[:-1], steps[1:])):
        x = ddim_step(x, eps_model(x, t if step_values is None else step_values[i]), ab[t], ab[t_prev])
    return x
