"""IBAL's and IBAL-D's headline tables over training seeds, from runs that built only the baselines' side.

    python scripts/baseline_summary.py --dataset mnist --root . --seeds 1,2

A run built for the baselines and the paper's attacker on DiffSem's transmitter, without DiffSem's
receivers, e.g.

    snakemake --cores all reports/mnist/seed1/eval/ibal-d.csv reports/mnist/seed1/eval/semantic_ibal-d.csv \\
        reports/mnist/seed1/eval/ibal.csv models/mnist/seed1/strong.pt
    python scripts/attacker_curve.py --dataset mnist --seed 1

has what the baseline claims need except DiffSem's receivers.  This prints, per seed, its learning curves
(converged or at the cap) and, at the headline points,
each baseline's receiver and its attackers (inversion, semantic), with the paired tests of
`stats.compare` (exact McNemar on the same images and draws, paired bootstrap 95 % CI, Holm over the seed's
comparisons: a smaller family than a full run's); then across seeds (mean ± 95 % Student-t CI) the receiver,
the strongest attacker and the gap; and, where the seed has `eval/attacker_curve.csv`, the attacker's
accuracy at the matched SSIM on DiffSem's transmitter and each baseline's (decisions §41).  It writes nothing.
"""

import math

import pandas as pd

from diffsem.evaluate import PAPER_ATTACKS, read_parts
from diffsem.frontier import attacker_at_ssim, matched_ssim
from diffsem.stages import Paths
from diffsem.stats import compare, seed_ci
from core_summary import open_seeds, print_paired  # this folder's: the seed-summary scripts' arguments and paired table
from results_table import curves  # this folder's: the learning-curve table of a full run

SYSTEMS = ("ibal", "ibal-d")


def seed_frames(run: Paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, per-sample predictions) of the baseline parts present in one seed's run."""
    parts = [p for s in SYSTEMS for p in (s, f"semantic_{s}") if run.eval_part(p).is_file()]
    if not parts:
        raise FileNotFoundError(f"{run.eval_part('ibal-d')} not found: run that seed's evaluate_baseline rules first")
    return read_parts(run, parts)


def headline(rows: pd.DataFrame, t: int, snr: float) -> dict[str, dict[str, float]]:
    """{system: {"receiver": acc, "<attack>": acc, ...}} at one point (mean over evaluation seeds)."""
    r = rows[(rows.t == t) & (rows.snr_db == snr)]
    out = {}
    for s, g in r.groupby("system"):
        d = {"receiver": g[g.attack.isin(PAPER_ATTACKS)].receiver_acc.mean()}
        d.update({a: x.attacker_acc.mean() for a, x in g.groupby("attack")})
        out[s] = d
    return out


def main() -> None:
    a, cfg, points, runs, frames = open_seeds(__doc__, "baseline_summary", seed_frames)
    seeds = list(runs)
    per_seed = {}  # (system, t, quantity) -> {seed: value}
    for k, (rows, preds) in frames.items():
        curves(runs[k])
        print_paired(compare(preds), k, points)  # preds hold only the baselines' parts: Holm over their pairs
        for t, snr in points:
            for s, d in headline(rows, t, snr).items():
                attacks = {x: v for x, v in d.items() if x != "receiver"}
                strongest = max(attacks, key=attacks.get)
                for q, v in (("receiver", d["receiver"]), *((f"{x} attacker", v) for x, v in attacks.items()),
                             ("receiver − strongest attacker (pts)", 100 * (d["receiver"] - attacks[strongest]))):
                    per_seed.setdefault((s, t, q), {})[k] = v
        curve = runs[k].eval_part("attacker_curve")
        if curve.is_file():
            ref = matched_ssim(a.dataset)
            ours, _ = attacker_at_ssim(pd.read_csv(curve), ref)
            snr = float(cfg.eval.snr_db)
            per_seed.setdefault(("diffsem", ref, f"attacker at SSIM {ref}"), {})[k] = ours
            for s in SYSTEMS:
                b = rows[(rows.system == s) & (rows.snr_db == snr) & (rows.attack == "inversion")]
                v, _ = attacker_at_ssim(b, ref)
                if not math.isnan(v):
                    per_seed.setdefault((s, ref, f"attacker at SSIM {ref}"), {})[k] = v
                    per_seed.setdefault((s, ref, f"DiffSem's − its attacker at SSIM {ref} (pts)"), {})[k] = 100 * (ours - v)
    print(f"Across seeds {', '.join(map(str, seeds))} (mean ± 95 % Student-t CI; receiver − strongest attacker "
          f"taken within each seed)\n")
    print(f"| system | t / SSIM | quantity | {' | '.join(f'seed {k}' for k in seeds)} | mean ± 95 % CI |")
    print(f"|---|---|---|{'---|' * len(seeds)}---|")
    for (s, t, q), vals in per_seed.items():
        m, hw, _ = seed_ci(list(vals.values()))
        fmt = (lambda v: f"{v:+.2f}") if "pts" in q else (lambda v: f"{v:.4f}")
        cells = " | ".join(fmt(vals[k]) if k in vals else "—" for k in seeds)
        print(f"| {s} | {t} | {q} | {cells} | {fmt(m)} ± {hw:.{2 if 'pts' in q else 4}f} |")


if __name__ == "__main__":
    main()
