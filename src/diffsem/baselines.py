"""Baselines of Sec. IV: Direct, Permutation (ref. [31]), IBAL and IBAL-D (ref. [29]).

No public code exists for these; choices the papers leave open are listed in docs/baselines.md.

* **Direct**: the image itself is noised per Eq. 11 at the grid point's level and classified by the
  strong classifier (which also learned such images, Alg. 1 line 15).  At a point (T', SNR) the
  image carries the same noise-to-signal ratio as DiffSem's received feature (1 - abar_T' when the
  compensation works, more when the channel alone is noisier).
* **Permutation**: the four quadrants, top-left and bottom-right swapped, then noised as in Direct,
  then a strong classifier (same architecture, trained on clean and permuted-noised images).
* **IBAL**: a task-oriented JSCC (the Table I encoder/classifier) trained with
  CE + beta * KL (variational information bottleneck on the transmitted feature) - lambda * MSE of an
  auxiliary decoder D that learns to reconstruct x from the received signal; D and the system are
  updated alternately; D exists only in training.  Trained at one SNR.
* **IBAL-D**: IBAL trained across SNRs with the SNR as the classifier's scalar input and a privacy
  weight that scales with the channel noise, lambda(snr) = lambda * 10^((snr_ref - snr)/10) (clipped).

IBAL systems have no self-noising; a grid point (T', SNR) is mapped to the channel SNR that gives
DiffSem's receiver the same noise level (Eq. 13), the paper's "SNR recalculated into t".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .channel import awgn, per_sample_power, power_normalize
from .schedule import Schedule
from .self_noising import received_noise_variance


def permute_quadrants(x: torch.Tensor) -> torch.Tensor:
    """Swap the top-left and bottom-right quadrants (an involution; the other two stay put)."""
    h, w = x.shape[-2], x.shape[-1]
    if h % 2 or w % 2:
        raise ValueError(f"quadrant permutation needs even image sides, got {h}x{w}")
    h2, w2 = h // 2, w // 2
    out = x.clone()
    out[..., :h2, :w2] = x[..., h2:, w2:]
    out[..., h2:, w2:] = x[..., :h2, :w2]
    return out


def point_noise_ratio(schedule: Schedule, t: int, snr_db: float | None) -> tuple[float, float]:
    """(signal scale^2, noise variance) that DiffSem's receiver sees at (T', SNR), per unit signal power."""
    return float(schedule.alpha_bar[t]), received_noise_variance(schedule, t, snr_db)


def effective_snr_db(schedule: Schedule, t: int, snr_db: float | None) -> float:
    """The channel SNR at which a system without self-noising sees DiffSem's noise level at (T', SNR)."""
    a, v = point_noise_ratio(schedule, t, snr_db)
    if v <= 0:
        return 60.0  # noiseless: the schema's largest SNR
    return 10 * math.log10(a / v)


def direct_point(x: torch.Tensor, schedule: Schedule, t: int, snr_db: float | None, g=None) -> torch.Tensor:
    """Eq. 11 on images at a grid point: sqrt(abar) x + sqrt(v) * sqrt(P_x) * n."""
    a, v = point_noise_ratio(schedule, t, snr_db)
    p = per_sample_power(x).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
    n = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
    return math.sqrt(a) * x + math.sqrt(v) * p.sqrt() * n


class IBALTransmitter(nn.Module):
    """Table I encoder as the mean of a Gaussian feature with a learned per-element log-variance.

    The information bottleneck's KL term, KL(N(mu, sigma^2) || N(0, I)) per sample, is returned by
    ``forward``; at inference the mean is sent (deterministic, like DiffSem's encoder).
    """

    def __init__(self, encoder: nn.Module, k: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.logvar = nn.Parameter(torch.full((k,), -4.0))

    def forward(self, x: torch.Tensor, sample: bool = True, g=None) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.encoder(x)
        flat = mu.flatten(1)
        lv = self.logvar.expand_as(flat)
        kl = 0.5 * (lv.exp() + flat.pow(2) - 1 - lv).sum(1)
        if sample:
            eps = torch.randn(flat.shape, generator=g, device=flat.device, dtype=flat.dtype)
            flat = flat + (0.5 * lv).exp() * eps
        return power_normalize(flat.view_as(mu)), kl


def snr_input(snr_db: float | torch.Tensor, n: int, like: torch.Tensor) -> torch.Tensor:
    """IBAL-D's SNR input on the classifier's scalar slot, mapped from [-20, 40] dB to [0, 1]."""
    s = torch.as_tensor(snr_db, dtype=like.dtype, device=like.device).reshape(-1, 1).expand(n, 1)
    return (s + 20.0) / 60.0


def theta_snr_input(system: str, variant: str, snr_db, n: int, like: torch.Tensor) -> torch.Tensor:
    """What an IBAL system's classifier reads in its scalar slot: the SNR for IBAL-D, and for both systems
    in the authors' recipe (their classifier always embeds the channel's noise level); else 0."""
    if system == "ibal-d" or variant == "authors":
        return snr_input(snr_db, n, like)
    return torch.zeros(n, 1, device=like.device, dtype=like.dtype)


# Molchanov et al. (2017), Eq. 14: the KL of a log-uniform prior, fitted as a function of alpha = sigma^2 / mu^2
LOG_UNIFORM_K = (0.63576, 1.87320, 1.48695)


def log_uniform_kl(alpha: torch.Tensor) -> torch.Tensor:
    """Per-sample KL(q || log-uniform) summed over the features, for per-element alpha = sigma^2 / x^2
    (the approximation the IBAL authors use: k1 - k1 sigmoid(k2 + k3 log alpha) + softplus(-log alpha) / 2)."""
    k1, k2, k3 = LOG_UNIFORM_K
    la = torch.log(alpha)
    return (k1 - k1 * torch.sigmoid(k2 + k3 * la) + 0.5 * F.softplus(-la)).flatten(1).sum(1)


def kl_anneal(epoch: int, off: int, ramp: int) -> float:
    """The authors' KL warm-up (0-based epoch): 0 while epoch <= off, then min(1, (epoch - off) / ramp)."""
    if epoch <= off:
        return 0.0 if off > 0 or ramp > 0 else 1.0
    return 1.0 if ramp == 0 else min(1.0, (epoch - off) / ramp)


