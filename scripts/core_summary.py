"""Headline tables from whichever evaluation parts each seed's run has: DiffSem's side at least.

    python scripts/core_summary.py --dataset mnist --root . --seeds 0,1,2

`diffsem collect` (and so `summarize-seeds`) needs every configured evaluation part: the baselines
and the diffusion-prior attacker as well.  A run built only for the receivers and the paper's and
semantic attackers, e.g.

    snakemake --cores all reports/mnist/seed0/eval/diffsem.csv reports/mnist/seed0/eval/semantic.csv

has what the DiffSem-side claims need.  Where the seed's run also has the diffusion-prior attacker's part
or evaluated IBAL-D or IBAL (their `evaluate_baseline` and semantic parts), their rows join the paired tests
(``PARTS``), so E-DiffSem is compared with the strongest attacker and with each baseline on the same images
and channel draws.  This prints, from those parts and their per-sample
predictions, the same tables `scripts/results_table.py` prints for a full run: the across-seed
summary at the headline points (`seeds.summarize`: per-seed values, mean ± 95 % Student-t CI), the
paired tests of each seed at the headline points (`stats.compare`: exact McNemar, paired bootstrap,
Holm over the seed's grid of the pairs its parts allow, so a smaller family than a full run's), the
noiseless bound, and the attack study and protocol ablation of each seed that ran them
(`reports/<ds>/seed<k>/attack_study.csv`, `attack_protocol.csv` as targets).  It writes nothing.
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from diffsem.config import ConfigError, load_config
from diffsem.evaluate import read_parts
from diffsem.seeds import headline_accuracies, summarize
from diffsem.stages import Paths, headline_points
from diffsem.stats import compare, verdict
from results_table import attack_study, noiseless_line, seed_tables  # this folder's: the same tables as a full run's

# the evaluation parts on DiffSem's transmitter, then the baselines' parts that pair with them where present
PARTS = ("diffsem", "semantic", "diffusion", "ibal-d", "semantic_ibal-d", "ibal", "semantic_ibal")
NEEDED = ("diffsem", "semantic")


def seed_frames(run: Paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, per-sample predictions) of the DiffSem-side parts present in one seed's run."""
    missing = [p for p in NEEDED if not run.eval_part(p).is_file()]
    if missing:
        raise FileNotFoundError(f"{run.eval_part(missing[0])} not found: run that seed's evaluate rules first")
    return read_parts(run, [p for p in PARTS if run.eval_part(p).is_file()])


def print_paired(cmp: pd.DataFrame, seed: int, points) -> None:
    print(f"Seed {seed}: paired tests (exact McNemar, paired bootstrap 95 % CI, Holm over {len(cmp)} comparisons)\n")
    print("| t | n | A | B | acc A | acc B | A − B (95 % CI) | A only / B only | p | p (Holm) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t, snr in points:
        for _, r in cmp[(cmp.t == t) & (cmp.snr_db == snr)].iterrows():
            print(f"| {t} | {r.n} | {r.a} | {r.b} | {r.acc_a:.4f} | {r.acc_b:.4f} | {100 * r['diff']:+.2f} pts "
                  f"({100 * r.ci_lo:+.2f}, {100 * r.ci_hi:+.2f}) | {r.a_only} / {r.b_only} | {r.p:.2g} | "
                  f"{r.p_holm:.2g} | {verdict(r['diff'], r.p_holm)} |")
    print()


def open_seeds(doc: str, name: str, frames_of) -> tuple:
    """Parse a seed-summary script's arguments (--dataset, --root, --params, --scale, --seeds) and read each
    seed's run with ``frames_of(Paths)``: (args, config, headline points, {seed: Paths}, {seed: frames}).
    A bad argument or a seed that was never run exits with one line naming it."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=".")
    ap.add_argument("--params", default=None, help="params.yaml (default: <root>/params.yaml)")
    ap.add_argument("--scale", default=None)
    ap.add_argument("--seeds", default="0", help="training seeds, comma-separated")
    a = ap.parse_args()
    root = Path(a.root)
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
        cfg = load_config(a.params or root / "params.yaml", a.scale, a.dataset)
        runs = {k: Paths(root, a.dataset, k) for k in seeds}
        return a, cfg, headline_points(cfg), runs, {k: frames_of(run) for k, run in runs.items()}
    except (ValueError, ConfigError, FileNotFoundError) as e:
        sys.exit(f"{name}: {e}")


def main() -> None:
    a, cfg, points, runs, frames = open_seeds(__doc__, "core_summary", seed_frames)
    seed_tables(summarize({k: headline_accuracies(rows, points) for k, (rows, _) in frames.items()}, a.dataset))
    for k, (_, preds) in frames.items():
        print_paired(compare(preds), k, points)
        noiseless = runs[k].eval_noiseless("diffsem")
        if noiseless.is_file():
            print(f"Seed {k}: {noiseless_line(json.loads(noiseless.read_text()))}\n")
        attack_study(runs[k])


if __name__ == "__main__":
    main()
