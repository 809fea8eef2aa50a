"""How much of the paper's attacker's accuracy is its judge: the run's strong classifier and further draws
of its recipe, each reading the same inversion networks' reconstructions (decisions §43).

    python scripts/judge_spread.py --dataset mnist --seed 1 [--draws 2] [--out reports/mnist/seed1/eval/judge_spread.csv]

Stage 3's accuracy is the strong classifier's on the inversion network's reconstructions (Sec. IV-B).  The
judge is trained, so its own training draw moves that accuracy even when the network is fixed.  This trains
``--draws`` more judges of the run's `strong` recipe, each on the run's attackers with another
initialisation and shuffling (`stages.train_judge`), each choosing its epoch on the adversary's validation slice
as stage 3 does.  Draw 0 is the run's own judge.  Every judge then scores the run's inversion networks at the
headline points, on exactly `evaluate`'s images and eavesdropper draws (`evaluate.evaluate_attacker_point`,
so draw 0's row equals eval/diffsem.csv's attacker column).  Prints each judge's selected epoch, validation
accuracy and test attack accuracy, then the spread over judges.  The test set is read for reporting only:
nothing is selected on it.  Needs stage 1 and stage 3 of the run (`snakemake models/<ds>/seed<k>/strong.pt`).
"""

import argparse
import sys

import pandas as pd
import torch

from diffsem.cli import add_run_arguments, require_eavesdropper_side, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split
from diffsem.evaluate import evaluate_attacker_point
from diffsem.io import CheckpointError, atomic_path
from diffsem.stages import headline_points, train_judge
from diffsem.trained import TrainedRun


def spread(run: TrainedRun, split, draws: int) -> pd.DataFrame:
    """One row per (judge draw, headline point, evaluation seed)."""
    cfg, rows = run.cfg, []
    own = pd.read_csv(run.paths.curve("strong")) if run.paths.curve("strong").is_file() else None
    sel = own[own.selected == 1].iloc[0] if own is not None and (own.selected == 1).any() else None
    judges = [(0, run.strong, None if sel is None else int(sel.epoch), None if sel is None else float(sel.val_acc_mean))]
    for d in range(1, draws + 1):
        net, res = train_judge(cfg, run.paths, run.device, draw=d)
        best = next(r for r in res.curve if r["epoch"] == res.best_epoch)
        judges.append((d, net.eval(), res.best_epoch, best.get("val_acc_mean")))
    for d, judge, epoch, val in judges:
        for t, snr in headline_points(cfg):
            for seed in cfg.eval.seeds:
                r = evaluate_attacker_point(cfg, split, run.link, run.adversaries[(t, snr)], judge, t, snr, seed, run.device)
                rows.append({"dataset": run.paths.dataset, "train_seed": cfg.seed, "judge": d, "selected_epoch": epoch,
                             "val_acc_mean": val, "t": t, "snr_db": snr, "seed": seed,
                             "attacker_acc": r["attacker_acc"], "n_eval": r["n_eval"]})
                print(f"judge {d}: t={t} attacker {r['attacker_acc']:.4f} (n = {r['n_eval']})", flush=True)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--draws", type=int, default=2, help="judges trained besides the run's own (>= 1)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="CSV (default reports/<ds>/seed<k>/eval/judge_spread.csv)")
    args = ap.parse_args()
    try:
        if args.draws < 1:
            raise ValueError(f"--draws must be >= 1, got {args.draws}")
        cfg, paths = run_of(args)
        require_eavesdropper_side(paths)
        torch.set_num_threads(max(1, args.threads))
        split = load_split(paths.split, with_test=True)  # scores only; every judge selects on validation
        df = spread(TrainedRun(cfg, paths, torch.device("cpu")), split, args.draws)
    except (ConfigError, DataError, CheckpointError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"judge_spread: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    out = args.out or paths.eval_part("judge_spread")
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    wide = df.pivot_table(index="judge", columns="t", values="attacker_acc")
    wide.columns = [f"attacker T'={t}" for t in wide.columns]
    meta = df.groupby("judge")[["selected_epoch", "val_acc_mean"]].first()
    print(f"\n{out}\n")
    print(meta.join(wide).to_markdown(floatfmt=".4f"))
    pts = 100 * (wide.max() - wide.min())
    print("\nspread over judges (max − min, pts): " + ", ".join(f"{c}: {v:.2f}" for c, v in pts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
