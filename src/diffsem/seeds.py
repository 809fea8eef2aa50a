"""Across-training-seed summary at the headline points (issue "Results that mean something").

Each training seed is a whole run of the DAG (`reports/<ds>/seed<k>/`: its own split, initialisations
and noise).  For the headline points (the Fig. 4 SNR, T' nearest 150 and 300) this collects every
system's accuracy per seed, and the within-seed differences that carry the paper's claims, and gives
the mean with a 95 % Student-t interval across seeds (`stats.seed_ci`; NaN with one seed).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .stats import seed_ci

# "attacker": the paper's (inversion) attacker on DiffSem's transmitter; "semantic", "diffusion": the extra ones
SYSTEMS = ("classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling", "attacker", "semantic", "diffusion")
# (minuend, subtrahend): the claims' differences, in accuracy points
DIFFERENCES = (("diffsem", "classifier"), ("e-diffsem", "classifier"), ("e-diffsem", "diffsem"),
               ("diffsem", "classifier-ft"), ("e-diffsem", "classifier-ft"), ("ceiling", "classifier"),
               ("classifier", "attacker"), ("e-diffsem", "attacker"), ("classifier", "semantic"),
               ("e-diffsem", "semantic"), ("semantic", "attacker"), ("e-diffsem", "diffusion"), ("diffusion", "attacker"))


def headline_accuracies(metrics: pd.DataFrame, points: list[tuple[int, float]]) -> dict[tuple[int, float], dict]:
    """{(t, snr): {system: accuracy, "attacker": ..., "semantic": ..., "n": images}} from one seed's metrics.csv
    (mean over evaluation-noise seeds when there are several)."""
    out = {}
    for t, snr in points:
        here = metrics[(metrics.t == t) & (metrics.snr_db == snr)]
        attack = here.attack if "attack" in here else pd.Series("inversion", index=here.index)
        at = here[attack.isin(("inversion", "image"))].groupby("system").mean(numeric_only=True)
        if "classifier" not in at.index:
            raise KeyError(f"metrics.csv has no classifier row at t = {t}, {snr:g} dB")
        row = {s: float(at.loc[s, "receiver_acc"]) for s in at.index if s in SYSTEMS and pd.notna(at.loc[s, "receiver_acc"])}
        row["attacker"] = float(at.loc["classifier", "attacker_acc"])
        for name in ("semantic", "diffusion"):
            extra = here[(attack == name) & (here.system == "diffsem")]  # DiffSem's transmitter, not IBAL's
            if not extra.empty:
                row[name] = float(extra.attacker_acc.mean())
        row["n"] = int(at.loc["classifier", "n_eval"])
        out[(t, snr)] = row
    return out


def summarize(per_seed: dict[int, dict], dataset: str) -> pd.DataFrame:
    """One row per (t, snr, quantity): the value of each seed (columns seed<k>), mean and 95 % half-width.

    ``per_seed``: {seed: headline_accuracies(...)}.  Accuracies are fractions, differences in points.
    """
    seeds = sorted(per_seed)
    points = list(per_seed[seeds[0]])
    rows = []
    for t, snr in points:
        have = [s for s in SYSTEMS if all(s in per_seed[k][(t, snr)] for k in seeds)]
        quantities = [(s, "accuracy", lambda r, s=s: r[s]) for s in have]
        quantities += [(f"{a} - {b}", "difference_pts", lambda r, a=a, b=b: 100 * (r[a] - r[b]))
                       for a, b in DIFFERENCES if a in have and b in have]
        for name, kind, value in quantities:
            vals = [value(per_seed[k][(t, snr)]) for k in seeds]
            mean, half, n = seed_ci(vals)
            rows.append({"dataset": dataset, "t": t, "snr_db": snr, "quantity": name, "kind": kind,
                         **{f"seed{k}": v for k, v in zip(seeds, vals)}, "mean": mean, "half_width_95": half,
                         "n_seeds": n, "n_images": min(per_seed[k][(t, snr)]["n"] for k in seeds)})
    return pd.DataFrame(rows)


def summarize_runs(metrics_files: dict[int, Path], points: list[tuple[int, float]], dataset: str) -> pd.DataFrame:
    """`summarize` over each seed's metrics.csv file."""
    missing = [seed for seed, path in metrics_files.items() if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"no finished run for training seed(s) {', '.join(map(str, missing))} "
                                f"(no {metrics_files[missing[0]]}); run those seeds' DAG first")
    per = {seed: headline_accuracies(pd.read_csv(path), points) for seed, path in metrics_files.items()}
    return summarize(per, dataset)
