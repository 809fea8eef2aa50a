"""Transmitter-side self-noising Psi (Eq. 17) with channel compensation (Eqs. 19-24, footnote 4),
and the receiver-side matching of what arrives to a diffusion step.

Decisions (see docs/decisions.md):

* **Per-element powers.**  The paper's gamma in Eqs. 23-24 multiplies the feature length D, i.e. it is
  a total-energy SNR.  Writing every power per element (f0 has unit power after normalisation, the
  per-element channel SNR is gamma) Eq. 24 becomes
  ``abar_T'' = (1 + abar_T' * (gamma + P_f)) / (gamma + 1)``, equivalently the extra noise variance the
  transmitter adds is ``v = (gamma * (1 - abar_T') - abar_T' * P_f) / (gamma + 1)`` so that
  ``v + (abar_T' * P_f + v) / gamma = 1 - abar_T'`` (the channel noise is set by the power actually sent).
* **Exact by default.**  The transmitter adds exactly ``v`` (``quantize: false``), so the receiver sees
  the noise level of T' to sampling error.  With ``quantize: true`` it snaps to an integer T'' as the
  paper does; footnote 4's inequality reads backwards (with alpha_bar decreasing, "the maximum T'' with
  abar_T'' <= rhs" is always T), so we take the *largest T'' with abar_T'' >= rhs*, i.e. never more
  noise than needed.
* **T'' = 0** when the channel alone is at least as noisy as T' asks for (v <= 0).
"""

from __future__ import annotations

import torch

from .channel import snr_linear
from .schedule import Schedule


def compensation_variance(abar_tp: float, snr_db: float, signal_power: float = 1.0) -> float:
    """Per-element variance the transmitter adds so that signal + channel noise = 1 - abar_T' (Eq. 24).

    Returns 0 when the channel alone already exceeds the target (T'' = 0).
    """
    g = snr_linear(snr_db)
    v = (g * (1.0 - abar_tp) - abar_tp * signal_power) / (g + 1.0)
    return max(v, 0.0)


def alpha_bar_t2(abar_tp: float, snr_db: float, signal_power: float = 1.0) -> float:
    """Eq. 24 in per-element form: the (continuous) abar_T'' the transmitter's noise corresponds to."""
    return 1.0 - compensation_variance(abar_tp, snr_db, signal_power)


def t_double_prime(schedule: Schedule, t_prime: int, snr_db: float, signal_power: float = 1.0) -> int:
    """Integer T'' per footnote 4 (corrected): the largest t <= T' with abar_t >= the Eq. 24 target."""
    target = alpha_bar_t2(float(schedule.alpha_bar[t_prime]), snr_db, signal_power)
    ok = torch.nonzero(schedule.alpha_bar[: t_prime + 1] >= target - 1e-12).flatten()
    return int(ok.max().item()) if ok.numel() else 0


def self_noise(
    f0: torch.Tensor,
    schedule: Schedule,
    t_prime: int,
    snr_db: float | None,
    quantize: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Psi: z'' = sqrt(abar_T') f0 + sqrt(1 - abar_T'') eps  (Eqs. 17 and 20).

    ``snr_db=None`` means a noiseless channel (plain Eq. 17, T'' = T').
    """
    _check_t(schedule, t_prime)
    abar = float(schedule.alpha_bar[t_prime])
    if snr_db is None:
        var = 1.0 - abar
    elif quantize:
        var = 1.0 - float(schedule.alpha_bar[t_double_prime(schedule, t_prime, snr_db)])
    else:
        var = compensation_variance(abar, snr_db)
    eps = torch.randn(f0.shape, generator=generator, device=f0.device, dtype=f0.dtype)
    return abar**0.5 * f0 + var**0.5 * eps


def noise_variance_table(schedule: Schedule, snr_db: float | None, quantize: bool = False) -> torch.Tensor:
    """``self_noise``'s added variance for every T' = 0..T (float64, shape (T + 1,)): the per-sample
    form of Psi draws a T' per sample and looks its variance up here."""
    out = []
    for t in range(schedule.T + 1):
        abar = float(schedule.alpha_bar[t])
        if snr_db is None:
            out.append(1.0 - abar)
        elif quantize:
            out.append(1.0 - float(schedule.alpha_bar[t_double_prime(schedule, t, snr_db)]))
        else:
            out.append(compensation_variance(abar, snr_db))
    return torch.tensor(out, dtype=torch.float64)


def self_noise_each(f0: torch.Tensor, schedule: Schedule, t_prime: torch.Tensor, var_table: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Psi with one T' per sample (``t_prime``: int tensor (B,)); ``var_table`` from
    ``noise_variance_table`` at the link's SNR.  Row i equals ``self_noise`` at T' = t_prime[i]."""
    shape = (-1, *([1] * (f0.dim() - 1)))
    ab = schedule.alpha_bar.to(f0.device)[t_prime].to(f0.dtype).view(shape)
    var = var_table.to(f0.device)[t_prime].to(f0.dtype).view(shape)
    eps = torch.randn(f0.shape, generator=generator, device=f0.device, dtype=f0.dtype)
    return ab.sqrt() * f0 + var.sqrt() * eps


def received_noise_variance(schedule: Schedule, t_prime: int, snr_db: float | None, quantize: bool = False) -> float:
    """Per-element variance of everything but sqrt(abar_T') f0 at the receiver (self-noise + channel)."""
    abar = float(schedule.alpha_bar[t_prime])
    if snr_db is None:
        return 1.0 - abar
    if quantize:
        v = 1.0 - float(schedule.alpha_bar[t_double_prime(schedule, t_prime, snr_db)])
    else:
        v = compensation_variance(abar, snr_db)
    return v + (abar + v) / snr_linear(snr_db)


def match_to_step(schedule: Schedule, t_prime: int, noise_var: float) -> tuple[int, float]:
    """Receiver side: which diffusion step the received ``sqrt(abar_T') f0 + n`` corresponds to.

    A signal ``a f0 + n`` with noise variance s^2 equals, after scaling by c, a forward sample
    ``sqrt(abar_t) f0 + sqrt(1 - abar_t) eps`` with ``abar_t / (1 - abar_t) = a^2 / s^2``.  When the
    compensation works this returns (T', ~1).  When the channel is noisier than T' (low SNR, small T')
    it returns a later step and the scale that puts the signal on that step, so the denoiser never
    sees a noise level it was not trained for.  Returns (t_start, scale), t_start >= T'.
    """
    _check_t(schedule, t_prime)
    a2 = float(schedule.alpha_bar[t_prime])
    if noise_var <= 0:
        return t_prime, 1.0
    ratio = a2 / noise_var  # target abar_t / (1 - abar_t)
    ab = schedule.alpha_bar
    # snap to the nearest step in log-ESNR, never earlier than T'
    esnr = torch.log(ab[1:] / (1 - ab[1:]))
    t = int(torch.argmin((esnr - torch.log(torch.tensor(ratio, dtype=ab.dtype))).abs()).item()) + 1
    t = max(t, int(t_prime))
    return t, (float(ab[t]) / a2) ** 0.5


def _check_t(schedule: Schedule, t: int) -> None:
    if not (0 <= int(t) <= schedule.T):
        raise ValueError(f"T' must be in [0, {schedule.T}], got {t}")
