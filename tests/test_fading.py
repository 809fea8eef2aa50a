"""Rayleigh block fading (diffsem.fading; issue #15, decisions §37) against closed forms."""

import math

import pytest
import torch

from diffsem.channel import snr_linear
from diffsem.fading import (from_symbols, match_steps, mmse_equalize, outage_probability, rayleigh_channel,
                            rayleigh_gains, self_noise_variance_csit, to_symbols, fade, zf_noise_variance)
from diffsem.schedule import linear_schedule
from diffsem.self_noising import compensation_variance, match_to_step, received_noise_variance


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gains_have_unit_mean_power_and_mean_snr_is_the_nominal_one():
    h = rayleigh_gains(400_000, _g())
    g2 = h.abs().pow(2)
    assert abs(float(g2.mean()) - 1.0) < 0.01
    assert abs(float(g2.var()) - 1.0) < 0.02  # |h|^2 is Exp(1): variance 1
    _, inst = rayleigh_channel(torch.randn(200_000, 2), 10.0, _g(1))
    assert abs(float(inst.mean()) / snr_linear(10.0) - 1.0) < 0.01


@pytest.mark.parametrize("snr_db,th_db", [(10.0, 0.0), (15.0, 10.0), (0.0, 0.0)])
def test_outage_probability_matches_simulation(snr_db, th_db):
    _, inst = rayleigh_channel(torch.randn(200_000, 2), snr_db, _g(2))
    emp = float((inst < snr_linear(th_db)).double().mean())
    assert abs(emp - outage_probability(snr_db, th_db)) < 0.005
    assert outage_probability(snr_db, th_db) == pytest.approx(1 - math.exp(-snr_linear(th_db) / snr_linear(snr_db)))


def test_zero_forcing_leaves_white_noise_of_variance_p_over_instantaneous_snr():
    z = torch.randn(6, 40_000) * 0.7  # per-element power 0.49
    h = torch.tensor([1.0, 0.3, 2.0, 0.1, 1.2, 0.05], dtype=torch.complex64) * torch.exp(1j * torch.rand(6) * 6.28)
    z_hat, inst = rayleigh_channel(z, 12.0, _g(3), h=h)
    assert torch.allclose(inst, snr_linear(12.0) * h.abs().pow(2))
    p = z.pow(2).mean(1)
    measured = (z_hat - z).pow(2).mean(1)
    assert torch.allclose(measured, p / inst, rtol=0.03)
    assert abs(float(((z_hat - z) * z).mean())) < 0.02  # unbiased: noise uncorrelated with the signal


def test_mmse_error_is_the_closed_form_and_below_zero_forcing():
    z = torch.randn(5, 60_000)  # unit per-element power: symbols of power 2
    h = torch.tensor([1.0, 0.5, 0.2, 1.5, 0.05], dtype=torch.complex64)
    y = fade(z, h, 5.0, _g(4))
    s = to_symbols(z)
    mse = (mmse_equalize(y, h, 5.0) - s).abs().pow(2).mean(1)
    inv = 1 / snr_linear(5.0)
    closed = 2 * inv / (h.abs().pow(2) + inv)  # sigma_s^2 * sigma_n^2 / (|h|^2 sigma_s^2 + sigma_n^2), sigma_s^2 = 2
    assert torch.allclose(mse, closed, rtol=0.03)
    zf = (y / h.view(-1, 1) - s).abs().pow(2).mean(1)
    assert (mse < zf).all()


def test_symbols_round_trip_and_odd_lengths_are_refused():
    z = torch.randn(3, 4, 8, 8)
    assert torch.equal(from_symbols(to_symbols(z), z), z)
    with pytest.raises(ValueError, match="even"):
        to_symbols(torch.randn(2, 7))


def test_per_sample_steps_and_noise_reduce_to_the_awgn_forms():
    sched = linear_schedule()
    for t in (0, 1, 150, 300, 500):
        for snr in (-5.0, 15.0):
            inst = torch.full((2,), snr_linear(snr), dtype=torch.float64)
            v = zf_noise_variance(float(sched.alpha_bar[t]), compensation_variance(float(sched.alpha_bar[t]), snr), inst)
            assert float(v[0]) == pytest.approx(received_noise_variance(sched, t, snr), rel=1e-12)
            steps, scales = match_steps(sched, t, v)
            st, sc = match_to_step(sched, t, float(v[0]))
            assert int(steps[0]) == st and float(scales[0]) == pytest.approx(sc, rel=1e-9)
            if t:  # CSI at the transmitter at the nominal SNR is Eq. 24's compensation
                assert float(self_noise_variance_csit(sched, t, inst)[0]) == pytest.approx(
                    compensation_variance(float(sched.alpha_bar[t]), snr), rel=1e-9, abs=1e-12)
    # a deep fade puts the sample on a later step, a good one never before T'
    a150 = float(sched.alpha_bar[150])
    v = zf_noise_variance(a150, compensation_variance(a150, 15.0), torch.tensor([snr_linear(15.0) * 0.01, snr_linear(15.0) * 10]))
    steps, _ = match_steps(sched, 150, v)
    assert int(steps[0]) > 150 and int(steps[1]) == 150
    # without the receivers' floor (the diffusion-prior eavesdropper, decisions §44) the good fade goes to the
    # earlier step its noise matches, scaled up onto that step's signal level; the deep fade is unchanged
    free, scales = match_steps(sched, 150, v, floor_at_t_prime=False)
    assert int(free[0]) == int(steps[0]) and int(free[1]) < 150 and float(scales[1]) > 1
    s1 = int(free[1])
    esnr = lambda k: math.log(float(sched.alpha_bar[k]) / (1 - float(sched.alpha_bar[k])))  # noqa: E731
    target = math.log(a150 / float(v[1]))
    assert abs(esnr(s1) - target) <= min(abs(esnr(s1 - 1) - target), abs(esnr(s1 + 1) - target))
    assert float(scales[1]) == pytest.approx(math.sqrt(float(sched.alpha_bar[s1]) / a150), rel=1e-12)


