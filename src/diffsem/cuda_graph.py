"""The receiver's whole DDIM loop (Eq. 16) captured once as a CUDA graph and replayed (issue #14).

On a GPU the eager loop at batch 256 is launch-bound: each of the N U-Net evaluations is a few hundred
small kernels.  Capturing the N-step loop once per (network, batch shape, start step, N, context?, scale,
precision) and replaying it removes the launch cost — 2.3-2.9x on an H100 (docs/results.md, "GPU speed";
decisions §36).  The graph computes exactly the eager loop's kernels; every new capture is checked once
against the eager loop on the input it is first used for, and a capture whose output differs by more than
``CHECK_TOL`` (relative L2) is refused with an error, never used silently.

Only CUDA tensors are captured, and a key only on its second use: one-off shapes (E-DiffSem's shrinking
sets of undecided samples, a last partial batch) run the eager loop, since a capture costs about four
eager passes (two warm-ups, the capture, the check).  The runtime switch is ``diffsem --cuda-graphs`` (or ``DIFFSEM_CUDA_GRAPHS=1``), an execution
choice like ``--device``: it changes no config value and no result beyond floating-point reassociation.
"""

from __future__ import annotations

from typing import Callable

import torch

from .sampler import ddim_reverse, ddim_timesteps
from .schedule import Schedule

CHECK_TOL = 1e-4  # eager and replayed outputs are the same kernels: they agree far below this


def step_tensors(t_start: int, max_steps: int, device: torch.device, dtype: torch.dtype) -> list[torch.Tensor]:
    """The DDIM steps (all but the final 0) as one-element device tensors: a U-Net given these never
    copies an int from the host inside the loop, which a graph capture forbids."""
    return [torch.full((1,), float(t), device=device, dtype=dtype) for t in ddim_timesteps(t_start, max_steps)[:-1]]


class GraphCache:
    """Captured DDIM loops, keyed by everything that fixes their kernels; all share one memory pool."""

    def __init__(self, min_uses: int = 2) -> None:
        self.min_uses = min_uses  # capture a key on this use (earlier uses run eagerly)
        self._graphs: dict[tuple, tuple] = {}
        self._uses: dict[tuple, int] = {}
        self._pool = None
        self.captures = 0
        self.replays = 0

    def run(self, eps_fn: Callable, key: tuple, x: torch.Tensor, context: torch.Tensor | None, schedule: Schedule,
            t_start: int, max_steps: int) -> torch.Tensor:
        """f_hat of ``ddim_reverse(eps_fn(., ., context), x, ...)`` (``eps_fn(x, t, context)`` with t a device
        tensor), from a graph when ``x`` is on CUDA."""
        steps = step_tensors(t_start, max_steps, x.device, x.dtype)
        eager = lambda xx, cc: ddim_reverse(lambda a, t: eps_fn(a, t, cc), xx, schedule, t_start, max_steps,  # noqa: E731
                                            step_values=steps)
        if x.device.type != "cuda":
            return eager(x, context)
        full_key = (*key, tuple(x.shape), x.dtype, str(x.device), t_start, max_steps, context is not None)
        entry = self._graphs.get(full_key)
        if entry is None:
            self._uses[full_key] = self._uses.get(full_key, 0) + 1
            if self._uses[full_key] < self.min_uses:
                return eager(x, context)
            entry = self._capture(eager, x, context)
            self._graphs[full_key] = entry
            graph, sx, sc, out = entry
            ref = eager(x, context)
            sx.copy_(x)
            if sc is not None:
                sc.copy_(context)
            graph.replay()
            err = float((out.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))
            if not err <= CHECK_TOL:
                del self._graphs[full_key]
                raise RuntimeError(f"cuda graph: the replayed DDIM loop differs from the eager one by {err:.2e} "
                                   f"(tolerance {CHECK_TOL:g}); run without --cuda-graphs")
            self.replays += 1
            return out.clone()
        graph, sx, sc, out = entry
        sx.copy_(x)
        if sc is not None:
            sc.copy_(context)
        graph.replay()
        self.replays += 1
        return out.clone()

    def _capture(self, eager: Callable, x: torch.Tensor, context: torch.Tensor | None) -> tuple:
        sx = x.clone()
        sc = context.clone() if context is not None else None
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):  # warm-up off the capture: cuDNN picks its kernels here
            for _ in range(2):
                eager(sx, sc)
        torch.cuda.current_stream(x.device).wait_stream(side)
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            out = eager(sx, sc)
        self.captures += 1
        return graph, sx, sc, out
