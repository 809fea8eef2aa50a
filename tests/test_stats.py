"""Paired statistics (diffsem.stats) against closed forms and small hand-made cases."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from diffsem.stats import compare, holm, mcnemar_exact, paired_bootstrap_ci, seed_ci, tail_trend, verdict


def test_mcnemar_exact_matches_the_binomial_closed_form():
    a = np.array([1] * 10 + [0] * 2 + [1] * 30 + [0] * 8, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 30 + [0] * 8, bool)
    m = mcnemar_exact(a, b)
    assert (m.n, m.a_only, m.b_only) == (50, 10, 2)
    # two-sided exact p for 2 successes in 12 fair trials: 2 * P(X <= 2)
    want = 2 * sum(math.comb(12, k) for k in range(3)) / 2**12
    assert m.p == pytest.approx(want)
    assert m.diff == pytest.approx(8 / 50)
    assert mcnemar_exact(a, a).p == 1.0  # no discordant pairs
    with pytest.raises(ValueError, match="same shape"):
        mcnemar_exact(a, b[:-1])


def test_holm_step_down():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 with running max: 0.02, 0.03, 0.06, 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert (holm([0.5, 0.9]) <= 1).all()


def test_bootstrap_interval_covers_the_difference_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    a = rng.random(2000) < 0.8
    b = rng.random(2000) < 0.7
    lo, hi = paired_bootstrap_ci(a, b, n_boot=500)
    assert lo < a.mean() - b.mean() < hi and lo > 0
    lo_s, hi_s = paired_bootstrap_ci(a[:200], b[:200], n_boot=500)
    assert hi_s - lo_s > hi - lo


def test_seed_ci_is_student_t():
    m, half, n = seed_ci([0.80, 0.82, 0.84])
    assert (m, n) == (pytest.approx(0.82), 3)
    assert half == pytest.approx(sps.t.ppf(0.975, 2) * 0.02 / math.sqrt(3))
    assert math.isnan(seed_ci([0.8])[1])


def test_tail_trend_is_the_least_squares_slope_of_the_curve_s_tail_with_its_t_interval():
    """stats.tail_trend: the slope of the last `last` values against their epoch (numpy's polyfit), its
    interval slope ± t(n−2)·SE (SE from the residuals' closed form), and the verdict by the interval's sign."""
    rng = np.random.default_rng(0)
    y = np.r_[np.full(5, 9.0), 1.0 - 0.01 * np.arange(12) + rng.normal(0, 0.003, 12)]
    tr = tail_trend(y, last=12)
    x, tail = np.arange(12.0), y[-12:]
    slope, icept = np.polyfit(x, tail, 1)
    resid = tail - (slope * x + icept)
    se = math.sqrt(resid @ resid / 10 / ((x - x.mean()) @ (x - x.mean())))
    assert tr.n == 12 and tr.slope == pytest.approx(slope)
    assert (tr.lo, tr.hi) == (pytest.approx(slope - sps.t.ppf(0.975, 10) * se), pytest.approx(slope + sps.t.ppf(0.975, 10) * se))
    assert tr.verdict("min") == "still improving" and tr.verdict("max") == "worsening"
    flat = tail_trend([5.0, 1.0, 1.02, 0.99, 1.01, 1.0, 1.01, 0.99, 1.02, 1.0], last=9)  # a palindrome: slope 0
    assert flat.slope == pytest.approx(0, abs=1e-12) and flat.lo < 0 < flat.hi
    assert flat.verdict("min") == flat.verdict("max") == "flat"
    assert math.isnan(tail_trend([1.0, 0.9]).slope)


def test_compare_pairs_receivers_and_attacker_on_the_same_images():
    rows = []
    y = np.arange(40) % 10
    for i, label in enumerate(y):
        for system, pred in (("classifier", label if i < 30 else -1), ("diffsem", label if i < 38 else -1)):
            rows.append(dict(dataset="mnist", system=system, role="receiver", t=300, snr_db=15.0, seed=0, index=i,
                             label=label, pred=pred))
        rows.append(dict(dataset="mnist", system="diffsem", role="attacker", t=300, snr_db=15.0, seed=0, index=i,
                         label=label, pred=label if i < 10 else -1))
        rows.append(dict(dataset="mnist", system="diffsem", role="semantic", t=300, snr_db=15.0, seed=0, index=i,
                         label=label, pred=label if i < 36 else -1))
    df = compare(pd.DataFrame(rows), n_boot=200)
    got = df.set_index(["a", "b"])
    r = got.loc[("diffsem", "classifier")]
    assert (r.n, r.a_only, r.b_only) == (40, 8, 0) and r.acc_a == pytest.approx(0.95) and r.acc_b == pytest.approx(0.75)
    att = got.loc[("classifier", "diffsem:attacker")]
    assert att.acc_b == pytest.approx(0.25) and att.p < 0.01
    sem = got.loc[("classifier", "diffsem:semantic")]  # the semantic attacker's own column, paired per image
    assert sem.acc_b == pytest.approx(0.9) and (sem.a_only, sem.b_only) == (0, 6)
    assert got.loc[("diffsem:semantic", "diffsem:attacker")].a_only == 26
    assert (df.p_holm >= df.p).all()
    assert ("e-diffsem", "classifier") not in got.index  # absent systems are skipped
    assert verdict(r["diff"], r.p_holm) == "A > B" and verdict(0.01, 0.2) == "inconclusive"


def test_seed_summary_means_and_paired_differences():
    from diffsem.seeds import headline_accuracies, summarize

    def metrics(acc_clf, acc_diff, att):
        rows = []
        for t in (150, 300):
            rows += [dict(system="classifier", attack="inversion", t=t, snr_db=15.0, receiver_acc=acc_clf, attacker_acc=att, n_eval=100),
                     dict(system="diffsem", attack="inversion", t=t, snr_db=15.0, receiver_acc=acc_diff, attacker_acc=att, n_eval=100),
                     dict(system="diffsem", attack="semantic", t=t, snr_db=15.0, receiver_acc=float("nan"),
                          attacker_acc=att + 0.05, n_eval=100),
                     dict(system="direct", attack="image", t=t, snr_db=15.0, receiver_acc=float("nan"), attacker_acc=0.9, n_eval=100),
                     # the semantic attacker on IBAL's transmitter: not DiffSem's semantic attacker
                     dict(system="ibal", attack="semantic", t=t, snr_db=15.0, receiver_acc=float("nan"), attacker_acc=0.1, n_eval=100)]
        return pd.DataFrame(rows)

    pts = [(150, 15.0), (300, 15.0)]
    per = {0: headline_accuracies(metrics(0.80, 0.82, 0.70), pts), 1: headline_accuracies(metrics(0.84, 0.85, 0.72), pts),
           2: headline_accuracies(metrics(0.82, 0.83, 0.71), pts)}
    df = summarize(per, "mnist").set_index(["t", "quantity"])
    r = df.loc[(300, "classifier")]
    assert r["mean"] == pytest.approx(0.82) and r.n_seeds == 3 and r.n_images == 100
    assert r.half_width_95 == pytest.approx(seed_ci([0.80, 0.84, 0.82])[1])
    d = df.loc[(300, "diffsem - classifier")]
    assert [d.seed0, d.seed1, d.seed2] == pytest.approx([2.0, 1.0, 1.0]) and d.kind == "difference_pts"
    assert df.loc[(150, "classifier - attacker")]["mean"] == pytest.approx(100 * (0.82 - 0.71))
    # the semantic attacker's row does not leak into the inversion attacker's or DiffSem's receiver numbers
    assert df.loc[(300, "diffsem")]["mean"] == pytest.approx(0.8333333) and df.loc[(300, "attacker")]["mean"] == pytest.approx(0.71)
    assert df.loc[(300, "semantic")]["mean"] == pytest.approx(0.76)
    assert df.loc[(300, "semantic - attacker")]["mean"] == pytest.approx(5.0)
    assert "direct" not in {q for _, q in df.index}  # baselines have no receiver: not a headline system
    one = summarize({0: per[0]}, "mnist")
    assert one.half_width_95.isna().all() and (one.n_seeds == 1).all()
