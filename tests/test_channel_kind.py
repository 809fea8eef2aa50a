"""`channel.kind: rayleigh` (issue #15, decisions §39): the defender's link sends over block fading, and on
AWGN ``Link.send`` is exactly the old ``channel(transmit(...))`` + ``theta_view``."""

import pytest
import torch
from torch import nn

from diffsem.channel import power_normalize, snr_linear
from diffsem.fading import faded_snr_db, match_steps, outage_probability
from diffsem.pipeline import Link
from diffsem.schedule import linear_schedule


class _Identity(nn.Module):
    def forward(self, x):
        return x


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _f0(n=8, k=4096, seed=1):
    return power_normalize(torch.randn(n, 4, 32, k // 128, generator=_g(seed)))


@pytest.mark.parametrize("t", [0, 150, 300, torch.tensor([0, 37, 150, 300, 420, 500, 3, 250])])
@pytest.mark.parametrize("snr", [-5.0, 15.0])
def test_awgn_send_is_the_old_channel_and_theta_view_bit_for_bit(t, snr):
    link = Link(_Identity(), linear_schedule())
    f0 = _f0()
    old_tx = link.transmit_each(f0, t, snr, _g(5)) if isinstance(t, torch.Tensor) else link.transmit(f0, t, snr, _g(5))
    g = _g(5)
    if isinstance(t, torch.Tensor):
        z_old = link.channel(link.transmit_each(f0, t, snr, g), snr, g)
    else:
        z_old = link.channel(link.transmit(f0, t, snr, g), snr, g)
    z_in_old, tt_old = link.theta_view(z_old, t, snr)
    r = link.send(f0, t, snr, _g(5))
    assert torch.equal(r.z_hat, z_old) and torch.equal(r.z_in, z_in_old) and torch.equal(r.t_frac, tt_old)
    assert old_tx.shape == r.z_hat.shape
    # the per-sample steps agree with the t input, and the groups cover every sample once
    assert torch.allclose(r.steps.double() / 500, tt_old.double().view(-1).cpu(), atol=1e-6)
    covered = torch.zeros(f0.shape[0], dtype=torch.long)
    for step, scale, m in r.groups():
        assert (r.steps[m] == step).all()
        covered += m.long()
    assert (covered == 1).all()


def test_rayleigh_send_puts_each_sample_on_the_step_its_own_noise_matches():
    """z_in = scale * z_hat is sqrt(abar_step) f0 plus noise of variance ≈ 1 - abar_step per sample
    (the step grid's rounding aside): the receiver's noise level follows each sample's gain."""
    sched = linear_schedule()
    link = Link(_Identity(), sched, kind="rayleigh")
    f0 = _f0(n=64, k=8192)
    for t in (0, 150, 300):
        r = link.send(f0, t, 10.0, _g(7))
        assert (r.steps >= t).all() and r.steps.unique().numel() > 3  # fades spread the samples over steps
        ab = sched.alpha_bar.double()[r.steps]
        resid = (r.z_in.double() - ab.sqrt().view(-1, 1, 1, 1) * f0.double()).flatten(1).var(1)
        # on T' exactly, the sample is cleaner than T' asks (a good fade cannot take noise back); past the
        # schedule's end (a fade deeper than step T's ESNR) it is noisier than step T, where it is clamped
        later = (r.steps > t) & (r.steps < sched.T)
        assert later.sum() > 5 and torch.allclose(resid[later], (1 - ab[later]), rtol=0.12)
        assert (resid[r.steps == sched.T] >= (1 - ab[r.steps == sched.T]) * 0.9).all()
        on_t = r.steps == t
        assert (resid[on_t] <= (1 - ab[on_t]) * 1.05).all()
        assert torch.allclose(r.t_frac.view(-1).double(), r.steps.double() / sched.T, atol=1e-6)


def test_rayleigh_per_sample_t_prime_steps_are_the_scalar_ones():
    sched = linear_schedule()
    noise = torch.tensor([0.3, 0.05, 0.9, 0.0], dtype=torch.float64)
    tp = torch.tensor([150, 300, 0, 42])
    steps, scales = match_steps(sched, tp, noise)
    for i in range(4):
        s, c = match_steps(sched, int(tp[i]), noise[i : i + 1])
        assert int(steps[i]) == int(s[0]) and float(scales[i]) == float(c[0])
    assert int(steps[3]) == 42 and float(scales[3]) == 1.0  # no noise: on T' itself


def test_faded_snr_has_the_nominal_mean_and_the_closed_form_outage():
    s = faded_snr_db(10.0, 300_000, _g(3))
    lin = 10 ** (s.double() / 10)
    assert abs(float(lin.mean()) / snr_linear(10.0) - 1) < 0.01
    assert abs(float((s < 3.0).double().mean()) - outage_probability(10.0, 3.0)) < 0.004
    per = faded_snr_db(torch.tensor([0.0, 20.0]).repeat(100_000), 200_000, _g(4))
    assert abs(float((10 ** (per[1::2].double() / 10)).mean()) / 100 - 1) < 0.02


def test_unknown_channel_kind_is_refused():
    with pytest.raises(ValueError, match="channel kind"):
        Link(_Identity(), linear_schedule(), kind="rician")
