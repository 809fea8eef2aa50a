"""The paper's attacker on DiffSem's transmitter over t at the Fig. 4 SNR, beside the bypass classifier on the
receiver's draws, and the attacker's accuracy at a matched SSIM beside the baselines' (Sec. IV-B, Fig. 5:
"DiffSem leaks less than IBAL-D at the same image quality").

    python scripts/attacker_curve.py --dataset mnist --seed 1 [--ssim 0.2] [--out reports/mnist/seed1/eval/attacker_curve.csv]

Needs the eavesdropper's side of a run only: stage 1 and stage 3 (models/<ds>/seed<k>/jscc.pt, adversary.pt,
strong.pt; `snakemake models/<ds>/seed<k>/strong.pt`), not the U-Nets or the fine-tuned receivers, so a
training seed can be given the matched-SSIM comparison for about half an hour of CPU.  Each point is scored
by ``evaluate.evaluate_attacker_point`` on exactly the images and eavesdropper draws that `diffsem evaluate`
uses, so where a run is finished the curve equals the attacker columns of its eval/diffsem.csv.
Writes the curve as CSV (default reports/<ds>/seed<k>/eval/attacker_curve.csv) and prints it, then the
matched-SSIM line with every baseline whose eval/<system>.csv exists (`snakemake reports/<ds>/seed<k>/eval/ibal-d.csv`).
"""

import argparse
import math
import sys

import pandas as pd
import torch

from diffsem.cli import add_run_arguments, require_eavesdropper_side, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split
from diffsem.evaluate import PAPER_ATTACKS, evaluate_attacker_point
from diffsem.frontier import attacker_at_ssim, matched_ssim
from diffsem.io import CheckpointError, atomic_path
from diffsem.pipeline import Receivers
from diffsem.stages import schedule_of
from diffsem.trained import TrainedRun

BASELINES = ("ibal", "ibal-d", "direct", "permutation")


def curve(run: TrainedRun, split) -> pd.DataFrame:
    """The attacker's accuracy, SSIM and PSNR at every t of Fig. 4's grid (the Fig. 4 SNR, evaluation seeds)."""
    cfg, snr = run.cfg, float(run.cfg.eval.snr_db)
    bypass = Receivers(schedule_of(cfg), run.classifier)  # stage 1's Theta only: no U-Net, no fine-tune
    rows = []
    for seed in cfg.eval.seeds:
        for t in cfg.eval.t_grid:
            r = evaluate_attacker_point(cfg, split, run.link, run.adversaries[(t, snr)], run.strong, t, snr, seed,
                                        run.device, bypass)
            rows.append({"dataset": run.paths.dataset, "train_seed": cfg.seed, **r})
            print(f"t={t}: bypass classifier {r['classifier_acc']:.4f}, attacker {r['attacker_acc']:.4f}, "
                  f"SSIM {r['attacker_ssim']:.3f}, PSNR {r['attacker_psnr']:.2f} (n = {r['n_eval']})", flush=True)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--ssim", type=float, default=None, help="the matched SSIM (default: 0.2 MNIST, 0.12 CIFAR-10)")
    ap.add_argument("--out", default=None, help="CSV of the curve (default reports/<ds>/seed<k>/eval/attacker_curve.csv)")
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        ref = args.ssim if args.ssim is not None else matched_ssim(args.dataset)
        if not 0 < ref < 1:
            raise ValueError(f"--ssim must lie in (0, 1), got {ref}")
        require_eavesdropper_side(paths)
        torch.set_num_threads(1)
        split = load_split(paths.split, with_test=True)  # an evaluation: reads test, selects nothing
        run = TrainedRun(cfg, paths, torch.device("cpu"))
        df = curve(run, split)
    except (ConfigError, DataError, CheckpointError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"attacker_curve: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    out = args.out or paths.eval_part("attacker_curve")
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    print(f"\n{out}\n\n| system | attacker accuracy at SSIM {ref} | n (smallest point) |\n|---|---|---|")
    ours, n = attacker_at_ssim(df, ref)
    print(f"| DiffSem's transmitter (inversion attacker) | {ours:.4f} | {n} |")
    snr = float(cfg.eval.snr_db)
    for s in BASELINES:
        part = paths.eval_part(s)
        if part.is_file():
            b = pd.read_csv(part)
            b = b[(b.snr_db == snr) & b.attack.isin(PAPER_ATTACKS)]
            v, nb = attacker_at_ssim(b, ref)
            print(f"| {s} | {'outside its curve' if math.isnan(v) else f'{v:.4f}'} | {nb} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
