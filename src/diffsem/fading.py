"""Rayleigh block fading with receiver CSI (issue #15; docs/decisions.md §37), independent of any network.

The paper leaves fading to future work.  Our model: pairs of real features form complex symbols
s_j = z_{2j} + i z_{2j+1}; one complex gain h ~ CN(0, 1) per transmitted feature vector (block fading, so
the denoiser sees one noise level per sample); y = h s + n with n circular Gaussian whose real and
imaginary parts each have the AWGN link's per-element variance P / gamma (P: the sample's per-element
power, as ``channel.awgn``).  The instantaneous SNR is gamma |h|^2, exponential with mean gamma.

The receiver knows h and equalises.  For one scalar gain per block the linear MMSE estimate is
``conj(h) y / (|h|^2 + 1/gamma)``, a shrunken copy of the zero-forcing ``y / h``; removing that shrinkage
(the *unbiased* MMSE estimate, what a diffusion denoiser needs: signal times a known factor plus noise)
gives exactly ``y / h``.  So the receivers use ``zf_equalize``, whose output is z plus white noise of
per-element variance P / (gamma |h|^2) — an AWGN link at the sample's own SNR — and map that SNR to a
diffusion step the way they do on AWGN (``self_noising.match_to_step``), one step per sample.
"""

from __future__ import annotations

import math

import torch

from .channel import per_sample_power, snr_linear
from .schedule import Schedule


