"""Stage 1 alone on the test set: the noiseless bound and the bypass classifier at the headline points, for
one or more runs of the same training seeds, compared paired (e.g. decisions §48's moving average of the weights
against the weights themselves).

    python scripts/stage1_bound.py --dataset mnist --seeds 0,1,2 --run raw=/work/a --run ema=/work/b [--t 150,300] [--out CSV]

Each ``--run LABEL=ROOT`` names a project root with its own params.yaml and a trained stage 1
(models/<ds>/seed<k>/jscc.pt: `snakemake models/<ds>/seed<k>/jscc.pt`, or `diffsem train-jscc`); nothing
downstream of stage 1 is needed.  It scores what `diffsem evaluate` scores for these rows: the noiseless bound
(T' = 0, no channel: ``evaluate.noiseless_transmissions``) and the ``classifier`` row at each T' of
``--t`` (default: eval.full_test_t) at eval.snr_db on ``evaluate.transmissions``' images and draws for the
first evaluation seed, so for a finished run the numbers equal its metrics.  Runs of one split see the same
images and the same standard-normal draws, so every pair of runs is compared by exact McNemar with a paired
bootstrap 95 % interval (``stats.paired_difference``), Holm over the table; with several seeds, each accuracy
and each paired difference also as mean ± Student-t 95 % half-width over the seeds.  It selects nothing: the
choice between the runs is made on validation (their stage-1 curves), this reports it once.
"""

import argparse
import sys
from itertools import combinations
from pathlib import Path

import pandas as pd
import torch

from diffsem.config import ConfigError, load_config
from diffsem.data import DataError, load_split
from diffsem.evaluate import noiseless_transmissions, transmissions
from diffsem.io import CheckpointError, atomic_path
from diffsem.pipeline import Receivers, matched
from diffsem.stages import Paths, schedule_of
from diffsem.stats import holm, paired_difference, seed_ci, verdict
from diffsem.trained import TrainedRun


def parse_runs(specs: list[str]) -> dict[str, Path]:
    runs = {}
    for s in specs:
        label, sep, root = s.partition("=")
        if not sep or not label or not root:
            raise ValueError(f"--run must be LABEL=ROOT, got {s!r}")
        if label in runs:
            raise ValueError(f"--run label {label!r} given twice")
        if not (Path(root) / "params.yaml").is_file():
            raise FileNotFoundError(f"{Path(root) / 'params.yaml'} not found (--run {s})")
        runs[label] = Path(root)
    if len(runs) < 1:
        raise ValueError("give at least one --run LABEL=ROOT")
    return runs


@torch.no_grad()
def correct_per_image(run: TrainedRun, split, points: list[int]) -> dict[str, torch.Tensor]:
    """{point name: 0/1 correctness per image} of the bypass classifier: "noiseless" and "t=<T'>"."""
    cfg, link = run.cfg, run.link
    rx = Receivers(schedule_of(cfg), run.classifier)  # stage 1's Theta only
    t_start, scale = link.receive_step(0, None)
    out = {"noiseless": torch.cat([rx.bypass_logits(matched(z, scale), t_start).argmax(1) == y
                                   for y, z in noiseless_transmissions(cfg, split, link, run.device)])}
    snr, seed = float(cfg.eval.snr_db), cfg.eval.seeds[0]
    for t in points:
        t_start, scale = link.receive_step(t, snr)
        hits = [rx.bypass_logits(matched(z_rx, scale), t_start).argmax(1) == y
                for _, y, z_rx, _ in transmissions(cfg, split, link, t, snr, seed, run.device)]
        out[f"t={t}"] = torch.cat(hits)
    return out


def load_seed(runs: dict[str, Path], args, seed: int) -> tuple[dict[str, TrainedRun], dict]:
    """Each run's stage 1 and test split for one training seed; the splits must hold the same test images."""
    loaded, splits = {}, {}
    for label, root in runs.items():
        cfg = load_config(root / "params.yaml", args.scale, args.dataset, seed)
        paths = Paths.of(root, cfg)
        if not paths.jscc.is_file():
            raise FileNotFoundError(f"{paths.jscc} not found: train stage 1 of {label} first")
        loaded[label] = TrainedRun(cfg, paths, torch.device("cpu"))
        splits[label] = load_split(paths.split, with_test=True)  # an evaluation: reads test, selects nothing
    first = next(iter(splits.values()))
    for label, s in splits.items():
        if not torch.equal(s.test_y, first.test_y) or not torch.equal(s.eval_idx, first.eval_idx):
            raise ValueError(f"run {label}'s test images (seed {seed}) differ from the first run's: not a paired comparison")
    return loaded, splits


