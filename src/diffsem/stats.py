"""Paired statistics for systems scored on the same images (docs/decisions.md §22).

Two receivers evaluated on the same test images (and, for DiffSem's four receivers, the same channel
draw) are compared per image: exact McNemar on the discordant pairs (scipy's binomial test), with a
paired bootstrap interval for the accuracy difference.  Many comparisons over the grid are corrected
with Holm's step-down method.  Across training seeds, a mean gets a Student-t 95 % interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# the paper's claims as (A, B) pairs of per-sample prediction columns: "is A more accurate than B?"
# "<system>" is a receiver; "<system>:attacker" is the strong classifier on that system's attacker output;
# "<system>:semantic" the semantic attacker on that system's eavesdropped z_hat (decisions §29; IBAL's: §33)
CLAIM_PAIRS = (
    ("diffsem", "classifier"),
    ("e-diffsem", "classifier"),
    ("e-diffsem", "diffsem"),
    ("classifier-ft", "classifier"),
    ("diffsem", "classifier-ft"),
    ("e-diffsem", "classifier-ft"),
    ("classifier", "diffsem:attacker"),
    ("e-diffsem", "diffsem:attacker"),
    ("classifier", "diffsem:semantic"),
    ("e-diffsem", "diffsem:semantic"),
    ("ceiling", "diffsem:semantic"),
    ("diffsem:semantic", "diffsem:attacker"),
    ("e-diffsem", "diffsem:diffusion"),
    ("diffsem:diffusion", "diffsem:attacker"),
    ("ceiling", "classifier"),
    ("ceiling", "e-diffsem"),
    ("e-diffsem", "ibal"),
    ("e-diffsem", "ibal-d"),
    ("ibal", "ibal:attacker"),
    ("ibal", "ibal:semantic"),
    ("ibal:semantic", "ibal:attacker"),
    ("ibal-d", "ibal-d:attacker"),
    ("ibal-d", "ibal-d:semantic"),
    ("ibal-d:semantic", "ibal-d:attacker"),
)


@dataclass(frozen=True)
class McNemar:
    n: int
    a_only: int  # A right, B wrong
    b_only: int  # B right, A wrong
    p: float  # two-sided exact p-value

    @property
    def diff(self) -> float:
        return (self.a_only - self.b_only) / self.n if self.n else math.nan


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> McNemar:
    """Exact (binomial) McNemar test of equal accuracy for paired 0/1 outcomes."""
    a, b = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes need the same shape, got {a.shape} and {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    k = a_only + b_only
    p = 1.0 if k == 0 else float(stats.binomtest(a_only, k, 0.5).pvalue)
    return McNemar(int(a.size), a_only, b_only, p)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control), in the input order."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p)
    m = p.size
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def paired_bootstrap_ci(a_correct, b_correct, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of acc(A) - acc(B), resampling images (pairs kept together)."""
    d = np.asarray(a_correct, float) - np.asarray(b_correct, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    boots = d[idx].mean(axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def seed_ci(values, level: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width of the Student-t interval, number of seeds); half-width NaN with one seed."""
    v = np.asarray(values, float)
    n = v.size
    if n < 2:
        return float(v.mean()) if n else math.nan, math.nan, n
    half = stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n)
    return float(v.mean()), float(half), n


@dataclass(frozen=True)
class Trend:
    """A learning curve's tail fitted by a straight line: the change per epoch of the validation metric,
    its 95 % interval, and the number of epochs fitted."""

    slope: float
    lo: float
    hi: float
    n: int

    def verdict(self, better: str) -> str:
        """'still improving' when the whole interval points the better way (``better``: 'min' or 'max'),
        'worsening' when it points the other way, 'flat' when it holds zero."""
        sign = -1.0 if better == "min" else 1.0
        lo, hi = sorted((sign * self.lo, sign * self.hi))
        return "still improving" if lo > 0 else "worsening" if hi < 0 else "flat"


def tail_trend(values, last: int = 10, level: float = 0.95) -> Trend:
    """Least-squares slope of the last ``last`` values of a curve against their epoch, with its Student-t
    interval (scipy.stats.linregress).  The answer to "would more epochs have helped?" for a run that ended
    at its cap: an interval holding zero is a plateau at the curve's epoch-to-epoch noise."""
    v = np.asarray(values, float)[-last:]
    if v.size < 3:
        return Trend(math.nan, math.nan, math.nan, int(v.size))
    fit = stats.linregress(np.arange(v.size, dtype=float), v)
    half = stats.t.ppf(0.5 + level / 2, v.size - 2) * fit.stderr
    return Trend(float(fit.slope), float(fit.slope - half), float(fit.slope + half), int(v.size))


def correctness_table(pred: pd.DataFrame) -> pd.DataFrame:
    """Per-sample predictions (evaluate.PRED_COLUMNS) -> one 0/1 column per receiver and attacker
    ("<system>:<role>" for the attackers' roles),
    indexed by (t, snr_db, seed, index)."""
    p = pred.assign(key=np.where(pred.role == "receiver", pred.system, pred.system + ":" + pred.role),
                    correct=(pred.pred == pred.label).astype(np.int8))
    return p.pivot_table(index=["t", "snr_db", "seed", "index"], columns="key", values="correct", aggfunc="first")


def compare(pred: pd.DataFrame, pairs=CLAIM_PAIRS, n_boot: int = 1000) -> pd.DataFrame:
    """Every pair at every (t, snr, seed) point where both were scored on the same images: accuracies,
    McNemar counts and p, a paired bootstrap 95 % interval of the difference, and Holm-adjusted p over
    the whole table (one family)."""
    wide = correctness_table(pred)
    rows = []
    for (t, snr, seed), g in wide.groupby(level=["t", "snr_db", "seed"]):
        for a, b in pairs:
            if a not in g or b not in g:
                continue
            both = g[[a, b]].dropna()
            if both.empty:
                continue
            rows.append({"t": int(t), "snr_db": float(snr), "seed": int(seed), "a": a, "b": b,
                         **paired_difference(both[a].to_numpy(), both[b].to_numpy(), n_boot, int(t) * 7 + int(seed))})
    df = pd.DataFrame(rows)
    if not df.empty:
        df["p_holm"] = holm(df.p.to_numpy())
    return df


def paired_difference(a_correct, b_correct, n_boot: int = 1000, seed: int = 0) -> dict:
    """One paired comparison of 0/1 outcomes on the same images: n, both accuracies, acc(A) − acc(B), its paired
    bootstrap 95 % interval, the discordant counts and the exact McNemar p (``compare``'s columns)."""
    a, b = np.asarray(a_correct), np.asarray(b_correct)
    m = mcnemar_exact(a, b)
    lo, hi = paired_bootstrap_ci(a, b, n_boot, seed=seed)
    return {"n": m.n, "acc_a": float(a.mean()), "acc_b": float(b.mean()), "diff": m.diff, "ci_lo": lo, "ci_hi": hi,
            "a_only": m.a_only, "b_only": m.b_only, "p": m.p}


def verdict(diff: float, p_holm: float, alpha: float = 0.05) -> str:
    """'A > B', 'A < B' (significant after Holm) or 'inconclusive'."""
    if math.isnan(p_holm) or p_holm >= alpha:
        return "inconclusive"
    return "A > B" if diff > 0 else "A < B"
