"""Composition of the pieces into the transmitter (Eq. 1), channel (Eq. 2) and receivers (Eq. 3, Alg. 2).

Nothing here trains; everything is batched and runs under the caller's grad mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .channel import awgn, power_normalize
from .sampler import ddim_reverse
from .schedule import Schedule
from .self_noising import match_to_step, received_noise_variance, self_noise


@dataclass
class Link:
    """Transmitter Phi + Psi and the AWGN channel at one operating point (T', SNR)."""

    encoder: nn.Module
    schedule: Schedule
    quantize_t2: bool = False

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """f0 = normalised Phi(x) (Sec. IV-A)."""
        return power_normalize(self.encoder(x))

    def transmit(self, f0: torch.Tensor, t_prime: int, snr_db: float | None, g: torch.Generator | None = None) -> torch.Tensor:
        """z'' = Psi(f0) (Eqs. 17, 20, 24)."""
        return self_noise(f0, self.schedule, t_prime, snr_db, self.quantize_t2, g)

    @staticmethod
    def channel(z: torch.Tensor, snr_db: float | None, g: torch.Generator | None = None) -> torch.Tensor:
        """Eq. 2; ``snr_db=None`` is a noiseless link."""
        return z if snr_db is None else awgn(z, snr_db, g)

    def receive_step(self, t_prime: int, snr_db: float | None) -> tuple[int, float]:
        """(diffusion step, scale) that the received signal corresponds to (see ``match_to_step``)."""
        return match_to_step(self.schedule, t_prime, received_noise_variance(self.schedule, t_prime, snr_db, self.quantize_t2))


def t_input(t_prime: int, T: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """The classifier's t input: T'/T for each sample."""
    return torch.full((n, 1), t_prime / T, dtype=like.dtype, device=like.device)


def denoise(
    unet: nn.Module,
    z_hat: torch.Tensor,
    schedule: Schedule,
    t_start: int,
    scale: float,
    max_steps: int,
    context: torch.Tensor | None = None,
) -> torch.Tensor:
    """Delta: DDIM (Eq. 16) from the matched step down to 0, optionally label-conditioned (Eq. 18)."""
    if context is None:
        fn = lambda x, t: unet(x, t)  # noqa: E731
    else:
        fn = lambda x, t: unet(x, t, context)  # noqa: E731
    return ddim_reverse(fn, z_hat * scale, schedule, t_start, max_steps)


@dataclass
class Receivers:
    """The three receivers of the evaluation: ``classifier`` (bypass), ``diffsem``, ``e-diffsem``."""

    schedule: Schedule
    classifier: nn.Module  # stage-1 Theta, input [z_hat, z_hat, t]
    unet: nn.Module | None = None  # unconditional Delta
    classifier_diffsem: nn.Module | None = None  # Theta fine-tuned on DiffSem's f_hat
    unet_cond: nn.Module | None = None  # conditional Delta
    classifier_ediffsem: nn.Module | None = None  # Theta fine-tuned on E-DiffSem's f_hat
    max_steps: int = 50
    max_iters: int = 3

    def bypass_logits(self, z_hat: torch.Tensor, t_prime: int) -> torch.Tensor:
        return self.classifier(z_hat, z_hat, t_input(t_prime, self.schedule.T, z_hat.shape[0], z_hat))

    def diffsem_logits(self, z_hat: torch.Tensor, t_prime: int, t_start: int, scale: float) -> torch.Tensor:
        f_hat = denoise(self.unet, z_hat, self.schedule, t_start, scale, self.max_steps)
        return self.classifier_diffsem(z_hat, f_hat, t_input(t_prime, self.schedule.T, z_hat.shape[0], z_hat))

    def ediffsem_logits(self, z_hat: torch.Tensor, t_prime: int, t_start: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Alg. 2 lines 8-14 with per-sample stopping.

        Start from the bypass soft label; each pass denoises with the current soft label as context
        and re-classifies.  A sample stops once its predicted label no longer changes (the paper's
        "until accuracy stabilises", which needs ground truth, replaced by agreement), or after
        ``max_iters`` passes.  Only still-changing samples are recomputed.  Returns (logits, passes
        used per sample).
        """
        n = z_hat.shape[0]
        tt = t_input(t_prime, self.schedule.T, n, z_hat)
        logits = self.bypass_logits(z_hat, t_prime)
        passes = torch.zeros(n, dtype=torch.long, device=z_hat.device)
        active = torch.arange(n, device=z_hat.device)
        for _ in range(self.max_iters):
            if active.numel() == 0:
                break
            zs = z_hat[active]
            ctx = torch.softmax(logits[active], dim=1)
            f_hat = denoise(self.unet_cond, zs, self.schedule, t_start, scale, self.max_steps, ctx)
            new = self.classifier_ediffsem(zs, f_hat, tt[active])
            changed = new.argmax(1) != logits[active].argmax(1)
            logits[active] = new
            passes[active] += 1
            active = active[changed]
        return logits, passes