def compare_runs(hits: dict[int, dict[str, dict[str, torch.Tensor]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accuracy per seed, run and point; every pair of runs per seed and point, paired, Holm over the table)."""
    acc, pairs = [], []
    for seed, per_run in hits.items():
        for label, h in per_run.items():
            acc += [{"kind": "accuracy", "seed": seed, "point": p, "a": label, "n": int(c.numel()),
                     "acc_a": float(c.float().mean())} for p, c in h.items()]
        for a, b in combinations(per_run, 2):
            pairs += [{"kind": "paired", "seed": seed, "point": p, "a": a, "b": b,
                       **paired_difference(per_run[a][p].numpy(), per_run[b][p].numpy(), 2000)} for p in per_run[a]]
    cmp = pd.DataFrame(pairs)
    if not cmp.empty:
        cmp["p_holm"] = holm(cmp.p.to_numpy())
    return pd.DataFrame(acc), cmp


def print_tables(acc: pd.DataFrame, cmp: pd.DataFrame) -> None:
    labels = list(dict.fromkeys(acc.a))
    print(f"| seed | point | {' | '.join(labels)} | n |\n|---|---|{'---|' * len(labels)}---|")
    for (seed, point), g in acc.groupby(["seed", "point"], sort=False):
        print(f"| {seed} | {point} | {' | '.join(f'{v:.4f}' for v in g.acc_a)} | {int(g.n.iloc[0])} |")
    if not cmp.empty:
        print("\n| seed | point | A − B | diff (pts) | 95 % CI | A only / B only | p | Holm p | verdict |\n"
              "|---|---|---|---|---|---|---|---|---|")
        for r in cmp.itertuples():
            print(f"| {r.seed} | {r.point} | {r.a} − {r.b} | {100 * r.diff:+.2f} | ({100 * r.ci_lo:+.2f}, {100 * r.ci_hi:+.2f}) | "
                  f"{r.a_only} / {r.b_only} | {r.p:.3g} | {r.p_holm:.3g} | {verdict(r.diff, r.p_holm)} |")
    if acc.seed.nunique() < 2:
        return
    print(f"\nAcross training seeds (mean ± Student-t 95 % half-width, % ; n seeds = {acc.seed.nunique()}):\n")
    print(f"| point | {' | '.join(labels)} |{''.join(f' {a} − {b} |' for a, b in combinations(labels, 2))}\n"
          f"|---|{'---|' * (len(labels) + len(list(combinations(labels, 2))))}")
    for point, g in acc.groupby("point", sort=False):
        cells = []
        for label in labels:
            m, h, _ = seed_ci(100 * g[g.a == label].acc_a.to_numpy())
            cells.append(f"{m:.2f} ± {h:.2f}")
        for a, b in combinations(labels, 2):
            m, h, _ = seed_ci(100 * cmp[(cmp.point == point) & (cmp.a == a) & (cmp.b == b)]["diff"].to_numpy())
            cells.append(f"{m:+.2f} ± {h:.2f}")
        print(f"| {point} | {' | '.join(cells)} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", default=[], help="LABEL=ROOT (repeat): a project root with a trained stage 1")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--seeds", default="0", help="training seeds, comma-separated (each run has each)")
    ap.add_argument("--scale", default="cpu", help="smoke|cpu|paper")
    ap.add_argument("--t", default=None, help="T' points, comma-separated (default: eval.full_test_t)")
    ap.add_argument("--out", default=None, help="CSV of the accuracies and the paired comparisons")
    args = ap.parse_args()
    try:
        runs = parse_runs(args.run)
        seeds = parse_ints(args.seeds, "--seeds")
        if min(seeds) < 0:
            raise ValueError(f"--seeds must be integers >= 0, got {args.seeds!r}")
        torch.set_num_threads(1)
        hits = {}
        for seed in seeds:
            loaded, splits = load_seed(runs, args, seed)
            points = parse_ints(args.t, "--t") if args.t else list(next(iter(loaded.values())).cfg.eval.full_test_t)
            hits[seed] = {label: correct_per_image(run, splits[label], points) for label, run in loaded.items()}
    except (ConfigError, DataError, CheckpointError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"stage1_bound: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    acc, cmp = compare_runs(hits)
    print_tables(acc, cmp)
    if args.out:
        with atomic_path(args.out) as tmp:
            pd.concat([acc, cmp], ignore_index=True).to_csv(tmp, index=False, float_format="%.6g")
    return 0


def parse_ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated integers, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
