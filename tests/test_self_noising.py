import math

import pytest
import torch

from diffsem.channel import awgn, power_normalize, snr_linear
from diffsem.schedule import linear_schedule
from diffsem.self_noising import (alpha_bar_t2, compensation_variance, match_to_step, received_noise_variance,
                                  self_noise, t_double_prime)

S = linear_schedule(500, 1e-4, 0.02)


@pytest.mark.parametrize("t_prime,snr_db", [(50, 15.0), (150, 15.0), (300, 5.0), (300, 15.0), (450, -5.0), (500, 0.0)])
def test_received_noise_matches_t_prime(t_prime, snr_db):
    """After Psi (exact compensation) and the AWGN channel the receiver sees the noise level of T'."""
    n, k = 20000, 64
    g = torch.Generator().manual_seed(t_prime)
    f0 = power_normalize(torch.randn(n, 1, 8, 8, generator=g))
    z = self_noise(f0, S, t_prime, snr_db, generator=g)
    z_hat = awgn(z, snr_db, g)
    abar = float(S.alpha_bar[t_prime])
    resid = z_hat - math.sqrt(abar) * f0
    var = float(resid.pow(2).mean())
    target = 1 - abar
    se = target * math.sqrt(2 / (n * k))  # std of a chi-square variance estimate
    assert compensation_variance(abar, snr_db) > 0
    assert abs(var - target) < 5 * se + 1e-3 * target


def test_paper_eq24_total_energy_form():
    """Eq. 24 with gamma as a total-energy SNR (gamma_total = D * gamma) equals our per-element form."""
    D = 64
    for t_prime in (67, 150, 300):
        for snr_db in (0.0, 10.0, 20.0):
            ab, g = float(S.alpha_bar[t_prime]), snr_linear(snr_db)
            e_f0 = D * 1.0  # unit-power features
            paper = (ab * (g * D + e_f0) + D) / (g * D + D)
            if paper >= 1:  # no valid T'' > 0: the channel alone is noisy enough (T'' = 0)
                assert alpha_bar_t2(ab, snr_db) == 1.0
                continue
            assert math.isclose(alpha_bar_t2(ab, snr_db), paper, rel_tol=1e-12)
            # unit-power closed form: abar'' = abar' + 1 / (gamma + 1)
            assert math.isclose(alpha_bar_t2(ab, snr_db), ab + 1 / (g + 1), rel_tol=1e-12)


def test_t2_zero_when_channel_dominates():
    # small T' on a bad channel: the channel alone is noisier than T' asks for
    assert compensation_variance(float(S.alpha_bar[10]), -5.0) == 0.0
    assert t_double_prime(S, 10, -5.0) == 0
    assert t_double_prime(S, 0, 15.0) == 0


def test_footnote4_direction():
    """Quantised T'': the largest step whose noise does not exceed the exact compensation (never overshoot)."""
    for t_prime, snr_db in [(150, 15.0), (300, 5.0), (400, 10.0)]:
        t2 = t_double_prime(S, t_prime, snr_db)
        exact = compensation_variance(float(S.alpha_bar[t_prime]), snr_db)
        assert 0 < t2 < t_prime
        assert 1 - float(S.alpha_bar[t2]) <= exact + 1e-12
        assert 1 - float(S.alpha_bar[t2 + 1]) > exact
        # hence the received noise is slightly below the target, by less than one step's increment
        got = received_noise_variance(S, t_prime, snr_db, quantize=True)
        assert got <= 1 - float(S.alpha_bar[t_prime]) + 1e-12
        assert got > 1 - float(S.alpha_bar[t_prime]) - float(S.betas[t_prime]) * 1.1


def test_noiseless_is_eq17():
    f0 = torch.randn(4, 64)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    ab = float(S.alpha_bar[100])
    eps = torch.randn(4, 64, generator=g2)
    assert torch.allclose(self_noise(f0, S, 100, None, generator=g1), math.sqrt(ab) * f0 + math.sqrt(1 - ab) * eps)


def test_match_to_step():
    # compensated: identity
    for t in (0, 50, 300, 500):
        if t == 0:
            continue
        t_s, sc = match_to_step(S, t, 1 - float(S.alpha_bar[t]))
        assert t_s == t and math.isclose(sc, 1.0)
    # T' = 0 through a 15 dB channel: starts where ESNR ~ 15 dB, never at 0
    t_s, sc = match_to_step(S, 0, 1 / snr_linear(15.0))
    assert abs(float(S.esnr_db(t_s)) - 15.0) < 0.5 and sc < 1
    # a channel noisier than T' moves the start later and rescales onto that step
    nv = received_noise_variance(S, 20, -5.0)
    t_s, sc = match_to_step(S, 20, nv)
    ab = float(S.alpha_bar[20])
    assert t_s > 20
    assert math.isclose(sc**2 * ab, float(S.alpha_bar[t_s]), rel_tol=1e-9)


def test_bad_t_prime():
    with pytest.raises(ValueError, match="T'"):
        self_noise(torch.zeros(1, 4), S, 501, 10.0)


def test_per_sample_psi_matches_the_scalar_form():
    """self_noise_each (one T' per sample, stage 1's ``t_per_sample``) equals self_noise row by row:
    bit-for-bit when every row has the same T' (same draws), and its variance table is Eq. 24's."""
    from diffsem.self_noising import noise_variance_table, self_noise_each

    s = linear_schedule(500, 1e-4, 0.02)
    table = noise_variance_table(s, 15.0)
    for t in (0, 67, 300, 500):
        assert float(table[t]) == pytest.approx(compensation_variance(float(s.alpha_bar[t]), 15.0))
    f0 = power_normalize(torch.randn(64, 1, 8, 8, dtype=torch.float64))
    for t in (0, 150, 499):
        a = self_noise(f0, s, t, 15.0, generator=torch.Generator().manual_seed(3))
        b = self_noise_each(f0, s, torch.full((64,), t), table, torch.Generator().manual_seed(3))
        assert torch.allclose(a, b, atol=1e-12)
    # mixed T': each row's noise variance is its own step's (many rows per step, sampling error only)
    ts = torch.tensor([50, 400]).repeat_interleave(4000)
    f = power_normalize(torch.randn(8000, 64, dtype=torch.float64))
    z = self_noise_each(f, s, ts, table, torch.Generator().manual_seed(0))
    for t in (50, 400):
        rows = ts == t
        resid = z[rows] - s.alpha_bar[t].sqrt() * f[rows]
        assert float(resid.var()) == pytest.approx(float(table[t]), rel=0.02)
