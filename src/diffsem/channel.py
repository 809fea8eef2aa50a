"""Power normalisation (Sec. IV-A) and the AWGN channel (Eq. 2, Eq. 23 in per-element form)."""

from __future__ import annotations

import math

import torch


def snr_linear(snr_db: float) -> float:
    """dB -> linear, refusing values that make no physical sense (NaN/inf)."""
    if snr_db is None or not math.isfinite(float(snr_db)):
        raise ValueError(f"SNR must be a finite number of dB, got {snr_db!r}")
    return 10.0 ** (float(snr_db) / 10.0)


def power_normalize(f: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each sample so that sum_i f_i^2 / k = 1 (the paper's constraint <= 1, met with equality).

    Equality (rather than only clipping large samples) gives every sample the same unit power, which
    is what Eq. 13's ESNR and Eq. 24's compensation assume for f0.
    """
    flat = f.flatten(1)
    power = flat.pow(2).mean(dim=1, keepdim=True)
    return (flat / torch.sqrt(power + eps)).view_as(f)


def per_sample_power(z: torch.Tensor) -> torch.Tensor:
    """Mean power per element of each sample, shape (B,)."""
    return z.flatten(1).pow(2).mean(dim=1)


def awgn(z: torch.Tensor, snr_db: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add white Gaussian noise with variance = (actual per-element power of each sample) / SNR.

    Eq. 23 sets sigma_ch^2 from the energy of what is actually transmitted; we use the per-sample,
    per-element power so the SNR means the same thing for any feature length k.
    """
    var = per_sample_power(z) / snr_linear(snr_db)
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    return z + noise * var.sqrt().view(-1, *([1] * (z.dim() - 1)))


def direct_noise(x: torch.Tensor, alpha_bar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Eq. 11 applied to images ("Direct" distortion, Alg. 1 line 15): sqrt(abar) x + sqrt(1-abar) n,
    with n scaled to each image's own power so the image-domain SNR equals Eq. 13's ESNR."""
    ab = torch.as_tensor(alpha_bar, dtype=x.dtype, device=x.device).reshape(-1, *([1] * (x.dim() - 1)))
    p = per_sample_power(x).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
    n = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return ab.sqrt() * x + (1 - ab).sqrt() * p.sqrt() * n
