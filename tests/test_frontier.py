"""The privacy–utility frontier across seeds (diffsem.frontier): the strongest attacker per transmitter,
Direct/Permutation's receivers, across-seed intervals."""

import math

import pandas as pd
import pytest

from diffsem.frontier import frontier_across_seeds, frontier_rows
from diffsem.stats import seed_ci


def _metrics(rx: float, inv: float, sem: float, prior: float | None, ibal_rx: float, ibal_inv: float, ibal_sem: float):
    nan = math.nan
    rows = []
    for seed in (0, 1):  # two evaluation-noise seeds: their mean is used
        for s in ("classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling"):
            rows.append(dict(system=s, attack="inversion", t=300, snr_db=15.0, seed=seed, receiver_acc=rx + 0.01 * seed,
                             attacker_acc=inv))
        rows.append(dict(system="diffsem", attack="semantic", t=300, snr_db=15.0, seed=seed, receiver_acc=nan, attacker_acc=sem))
        if prior is not None:
            rows.append(dict(system="diffsem", attack="diffusion", t=300, snr_db=15.0, seed=seed, receiver_acc=nan,
                             attacker_acc=prior))
        rows += [dict(system="ibal", attack="inversion", t=300, snr_db=15.0, seed=seed, receiver_acc=ibal_rx, attacker_acc=ibal_inv),
                 dict(system="ibal", attack="semantic", t=300, snr_db=15.0, seed=seed, receiver_acc=nan, attacker_acc=ibal_sem),
                 dict(system="direct", attack="image", t=300, snr_db=15.0, seed=seed, receiver_acc=nan, attacker_acc=0.9),
                 dict(system="permutation", attack="image", t=300, snr_db=15.0, seed=seed, receiver_acc=nan, attacker_acc=0.6)]
    return pd.DataFrame(rows)


def test_frontier_takes_the_strongest_attacker_on_each_transmitter():
    f = frontier_rows(_metrics(0.80, 0.70, 0.78, 0.75, 0.60, 0.65, 0.62)).set_index("system")
    assert set(f.index) == {"classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling", "ibal", "direct", "permutation"}
    # DiffSem's receivers share its transmitter: one strongest attacker for all of them
    assert (f.loc[["classifier", "diffsem", "e-diffsem", "ceiling"], "strongest"] == "semantic").all()
    assert f.loc["e-diffsem", "attacker_acc"] == pytest.approx(0.78)
    assert f.loc["e-diffsem", "receiver_acc"] == pytest.approx(0.805)  # mean over evaluation seeds
    assert f.loc["e-diffsem", "attacks"] == "diffusion=0.7500;inversion=0.7000;semantic=0.7800"
    # IBAL's own attackers only, not DiffSem's
    assert f.loc["ibal", "strongest"] == "inversion" and f.loc["ibal", "attacker_acc"] == pytest.approx(0.65)
    # Direct: receiver = its eavesdropper (the diagonal); Permutation: the key holder sees Direct's image
    assert f.loc["direct", "receiver_acc"] == f.loc["direct", "attacker_acc"] == pytest.approx(0.9)
    assert f.loc["permutation", "receiver_acc"] == pytest.approx(0.9) and f.loc["permutation", "attacker_acc"] == pytest.approx(0.6)


def test_frontier_across_seeds_pairs_within_seed_and_skips_partial_points():
    per = {0: frontier_rows(_metrics(0.80, 0.70, 0.78, 0.75, 0.60, 0.65, 0.62)),
           1: frontier_rows(_metrics(0.84, 0.72, 0.74, 0.79, 0.64, 0.60, 0.66)),
           2: frontier_rows(_metrics(0.82, 0.71, 0.76, None, 0.62, 0.61, 0.60))}
    df = frontier_across_seeds(per, "mnist").set_index("system")
    e = df.loc["e-diffsem"]
    assert e.n_seeds == 3 and e.strongest == "semantic|diffusion|semantic"
    assert e.attacker_acc == pytest.approx((0.78 + 0.79 + 0.76) / 3)
    assert e.attacker_hw == pytest.approx(seed_ci([0.78, 0.79, 0.76])[1])
    gaps = [100 * (0.805 - 0.78), 100 * (0.845 - 0.79), 100 * (0.825 - 0.76)]
    assert e.gap_pts == pytest.approx(sum(gaps) / 3) and e.gap_hw_pts == pytest.approx(seed_ci(gaps)[1])
    # a point that one seed lacks is left out
    per[2] = per[2][per[2].system != "ibal"]
    assert "ibal" not in set(frontier_across_seeds(per, "mnist").system)
    with pytest.raises(ValueError, match="unknown systems"):
        frontier_rows(pd.DataFrame([dict(system="mystery", attack="inversion", t=0, snr_db=15.0, seed=0,
                                         receiver_acc=0.5, attacker_acc=0.5)]))
