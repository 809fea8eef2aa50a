import math

import pytest
import torch

from diffsem.sampler import ddim_reverse, ddim_step, ddim_timesteps
from diffsem.schedule import linear_schedule

S = linear_schedule(500, 1e-4, 0.02)


def test_timesteps():
    assert ddim_timesteps(500, 50) == list(range(500, -1, -10))  # the paper's stride-10 grid
    assert ddim_timesteps(30, 50) == list(range(30, -1, -1))  # N = min(T', 50)
    seq = ddim_timesteps(184, 50)
    assert seq[0] == 184 and seq[-1] == 0 and len(seq) == 51 and all(a > b for a, b in zip(seq, seq[1:]))
    assert ddim_timesteps(0, 50) == [0]
    with pytest.raises(ValueError):
        ddim_timesteps(-1)


def test_ddim_step_closed_form():
    x, e = torch.randn(3, 8), torch.randn(3, 8)
    a, ap = 0.3, 0.7
    f0 = (x - math.sqrt(1 - a) * e) / math.sqrt(a)
    assert torch.allclose(ddim_step(x, e, a, ap), math.sqrt(ap) * f0 + math.sqrt(1 - ap) * e)
    assert torch.allclose(ddim_step(x, e, a, 1.0), f0)


@pytest.mark.parametrize("t_start", [1, 7, 67, 150, 184, 344, 500])
@pytest.mark.parametrize("max_steps", [1, 10, 50])
def test_oracle_recovers_f0(t_start, max_steps):
    """With the true noise as the prediction, deterministic DDIM returns f0 from any start step."""
    g = torch.Generator().manual_seed(t_start)
    f0 = torch.randn(16, 1, 8, 8, generator=g, dtype=torch.float64)
    eps = torch.randn(16, 1, 8, 8, generator=g, dtype=torch.float64)
    ab = S.alpha_bar
    x = ab[t_start].sqrt() * f0 + (1 - ab[t_start]).sqrt() * eps

    def oracle(x_t, t):
        return (x_t - ab[t].sqrt() * f0) / (1 - ab[t]).sqrt()

    out = ddim_reverse(oracle, x, S, t_start, max_steps)
    assert torch.allclose(out, f0, atol=1e-9)


def test_oracle_float32():
    f0 = torch.randn(64, 64)
    eps = torch.randn(64, 64)
    ab = S.alpha_bar.float()
    x = ab[300].sqrt() * f0 + (1 - ab[300]).sqrt() * eps
    out = ddim_reverse(lambda x_t, t: (x_t - ab[t].sqrt() * f0) / (1 - ab[t]).sqrt(), x, S, 300, 50)
    assert torch.allclose(out, f0, atol=1e-4)


def test_classifier_free_guidance_weight():
    """denoise(..., guidance=w): w = 0 is the plain conditional prediction; w > 0 uses
    (1 + w) eps(x, t, c) - w eps(x, t, null) (docs/decisions.md §25)."""
    from diffsem.pipeline import denoise
    from diffsem.schedule import linear_schedule

    class Net(torch.nn.Module):
        def forward(self, x, t, context=None):
            return torch.full_like(x, 0.1) if context is None else torch.full_like(x, 0.3)

    s = linear_schedule(500, 1e-4, 0.02)
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    ctx = torch.ones(2, 10)
    plain = denoise(Net(), x, s, 100, 1.0, 1, ctx)
    assert torch.allclose(plain, denoise(Net(), x, s, 100, 1.0, 1, ctx, 0.0))
    ab = float(s.alpha_bar[100])
    for w in (0.5, 2.0):
        eps = (1 + w) * 0.3 - w * 0.1
        want = (x - (1 - ab) ** 0.5 * eps) / ab**0.5  # one DDIM step to t = 0 is the f0 estimate
        assert torch.allclose(denoise(Net(), x, s, 100, 1.0, 1, ctx, w), want)