def ibal_authors_loss(encoder: nn.Module, clf: nn.Module, decoder: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      snr_db, beta: float, lam: float, g) -> torch.Tensor:
    """The IBAL authors' system objective (SSG2019/IBAL ``train_trx``; docs/baselines.md) on our channel: a
    deterministic power-normalised feature f, the channel noise of std sigma = sqrt(P / SNR) per element as
    the variational noise, z_hat = f + sigma eps; loss = CE + beta * KL_logU(sigma^2 / (f^2 + 1e-4)) * 0.1 / sigma
    - lam / (1 + sigma) * MSE(D(z_hat), x).  ``snr_db``: a float (IBAL) or one per sample (IBAL-D)."""
    f = power_normalize(encoder(x))
    n = x.shape[0]
    z_hat, sigma = awgn_each(f, snr_db, g)
    kl = log_uniform_kl(sigma.view(-1, *([1] * (f.dim() - 1))).pow(2) / (f.pow(2) + 1e-4)) * 0.1 / sigma
    ce = F.cross_entropy(clf(z_hat, z_hat, snr_input(snr_db, n, x)), y, reduction="none")
    rec = (decoder(z_hat) - x).pow(2).flatten(1).mean(1)
    return (ce + beta * kl - lam / (1 + sigma) * rec).mean()


def privacy_weight(lam: float, snr_db: torch.Tensor, snr_ref_db: float, clip: float = 10.0) -> torch.Tensor:
    """IBAL-D: lambda scaled with the channel noise power (relative to the reference SNR), clipped."""
    return lam * torch.clamp(10 ** ((snr_ref_db - snr_db) / 10), 1 / clip, clip)


def ibal_features(tx: IBALTransmitter, x: torch.Tensor) -> torch.Tensor:
    """What an IBAL transmitter sends at inference: its power-normalised mean feature (no sampling)."""
    return tx(x, sample=False)[0]


def awgn_each(f: torch.Tensor, snr_db, g=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``channel.awgn`` with the SNR a float or one per sample: (f + noise, per-sample noise std sigma)."""
    snr_lin = 10 ** (torch.as_tensor(snr_db, dtype=f.dtype, device=f.device) / 10)
    sigma = (per_sample_power(f) / snr_lin).sqrt()
    noise = torch.randn(f.shape, generator=g, device=f.device, dtype=f.dtype)
    return f + noise * sigma.view(-1, *([1] * (f.dim() - 1))), sigma


def ibal_send(tx: IBALTransmitter, x: torch.Tensor, snr_db: float, g=None) -> torch.Tensor:
    """What both the receiver and the eavesdropper observe from an IBAL transmitter at inference."""
    return awgn(ibal_features(tx, x), snr_db, g)


def ibal_losses(tx, clf, decoder, x, y, snr_db, beta, lam, dynamic: bool, g):
    """(system loss, decoder loss) for one IBAL batch; snr_db is a float (IBAL) or (B,) tensor (IBAL-D)."""
    f, kl = tx(x, sample=True, g=g)
    if dynamic:
        z_hat, _ = awgn_each(f, snr_db, g)
        tt = snr_input(snr_db, x.shape[0], x)
    else:  # one SNR, or one per sample on a faded link (channel.kind: rayleigh), and no SNR input
        z_hat = awgn_each(f, snr_db, g)[0] if torch.is_tensor(snr_db) else awgn(f, snr_db, g)
        tt = torch.zeros(x.shape[0], 1, device=x.device, dtype=x.dtype)
    ce = F.cross_entropy(clf(z_hat, z_hat, tt), y, reduction="none")
    rec = (decoder(z_hat) - x).pow(2).flatten(1).mean(1)
    system = (ce + beta * kl - lam * rec).mean()
    dec = F.mse_loss(decoder(z_hat.detach()), x)
    return system, dec
