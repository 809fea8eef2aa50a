"""The privacy–utility frontier across training seeds (issue #13 "Outputs"; docs/decisions.md §33).

For every system and operating point: the receiver's accuracy against the accuracy of the *strongest*
attacker tried on that system's transmitter — the privacy claim is only as strong as the strongest
attacker.  The attackers of a transmitter (metrics.csv's ``attack`` column):

- DiffSem's transmitter (shared by Classifier, Classifier-FT, DiffSem, E-DiffSem and the feature
  ceiling): the inversion network (every attacker point), the semantic attacker (every attacker point),
  the diffusion-prior attacker (headline points only);
- IBAL's and IBAL-D's: the inversion network and the semantic attacker (decisions §33);
- Direct and Permutation: the strong classifier on the received image.  Neither has a separate
  receiver: Direct's legitimate receiver sees exactly what its eavesdropper sees (its point lies on the
  diagonal), and Permutation's receiver, holding the key, undoes the permutation and so sees Direct's
  image — its receiver accuracy is Direct's strong-classifier accuracy at the same point.

"Strongest" is the attacker with the highest test accuracy at the point, per training seed: a maximum
over a handful of attackers scored on the same n images, so it leans towards the attacker by at most the
largest of their sampling errors — the conservative direction for a privacy claim.  Across seeds each
quantity gets its mean and Student-t 95 % half-width (``stats.seed_ci``); the gap receiver − strongest
attacker is taken within each seed first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .stats import seed_ci

# whose transmitter a system's receiver listens to (the attackers of that transmitter apply to it)
TRANSMITTER = {"classifier": "diffsem", "classifier-ft": "diffsem", "diffsem": "diffsem", "e-diffsem": "diffsem",
               "ceiling": "diffsem", "ibal": "ibal", "ibal-d": "ibal-d", "direct": "direct", "permutation": "permutation"}
COLUMNS = ["dataset", "system", "transmitter", "t", "snr_db", "n_seeds", "receiver_acc", "receiver_hw",
           "attacker_acc", "attacker_hw", "gap_pts", "gap_hw_pts", "strongest", "attacks"]


# the reference SSIM of the matched-image-quality comparison per dataset (decisions §41; the paper's 0.2 for MNIST)
MATCHED_SSIM = {"mnist": 0.2, "cifar10": 0.12}


def matched_ssim(dataset: str) -> float:
    """The SSIM at which attackers are compared for ``dataset`` (0.2 where none is set)."""
    return MATCHED_SSIM.get(dataset, 0.2)


def attacker_at_ssim(curve: pd.DataFrame, ssim: float) -> tuple[float, int]:
    """The paper's matched-image-quality comparison (Sec. IV-B, Fig. 5): an attacker's accuracy linearly
    interpolated at ``ssim`` along its curve over t (rows with ``t``, ``attacker_ssim``, ``attacker_acc``,
    ``n_eval``; several evaluation seeds are averaged per t), and the smallest n of the curve's points.
    (NaN, 0) when the curve does not reach that SSIM on both sides: no extrapolation."""
    d = curve.groupby("t").mean(numeric_only=True).sort_values("attacker_ssim")
    xs, ys = d.attacker_ssim.to_numpy(), d.attacker_acc.to_numpy()
    if len(xs) < 2 or not xs[0] <= ssim <= xs[-1]:
        return float("nan"), 0
    return float(np.interp(ssim, xs, ys)), int(d.n_eval.min())


def attacks_by_transmitter(metrics: pd.DataFrame) -> pd.DataFrame:
    """One seed's metrics.csv -> attacker accuracy per (transmitter, t, snr_db, attack), mean over
    evaluation-noise seeds.  DiffSem's receivers share one inversion attacker: its rows are read once."""
    d = metrics.assign(transmitter=metrics.system.map(TRANSMITTER))
    if d.transmitter.isna().any():
        raise ValueError(f"frontier: unknown systems {sorted(set(d.system[d.transmitter.isna()]))}")
    return (d.groupby(["transmitter", "t", "snr_db", "attack", "seed"]).attacker_acc.first()
            .groupby(["transmitter", "t", "snr_db", "attack"]).mean().rename("attacker_acc").reset_index())


def frontier_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """One seed's frontier: per (system, t, snr_db) the receiver's accuracy, the strongest attacker on its
    transmitter (``attacker_acc``, ``strongest``) and every attacker tried (``attacks``: "name=acc;...")."""
    att = attacks_by_transmitter(metrics)
    best = att.loc[att.groupby(["transmitter", "t", "snr_db"]).attacker_acc.idxmax()]
    tried = att.groupby(["transmitter", "t", "snr_db"]).apply(
        lambda g: ";".join(f"{a}={v:.4f}" for a, v in zip(g.attack, g.attacker_acc)), include_groups=False)
    best = best.set_index(["transmitter", "t", "snr_db"]).assign(attacks=tried).reset_index()
    rx = metrics[metrics.receiver_acc.notna()].groupby(["system", "t", "snr_db"]).receiver_acc.mean().reset_index()
    image = best[best.transmitter == "direct"]  # Direct's and Permutation's receivers: Direct's image (module doc)
    rx = pd.concat([rx, image.assign(system="direct", receiver_acc=image.attacker_acc)[rx.columns],
                    image.assign(system="permutation", receiver_acc=image.attacker_acc)[rx.columns]])
    rx = rx[rx.system.isin(set(metrics.system))]
    out = rx.assign(transmitter=rx.system.map(TRANSMITTER)).merge(
        best.rename(columns={"attack": "strongest"}), on=["transmitter", "t", "snr_db"], how="inner")
    return out[["system", "transmitter", "t", "snr_db", "receiver_acc", "attacker_acc", "strongest", "attacks"]]


def frontier_across_seeds(per_seed: dict[int, pd.DataFrame], dataset: str) -> pd.DataFrame:
    """``frontier_rows`` of each training seed -> mean and 95 % half-width per (system, t, snr_db), over the
    points every seed has; ``strongest`` lists each seed's strongest attacker ("semantic|semantic|diffusion")."""
    seeds = sorted(per_seed)
    keys = ["system", "transmitter", "t", "snr_db"]
    both = pd.concat([f.assign(train_seed=k) for k, f in per_seed.items()], ignore_index=True)
    rows = []
    for key, g in both.groupby(keys, sort=True):
        if g.train_seed.nunique() < len(seeds):
            continue  # a point some seed lacks has no across-seed estimate
        g = g.sort_values("train_seed")
        rx, hw_rx, n = seed_ci(g.receiver_acc)
        at, hw_at, _ = seed_ci(g.attacker_acc)
        gap, hw_gap, _ = seed_ci(100 * (g.receiver_acc - g.attacker_acc))
        rows.append({"dataset": dataset, **dict(zip(keys, key)), "n_seeds": n, "receiver_acc": rx, "receiver_hw": hw_rx,
                     "attacker_acc": at, "attacker_hw": hw_at, "gap_pts": gap, "gap_hw_pts": hw_gap,
                     "strongest": "|".join(g.strongest), "attacks": " / ".join(g.attacks)})
    return pd.DataFrame(rows, columns=COLUMNS)


def frontier_runs(metrics_files: dict[int, Path], dataset: str) -> pd.DataFrame:
    """``frontier_across_seeds`` over each training seed's metrics.csv."""
    missing = [seed for seed, path in metrics_files.items() if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"frontier: no finished run for training seed(s) {', '.join(map(str, missing))}")
    return frontier_across_seeds({k: frontier_rows(pd.read_csv(p)) for k, p in metrics_files.items()}, dataset)