def rayleigh_gains(n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """n block gains h ~ CN(0, 1) (E|h|^2 = 1), complex64."""
    re = torch.randn(n, generator=generator, device=device)
    im = torch.randn(n, generator=generator, device=device)
    return torch.complex(re, im) / math.sqrt(2.0)


def to_symbols(z: torch.Tensor) -> torch.Tensor:
    """(B, ...) real with an even number k of elements per sample -> (B, k/2) complex symbols."""
    flat = z.flatten(1)
    if flat.shape[1] % 2:
        raise ValueError(f"fading: a sample has {flat.shape[1]} real features; complex symbols need an even number")
    return torch.complex(flat[:, 0::2].float(), flat[:, 1::2].float())


def from_symbols(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Inverse of ``to_symbols`` into ``like``'s shape and dtype."""
    flat = torch.stack([s.real, s.imag], dim=2).flatten(1)
    return flat.to(like.dtype).view_as(like)


def fade(z: torch.Tensor, h: torch.Tensor, snr_db: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """y = h s + n per sample (complex (B, k/2)); n's real and imaginary parts have variance P / gamma."""
    s = to_symbols(z)
    std = (per_sample_power(z).float() / snr_linear(snr_db)).sqrt().view(-1, 1)
    n = torch.complex(torch.randn(s.shape, generator=generator, device=z.device),
                      torch.randn(s.shape, generator=generator, device=z.device)) * std
    return h.view(-1, 1) * s + n


def zf_equalize(y: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """y / h: the unbiased (zero-forcing = unbiased-MMSE) estimate of s."""
    return y / h.view(-1, 1)


def mmse_equalize(y: torch.Tensor, h: torch.Tensor, snr_db: float) -> torch.Tensor:
    """conj(h) y / (|h|^2 + 1/gamma): the linear MMSE estimate of s (shrunk towards 0).  The noise of a
    symbol has variance 2P/gamma and the symbol power is 2P (two features of power P), hence 1/gamma."""
    return h.conj().view(-1, 1) * y / (h.abs().pow(2).view(-1, 1) + 1.0 / snr_linear(snr_db))


def rayleigh_channel(z: torch.Tensor, snr_db: float, generator: torch.Generator | None = None,
                     h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One fading link with receiver CSI: (zero-forced z_hat shaped like z, instantaneous SNR gamma |h|^2
    per sample, linear).  ``h`` may be given (transmitter CSI needs the draw before sending)."""
    if h is None:
        h = rayleigh_gains(z.shape[0], generator, z.device)
    y = fade(z, h, snr_db, generator)
    return from_symbols(zf_equalize(y, h), z), snr_linear(snr_db) * h.abs().pow(2)


def faded_snr_db(snr_db, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Each sample's instantaneous SNR in dB, snr_db + 10 log10 |h|^2 with h ~ CN(0, 1) (``snr_db``: a float
    or one per sample).  A zero-forced block-fading link is an AWGN link at this SNR per sample (the noise
    n / h is circular Gaussian of variance sigma^2 / |h|^2), which is how systems whose channel is a
    per-sample SNR (IBAL, IBAL-D) train under ``channel.kind: rayleigh``."""
    h = rayleigh_gains(n, generator, device)
    return torch.as_tensor(snr_db, dtype=torch.float32, device=device) + 10 * torch.log10(h.abs().pow(2))


def outage_probability(snr_db: float, threshold_db: float) -> float:
    """P(gamma |h|^2 < gamma_th) = 1 - exp(-gamma_th / gamma) for Rayleigh fading."""
    return 1.0 - math.exp(-snr_linear(threshold_db) / snr_linear(snr_db))


def zf_noise_variance(abar: float, v, inst_snr: torch.Tensor) -> torch.Tensor:
    """Per-sample noise variance after zero-forcing, for self-noise ``v`` (a float or one per sample) and
    instantaneous SNR ``inst_snr`` (linear): v + P / inst_snr with P = abar + v the power sent (on the CPU)."""
    v = torch.as_tensor(v, dtype=torch.float64)
    return v + (abar + v) / inst_snr.double().cpu()


def self_noise_variance_csit(schedule: Schedule, t_prime: int, inst_snr: torch.Tensor) -> torch.Tensor:
    """With CSI at the transmitter: Eq. 24's compensation at each sample's own SNR gamma |h|^2 (B,),
    so the legitimate receiver sees exactly T' wherever the link allows (v >= 0)."""
    abar = float(schedule.alpha_bar[t_prime])
    g = inst_snr.double()
    return ((g * (1.0 - abar) - abar) / (g + 1.0)).clamp_min(0.0)


def match_steps(schedule: Schedule, t_prime, noise_var: torch.Tensor,
                floor_at_t_prime: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``self_noising.match_to_step`` for a noise variance per sample: (steps (B,) long, scales (B,)).
    Each sample goes to the step whose log-ESNR is nearest to abar_T' / noise, never before T' (the
    receivers' convention: Θ is told T'). ``floor_at_t_prime=False`` lets a sample whose noise is below
    what T' implies go to an earlier step (the diffusion-prior eavesdropper, decisions §44; the scale is
    then above 1). ``t_prime``: one T' for all samples, or a tensor of one per sample (stage 1 with
    ``jscc.t_per_sample``)."""
    ab = schedule.alpha_bar.double()
    noise_var = noise_var.double().cpu()
    tp = torch.as_tensor(t_prime, dtype=torch.long).cpu().expand(noise_var.shape[0])
    a2 = ab[tp]
    esnr = torch.log(ab[1:] / (1 - ab[1:]))
    target = torch.log(a2 / noise_var.clamp_min(1e-300))
    t = (esnr.view(1, -1) - target.view(-1, 1)).abs().argmin(1) + 1
    t = torch.where(noise_var <= 0, tp, t)
    if floor_at_t_prime:
        t = torch.maximum(t, tp)
    return t, (ab[t] / a2).sqrt()


def lmmse_scale(abar: float, noise_var: torch.Tensor) -> torch.Tensor:
    """Per-sample factor of the linear MMSE estimate of a unit-power f0 from sqrt(abar) f0 + n with noise
    variance ``noise_var``: sqrt(abar) / (abar + noise_var). What a fading-trained attacker reads: the
    estimate's amplitude carries the sample's noise level, which a plain z_hat would not."""
    return abar**0.5 / (abar + noise_var)
