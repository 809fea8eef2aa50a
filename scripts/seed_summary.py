"""Across-training-seed summary of finished runs (one run directory per seed).

    python scripts/seed_summary.py RUN_DIR [RUN_DIR ...] [--dataset mnist] [--snr 15]

Each RUN_DIR is a project folder whose whole DAG ran with its own `seed` in params.yaml (every model
re-trained: split, initialisations, noise).  For the headline points (15 dB, T' = 150 and 300) it
prints each system's accuracy per seed and the mean with a 95 % Student-t interval across seeds
(`stats.seed_ci`), and the same for the paired within-seed differences that carry the paper's
claims.  Until the seed is a DAG wildcard (issue "Results that mean something"), separate run
directories are how several training seeds are run.
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from diffsem.stats import seed_ci

DIFFS = [("diffsem", "classifier"), ("e-diffsem", "classifier"), ("diffsem", "classifier-ft"),
         ("e-diffsem", "classifier-ft"), ("ceiling", "classifier"), ("classifier", "attacker"), ("e-diffsem", "attacker")]


def load(run: Path, ds: str, snr: float) -> tuple[int, pd.DataFrame]:
    split = json.loads((run / "data" / ds / "split.json").read_text())
    m = pd.read_csv(run / "reports" / ds / "metrics.csv")
    m = m[m.snr_db == snr]
    rows = {}
    for t in (150, 300):
        at = m[m.t == t].groupby("system").mean(numeric_only=True)
        rows[t] = {**{s: float(at.loc[s, "receiver_acc"]) for s in at.index if not pd.isna(at.loc[s, "receiver_acc"])},
                   "attacker": float(at.loc["classifier", "attacker_acc"]), "n": int(at.loc["classifier", "n_eval"])}
    return int(split["seed"]), pd.DataFrame(rows).T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--snr", type=float, default=15.0)
    a = ap.parse_args()
    per = {}
    for run in a.runs:
        try:
            seed, df = load(run, a.dataset, a.snr)
        except (FileNotFoundError, KeyError) as exc:
            sys.exit(f"seed_summary: {run}: {str(exc).splitlines()[0]}")
        if seed in per:
            sys.exit(f"seed_summary: two runs with training seed {seed}")
        per[seed] = df
    seeds = sorted(per)
    systems = [s for s in ("classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling", "attacker") if s in per[seeds[0]]]
    print(f"Training seeds: {seeds}; n per point: {int(per[seeds[0]].loc[300, 'n'])} test images\n")
    print("| t | system | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± 95 % CI (Student t) |")
    print("|---|---|" + "---|" * (len(seeds) + 1))
    for t in (150, 300):
        for s in systems:
            v = [per[k].loc[t, s] for k in seeds]
            m, h, _ = seed_ci(v)
            print(f"| {t} | {s} | " + " | ".join(f"{x:.4f}" for x in v) + f" | {m:.4f} ± {h:.4f} |")
    print("\n| t | difference (pts) | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± 95 % CI |")
    print("|---|---|" + "---|" * (len(seeds) + 1))
    for t in (150, 300):
        for x, y in DIFFS:
            if x not in systems or y not in systems:
                continue
            v = [100 * (per[k].loc[t, x] - per[k].loc[t, y]) for k in seeds]
            m, h, _ = seed_ci(v)
            print(f"| {t} | {x} − {y} | " + " | ".join(f"{d:+.2f}" for d in v) + f" | {m:+.2f} ± {h:.2f} |")


if __name__ == "__main__":
    main()
