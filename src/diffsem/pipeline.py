"""Composition of the pieces into the transmitter (Eq. 1), channel (Eq. 2) and receivers (Eq. 3, Alg. 2).

Nothing here trains; everything is batched and runs under the caller's grad mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

from .channel import awgn, power_normalize
from .cuda_graph import GraphCache
from .fading import match_steps, rayleigh_channel, zf_noise_variance
from .sampler import ddim_reverse
from .schedule import Schedule
from .self_noising import match_to_step, noise_variance_table, received_noise_variance, self_noise, self_noise_each

CHANNEL_KINDS = ("awgn", "rayleigh")


@dataclass
class Received:
    """One transmission as the receiver holds it (``Link.send``): the equalised ``z_hat``; what Theta reads,
    ``z_in`` (z_hat on its matched step) and ``t_frac`` (that step / T, (B, 1)); and per sample the step
    and scale themselves, for the denoiser (decisions §23, §39)."""

    z_hat: torch.Tensor
    z_in: torch.Tensor
    t_frac: torch.Tensor
    steps: torch.Tensor  # (B,) long, on the CPU
    scales: torch.Tensor  # (B,) float64, on the CPU

    def groups(self) -> Iterator[tuple[int, float, torch.Tensor]]:
        """(step, scale, mask on z_hat's device) for each distinct step: the denoiser runs per group."""
        for s in self.steps.unique().tolist():
            m = self.steps == s
            yield int(s), float(self.scales[m][0]), m.to(self.z_hat.device)


@dataclass
class Link:
    """Transmitter Phi + Psi and the channel at one operating point (T', SNR).

    ``kind`` is the channel ``send`` draws: "awgn" (Eq. 2) or "rayleigh" (block fading with receiver CSI,
    zero-forced, ``fading.rayleigh_channel``; decisions §37, §39).  ``channel`` is always Eq. 2's AWGN."""

    encoder: nn.Module
    schedule: Schedule
    quantize_t2: bool = False
    kind: str = "awgn"

    def __post_init__(self) -> None:
        if self.kind not in CHANNEL_KINDS:
            raise ValueError(f"channel kind must be one of {', '.join(CHANNEL_KINDS)}, got {self.kind!r}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """f0 = normalised Phi(x) (Sec. IV-A)."""
        return power_normalize(self.encoder(x))

    def transmit(self, f0: torch.Tensor, t_prime: int, snr_db: float | None, g: torch.Generator | None = None) -> torch.Tensor:
        """z'' = Psi(f0) (Eqs. 17, 20, 24)."""
        return self_noise(f0, self.schedule, t_prime, snr_db, self.quantize_t2, g)

    def transmit_each(self, f0: torch.Tensor, t_prime: torch.Tensor, snr_db: float | None,
                      g: torch.Generator | None = None) -> torch.Tensor:
        """Psi with one T' per sample (stage 1 with ``jscc.t_per_sample``)."""
        return self_noise_each(f0, self.schedule, t_prime, self._variance_table(snr_db), g)

    def _variance_table(self, snr_db: float | None) -> torch.Tensor:
        """Psi's self-noise variance for every T' at ``snr_db`` (``noise_variance_table``), built once per SNR."""
        key = (snr_db, self.quantize_t2)
        if getattr(self, "_var_key", None) != key:
            self._var_table, self._var_key = noise_variance_table(self.schedule, snr_db, self.quantize_t2), key
        return self._var_table

    @staticmethod
    def channel(z: torch.Tensor, snr_db: float | None, g: torch.Generator | None = None) -> torch.Tensor:
        """Eq. 2; ``snr_db=None`` is a noiseless link."""
        return z if snr_db is None else awgn(z, snr_db, g)

    def send(self, f0: torch.Tensor, t_prime, snr_db: float | None, g: torch.Generator | None = None) -> Received:
        """Psi at T' (an int, or a tensor of one T' per sample), then ``kind``'s channel; the received
        signal with each sample's matched step.  On AWGN this is ``channel(transmit(...))`` with the same
        draws and ``theta_view``'s steps.  On Rayleigh fading (no transmitter CSI: the self-noise is Eq. 24's
        at the nominal SNR) each sample is zero-forced with its own gain and its noise, self-noise plus
        P / (gamma |h|^2), goes to a step per sample (``fading.match_steps``)."""
        per_sample = isinstance(t_prime, torch.Tensor)
        z = self.transmit_each(f0, t_prime, snr_db, g) if per_sample else self.transmit(f0, int(t_prime), snr_db, g)
        if self.kind == "awgn" or snr_db is None:
            z_hat = self.channel(z, snr_db, g)
            return Received(z_hat, *self._matched_view(z_hat, t_prime, snr_db))
        z_hat, inst = rayleigh_channel(z, snr_db, g)
        tp = t_prime.cpu() if per_sample else torch.full((z.shape[0],), int(t_prime), dtype=torch.long)
        v = self._variance_table(snr_db)[tp]
        steps, scales = match_steps(self.schedule, tp, zf_noise_variance(self.schedule.alpha_bar.double()[tp], v, inst))
        shape = (-1, *([1] * (z_hat.dim() - 1)))
        z_in = z_hat * scales.to(device=z_hat.device, dtype=z_hat.dtype).view(shape)
        tt = (steps.double() / self.schedule.T).to(device=z_hat.device, dtype=z_hat.dtype).view(-1, 1)
        return Received(z_hat, z_in, tt, steps, scales)

    def receive_step(self, t_prime: int, snr_db: float | None) -> tuple[int, float]:
        """(diffusion step, scale) that the received signal corresponds to (see ``match_to_step``)."""
        return match_to_step(self.schedule, t_prime, received_noise_variance(self.schedule, t_prime, snr_db, self.quantize_t2))

    def receive_steps(self, snr_db: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``receive_step`` for every T' = 0..T at one SNR: (steps (long), scales), for per-sample T'."""
        pairs = [self.receive_step(t, snr_db) for t in range(self.schedule.T + 1)]
        return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])

    def _step_table(self, snr_db: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``receive_steps`` at ``snr_db``, built once per SNR."""
        key = ("steps", snr_db, self.quantize_t2)
        if getattr(self, "_steps_key", None) != key:
            self._steps, self._steps_key = self.receive_steps(snr_db), key
        return self._steps

    def theta_view(self, z_hat: torch.Tensor, t_prime, snr_db: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """What Theta reads for a received z_hat sent at T' (an int, or a tensor of one T' per sample):
        z_hat on the step it matches and that step as T/T (docs/decisions.md §23).  Equal to
        (z_hat, T'/T) whenever the compensation works; at small T' the channel's own noise sets the step."""
        return self._matched_view(z_hat, t_prime, snr_db)[:2]

    def _matched_view(self, z_hat: torch.Tensor, t_prime, snr_db: float | None):
        """``theta_view`` on an AWGN link, with the per-sample steps (long) and scales (float64) on the CPU."""
        n = z_hat.shape[0]
        if isinstance(t_prime, torch.Tensor):
            steps, scales = (v[t_prime.cpu()] for v in self._step_table(snr_db))
            shape = (-1, *([1] * (z_hat.dim() - 1)))
            return (z_hat * scales.to(device=z_hat.device, dtype=z_hat.dtype).view(shape),
                    (steps.to(device=z_hat.device, dtype=z_hat.dtype) / self.schedule.T).view(-1, 1), steps.long(), scales.double())
        t_start, scale = self.receive_step(int(t_prime), snr_db)
        return (matched(z_hat, scale), t_input(t_start, self.schedule.T, n, z_hat),
                torch.full((n,), t_start, dtype=torch.long), torch.full((n,), float(scale), dtype=torch.float64))


def t_input(t_prime: int, T: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """The classifier's t input: T'/T for each sample."""
    return torch.full((n, 1), t_prime / T, dtype=like.dtype, device=like.device)


def matched(z_hat: torch.Tensor, scale: float) -> torch.Tensor:
    """z_hat put on the diffusion step it matches (``Link.receive_step``'s scale; 1 when compensated)."""
    return z_hat if scale == 1.0 else z_hat * scale


def denoise(
    unet: nn.Module,
    z_hat: torch.Tensor,
    schedule: Schedule,
    t_start: int,
    scale: float,
    max_steps: int,
    context: torch.Tensor | None = None,
    guidance: float = 0.0,
    precision: str = "fp32",
    graphs: GraphCache | None = None,
) -> torch.Tensor:
    """Delta: DDIM (Eq. 16) from the matched step down to 0, optionally label-conditioned (Eq. 18).

    ``guidance`` w > 0 is classifier-free guidance, eps = (1 + w) eps(x, t, c) - w eps(x, t, null)
    (docs/decisions.md §25); w = 0 is the paper's plain conditional prediction.  ``precision`` "bf16"
    evaluates the U-Net under bf16 autocast and keeps the DDIM update in the input's dtype (§35).
    ``graphs``: replay the loop from a CUDA graph when z_hat is on a GPU (``cuda_graph``; §36)."""
    if context is None:
        fn = lambda x, t, c: unet(x, t)  # noqa: E731
    elif guidance == 0:
        fn = lambda x, t, c: unet(x, t, c)  # noqa: E731
    else:
        fn = lambda x, t, c: (1 + guidance) * unet(x, t, c) - guidance * unet(x, t)  # noqa: E731
    if precision == "bf16":
        eps = fn

        def fn(x, t, c):
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                return eps(x, t, c).to(x.dtype)
    elif precision != "fp32":
        raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
    x = z_hat * scale
    if graphs is not None:
        return graphs.run(fn, (id(unet), float(guidance), precision), x, context, schedule, t_start, max_steps)
    return ddim_reverse(lambda a, t: fn(a, t, context), x, schedule, t_start, max_steps)


@dataclass
class Receivers:
    """The receivers of the evaluation: ``classifier`` (bypass), ``classifier-ft`` (the control: the
    bypass Theta fine-tuned like Alg. 2 but on [z_hat, z_hat, t]), ``diffsem``, ``e-diffsem``."""

    schedule: Schedule
    classifier: nn.Module  # stage-1 Theta, input [z_hat, z_hat, t]
    unet: nn.Module | None = None  # unconditional Delta
    classifier_diffsem: nn.Module | None = None  # Theta fine-tuned on DiffSem's f_hat
    unet_cond: nn.Module | None = None  # conditional Delta
    classifier_ediffsem: nn.Module | None = None  # Theta fine-tuned on E-DiffSem's f_hat
    max_steps: int = 50
    max_iters: int = 3
    classifier_ft: nn.Module | None = None  # the control: Theta fine-tuned on [z_hat, z_hat, t]
    guidance: float = 0.0  # E-DiffSem's classifier-free guidance weight w
    precision: str = "fp32"  # the DDIM loop's U-Net evaluations: fp32 | bf16 (``denoise``)
    cuda_graphs: bool | None = None  # replay DDIM loops from CUDA graphs on a GPU; None = the runtime switch

    def __post_init__(self) -> None:
        from .runtime import cuda_graphs_enabled

        on = cuda_graphs_enabled() if self.cuda_graphs is None else self.cuda_graphs
        self.graphs = GraphCache() if on else None

    def bypass_logits(self, z_hat: torch.Tensor, t_prime: int) -> torch.Tensor:
        return self.classifier(z_hat, z_hat, t_input(t_prime, self.schedule.T, z_hat.shape[0], z_hat))

    def classifier_ft_logits(self, z_hat: torch.Tensor, t_prime: int) -> torch.Tensor:
        return self.classifier_ft(z_hat, z_hat, t_input(t_prime, self.schedule.T, z_hat.shape[0], z_hat))

    def diffsem_logits(self, z_hat: torch.Tensor, t_start: int, scale: float) -> torch.Tensor:
        """Theta on [z, f_hat, t] with z = scale * z_hat and t = t_start: the step the received signal
        actually matches (``Link.receive_step``), which is T' whenever the compensation works
        (scale = 1), and a later step when the channel is noisier than T' asks for (docs/decisions.md §23)."""
        f_hat = denoise(self.unet, z_hat, self.schedule, t_start, scale, self.max_steps, precision=self.precision,
                        graphs=self.graphs)
        return self.classifier_diffsem(matched(z_hat, scale), f_hat, t_input(t_start, self.schedule.T, z_hat.shape[0], z_hat))

    def ediffsem_logits(self, z_hat: torch.Tensor, t_start: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Alg. 2 lines 8-14 with per-sample stopping.

        Start from the bypass soft label; each pass denoises with the current soft label as context
        and re-classifies.  A sample stops once its predicted label no longer changes (the paper's
        "until accuracy stabilises", which needs ground truth, replaced by agreement), or after
        ``max_iters`` passes.  Only still-changing samples are recomputed.  Returns (logits, passes
        used per sample).
        """
        n = z_hat.shape[0]
        tt = t_input(t_start, self.schedule.T, n, z_hat)
        z_in = matched(z_hat, scale)
        logits = self.bypass_logits(z_in, t_start)
        passes = torch.zeros(n, dtype=torch.long, device=z_hat.device)
        active = torch.arange(n, device=z_hat.device)
        for _ in range(self.max_iters):
            if active.numel() == 0:
                break
            ctx = torch.softmax(logits[active], dim=1)
            f_hat = denoise(self.unet_cond, z_hat[active], self.schedule, t_start, scale, self.max_steps, ctx, self.guidance,
                            self.precision, self.graphs)
            new = self.classifier_ediffsem(z_in[active], f_hat, tt[active])
            changed = new.argmax(1) != logits[active].argmax(1)
            logits[active] = new
            passes[active] += 1
            active = active[changed]
        return logits, passes
