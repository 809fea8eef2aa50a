import math

import pytest
import torch

from diffsem.channel import awgn, direct_noise, per_sample_power, power_normalize, snr_linear
from diffsem.schedule import esnr_db


def test_power_normalize_unit_power():
    f = torch.randn(32, 1, 8, 8) * torch.linspace(0.1, 10, 32).view(-1, 1, 1, 1)
    p = per_sample_power(power_normalize(f))
    assert torch.allclose(p, torch.ones(32), atol=1e-5)
    # sum f_i^2 / k <= 1 (Sec. IV-A) holds with equality
    assert torch.all(power_normalize(f).flatten(1).pow(2).sum(1) / 64 <= 1 + 1e-5)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 15.0])
def test_awgn_measured_snr(snr_db):
    z = power_normalize(torch.randn(4000, 1, 8, 8)) * 0.7  # power 0.49: noise must follow the actual power
    g = torch.Generator().manual_seed(0)
    n = awgn(z, snr_db, g) - z
    measured = 10 * math.log10(float(per_sample_power(z).mean() / n.pow(2).mean()))
    assert abs(measured - snr_db) < 0.05


def test_awgn_seeded():
    z = torch.randn(8, 64)
    a = awgn(z, 3.0, torch.Generator().manual_seed(5))
    b = awgn(z, 3.0, torch.Generator().manual_seed(5))
    c = awgn(z, 3.0, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_invalid_snr(bad):
    with pytest.raises(ValueError, match="SNR"):
        snr_linear(bad)


def test_direct_noise_esnr():
    """Direct baseline noising: image-domain SNR equals Eq. 13's ESNR at the same alpha_bar."""
    x = torch.rand(2000, 1, 28, 28)
    ab = torch.full((2000,), 0.3)
    g = torch.Generator().manual_seed(1)
    xt = direct_noise(x, ab, g)
    sig = ab.sqrt().view(-1, 1, 1, 1) * x
    measured = 10 * math.log10(float(sig.pow(2).mean() / (xt - sig).pow(2).mean()))
    assert abs(measured - float(esnr_db(torch.tensor(0.3)))) < 0.05