def test_csit_compensation_lands_exactly_on_t_prime():
    sched = linear_schedule()
    inst = torch.tensor([3.0, 30.0, 300.0], dtype=torch.float64)
    for t in (150, 300):
        v = self_noise_variance_csit(sched, t, inst)
        abar = float(sched.alpha_bar[t])
        total = v + (abar + v) / inst
        assert torch.allclose(total, torch.full_like(total, 1 - abar), rtol=1e-9)


def test_across_seeds_takes_the_stronger_attacker_per_seed():
    """Training seeds are the runs (each frame's own `seed` is the evaluation seed, 0 in all of them)."""
    import pandas as pd

    from diffsem.fading_eval import across_seeds

    runs = {}
    for k, (rx, inv, sem) in enumerate([(0.80, 0.70, 0.75), (0.82, 0.79, 0.71), (0.81, 0.74, 0.74)]):
        base = {"t": 300, "snr_db": 10.0, "csit": False, "seed": 0}
        runs[k] = [pd.DataFrame([{**base, "system": "e-diffsem", "role": "receiver", "accuracy": rx},
                                 {**base, "system": "diffsem", "role": "attacker", "accuracy": inv},
                                 {**base, "system": "diffsem", "role": "semantic", "accuracy": sem}])]
    out = across_seeds(runs).iloc[0]
    assert out.seeds == 3 and out.receiver == pytest.approx(0.81)
    assert out.attacker == pytest.approx((0.75 + 0.79 + 0.74) / 3)
    assert out.gap == pytest.approx(0.81 - (0.75 + 0.79 + 0.74) / 3) and out.gap_ci > 0


def test_across_seeds_reports_attacker_only_systems():
    """Direct / Permutation have an eavesdropper but no receiver: their rows carry the attacker alone."""
    import pandas as pd

    from diffsem.fading_eval import across_seeds

    base = {"t": 300, "snr_db": 10.0, "csit": True, "seed": 0, "role": "attacker"}
    runs = {k: [pd.DataFrame([{**base, "system": "direct", "accuracy": a}])] for k, a in enumerate([0.86, 0.88, 0.87])}
    out = across_seeds(runs).iloc[0]
    assert out.system == "direct" and out.csit and out.seeds == 3
    assert out.attacker == pytest.approx(0.87) and out.attacker_ci > 0
    assert math.isnan(out.receiver) and math.isnan(out.gap)


def test_fading_pairs_test_direct_csit_and_ibal_on_the_same_images():
    """The fading table's paired tests reach the baselines: Direct's eavesdropper with against without CSIT
    (the CSIT-helps-the-eavesdropper claim), IBAL's receiver against its attacker, E-DiffSem against the
    diffusion-prior attacker; absent systems and roles are skipped."""
    import numpy as np
    import pandas as pd

    from diffsem.fading_eval import fading_pairs
    from diffsem.stats import compare

    rng = np.random.default_rng(0)
    n, rows = 400, []
    label = rng.integers(0, 10, n)
    # Direct's eavesdropper is right on 70 % of images without CSIT and on those plus 10 % more with it
    base_right = rng.random(n) < 0.7
    extra = (~base_right) & (rng.random(n) < 0.34)
    cols = {("direct", "attacker", False): base_right, ("direct", "attacker", True): base_right | extra,
            ("ibal", "receiver", False): rng.random(n) < 0.5, ("ibal", "attacker", False): rng.random(n) < 0.5,
            ("e-diffsem", "receiver", False): base_right, ("e-diffsem", "receiver", True): base_right,
            ("diffsem", "diffusion", False): rng.random(n) < 0.6, ("diffsem", "diffusion", True): rng.random(n) < 0.6}
    for (system, role, csit), right in cols.items():
        rows.append(pd.DataFrame({"dataset": "mnist", "system": system, "role": role, "t": 300, "snr_db": 0.0,
                                  "seed": 0, "index": np.arange(n), "label": label,
                                  "pred": np.where(right, label, (label + 1) % 10), "csit": csit}))
    pred = pd.concat(rows, ignore_index=True)
    c = compare(pred.assign(system=pred.system + pred.csit.map({True: "+csit", False: ""})), fading_pairs(pred))
    got = {(r.a, r.b): r for r in c.itertuples()}
    csit = got[("direct+csit:attacker", "direct:attacker")]
    assert csit.b_only == 0 and csit.a_only == int(extra.sum()) and csit.diff == pytest.approx(extra.mean())
    assert csit.p_holm < 1e-6  # every discordant image favours CSIT
    assert ("ibal", "ibal:attacker") in got and ("e-diffsem", "direct:attacker") in got
    assert ("e-diffsem+csit", "e-diffsem") in got  # E-DiffSem's own CSIT test stays
    # the diffusion-prior attacker's rows (eval/fading_diffusion.csv, decisions §44) are one more attacker
    assert ("e-diffsem", "diffsem:diffusion") in got and ("e-diffsem+csit", "diffsem+csit:diffusion") in got
    pairs = fading_pairs(pred)
    assert ("e-diffsem", "diffsem:diffusion") in pairs
    assert not any(b.endswith(":fading_attacker") for _, b in pairs)  # a role the run lacks is not asked for
    assert not any("permutation" in a or "permutation" in b for a, b in got)  # no rows, no test


def test_headline_gaps_judge_each_receiver_against_its_strongest_attacker():
    """The summary row "E-DiffSem − strongest attacker" takes, per point and CSIT variant, the attacker with the
    smallest gap (the highest accuracy), with that pair's own Holm p; systems a run lacks give no row."""
    import pandas as pd

    from diffsem.fading_eval import headline_gaps

    def pair(a, b, acc_a, acc_b, p, snr=0.0):
        return {"t": 300, "snr_db": snr, "seed": 0, "a": a, "b": b, "acc_a": acc_a, "acc_b": acc_b,
                "diff": acc_a - acc_b, "p_holm": p}

    c = pd.DataFrame([
        pair("e-diffsem+csit", "e-diffsem", 0.85, 0.76, 1e-9),
        pair("e-diffsem", "diffsem:attacker", 0.76, 0.74, 0.1),
        pair("e-diffsem", "diffsem:fading_semantic", 0.76, 0.75, 0.9),  # the strongest without CSIT
        pair("e-diffsem+csit", "diffsem+csit:semantic", 0.85, 0.79, 1e-5),  # the strongest with CSIT
        pair("e-diffsem+csit", "diffsem+csit:fading_attacker", 0.85, 0.70, 1e-20),
        pair("e-diffsem", "diffsem:attacker", 0.86, 0.84, 0.01, snr=15.0),
        pair("ibal-d", "ibal-d:attacker", 0.71, 0.70, 1.0),
        pair("ibal-d", "ibal-d:semantic", 0.71, 0.69, 1.0),
    ])
    h = headline_gaps(c).set_index(["row", "snr_db"])
    assert h.loc[("E-DiffSem − strongest attacker, no CSIT", 0.0), "b"] == "diffsem:fading_semantic"
    assert h.loc[("E-DiffSem − strongest attacker, no CSIT", 0.0), "p_holm"] == 0.9
    assert h.loc[("E-DiffSem − strongest attacker, no CSIT", 15.0), "b"] == "diffsem:attacker"
    assert h.loc[("E-DiffSem − strongest attacker, CSIT", 0.0), "b"] == "diffsem+csit:semantic"
    assert h.loc[("IBAL-D − its strongest attacker", 0.0), "b"] == "ibal-d:attacker"
    assert h.loc[("E-DiffSem: CSIT − no CSIT", 0.0), "diff"] == pytest.approx(0.09)
    rows = set(h.index.get_level_values("row"))
    assert not any("Direct" in r or "Permutation" in r or r.startswith("IBAL −") for r in rows)


def test_inversion_warm_up_retrains_only_the_fading_inversion_attacker():
    """``fading.inversion_warmup`` is part of the fading inversion attacker's checkpoint meta (a change retrains
    it) and not of the fading semantic attacker's (which it does not touch)."""
    from dataclasses import replace
    from pathlib import Path

    from diffsem.config import load_config
    from diffsem.fading_eval import fading_attacker_meta, fading_inversion_meta

    cfg = load_config(Path(__file__).parents[1] / "params.yaml", "cpu")
    warm = replace(cfg, fading=replace(cfg.fading, inversion_warmup=cfg.fading.inversion_warmup + 20))
    assert fading_attacker_meta(warm, "mnist", True) == fading_attacker_meta(cfg, "mnist", True)
    assert fading_inversion_meta(warm, "mnist", True) != fading_inversion_meta(cfg, "mnist", True)


def test_step_columns_are_the_mean_start_and_the_share_at_t_prime():
    from diffsem.fading_eval import step_columns
    cols = step_columns(torch.tensor([300, 300, 310, 350]), 300)
    assert cols == {"mean_step": 315.0, "share_at_t": 0.5}
    assert step_columns(torch.tensor([290.0, 310.0]), 300) == {"mean_step": 300.0, "share_at_t": 0.0}
