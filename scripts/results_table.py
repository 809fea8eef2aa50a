"""Print our headline numbers beside the paper's (markdown), from reports/<ds>/metrics.csv and logs/.

    python scripts/results_table.py [--dataset mnist] [--root .]
"""

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

TAB = "\t"
PAPER_MNIST_T300 = {"classifier": 0.84, "attacker": 0.62, "diffsem_gain": 0.0335, "e-diffsem_gain": 0.1003}
# Sec. IV-C: CIFAR-10 at t = 150, and the attacker at matched SSIM (ours 51.8% at 0.12, Direct 42.6% at 0.14)
PAPER_CIFAR_T150 = {"classifier": 0.873, "diffsem": 0.917, "e-diffsem": 0.933, "attacker": 0.587}


def se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0) / n)


def at_ssim(df: pd.DataFrame, system: str, ssim: float) -> float:
    """Attacker accuracy interpolated at a given SSIM along the system's curve (NaN outside it)."""
    d = df[df.system == system].groupby("t").mean(numeric_only=True).sort_values("attacker_ssim")
    xs, ys = d.attacker_ssim.to_numpy(), d.attacker_acc.to_numpy()
    if len(xs) < 2 or not xs[0] <= ssim <= xs[-1]:
        return float("nan")
    return float(np.interp(ssim, xs, ys))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=".")
    ap.add_argument("--snr", type=float, default=15.0)
    a = ap.parse_args()
    root = Path(a.root)
    df = pd.read_csv(root / "reports" / a.dataset / "metrics.csv")
    main_ = df[df.snr_db == a.snr]
    n = int(df.n_eval.iloc[0]) * df.seed.nunique()
    print(f"n_eval = {n} per point, channel SNR {a.snr:g} dB\n")
    print("| t | system | receiver acc (± SE) | attacker acc (± SE) | attacker SSIM | attacker PSNR |")
    print("|---|---|---|---|---|---|")
    for t in sorted(main_.t.unique()):
        for system, g in main_[main_.t == t].groupby("system", sort=False):
            r = g.mean(numeric_only=True)
            rx = "—" if math.isnan(r.receiver_acc) else f"{r.receiver_acc:.3f} ± {se(r.receiver_acc, n):.3f}"
            print(f"| {t} | {system} | {rx} | {r.attacker_acc:.3f} ± {se(r.attacker_acc, n):.3f} | "
                  f"{r.attacker_ssim:.3f} | {r.attacker_psnr:.2f} |")
    if a.dataset == "mnist" and 300 in set(main_.t):
        g = main_[main_.t == 300].groupby("system").mean(numeric_only=True)
        c = g.loc["classifier", "receiver_acc"]
        print("\n| at SNR 15 dB, t = 300 | paper | ours |")
        print("|---|---|---|")
        print(f"| classifier (bypass) | {PAPER_MNIST_T300['classifier']:.2%} | {c:.2%} ± {se(c, n):.1%} |")
        print(f"| attacker | {PAPER_MNIST_T300['attacker']:.2%} | {g.loc['classifier', 'attacker_acc']:.2%} |")
        for s in ("diffsem", "e-diffsem"):
            gain = g.loc[s, "receiver_acc"] - c
            print(f"| {s} − classifier | +{PAPER_MNIST_T300[s + '_gain'] * 100:.2f} pts | {gain * 100:+.2f} pts |")
    if a.dataset == "cifar10" and 150 in set(main_.t):
        g = main_[main_.t == 150].groupby("system").mean(numeric_only=True)
        print("\n| at SNR 15 dB, t = 150 | paper | ours |")
        print("|---|---|---|")
        for s in ("classifier", "diffsem", "e-diffsem"):
            print(f"| {s} | {PAPER_CIFAR_T150[s]:.1%} | {g.loc[s, 'receiver_acc']:.1%} ± {se(g.loc[s, 'receiver_acc'], n):.1%} |")
        print(f"| attacker | {PAPER_CIFAR_T150['attacker']:.1%} | {g.loc['classifier', 'attacker_acc']:.1%} |")
        ours = at_ssim(main_, "classifier", 0.12)
        print(f"\nattacker accuracy at SSIM 0.12 (interpolated): ours {ours:.3f} (paper 0.518)", end="")
        if "direct" in set(main_.system):
            print(f", direct at SSIM 0.14: {at_ssim(main_, 'direct', 0.14):.3f} (paper 0.426)", end="")
    else:
        ours = at_ssim(main_, "classifier", 0.2)
        print(f"\nattacker accuracy at SSIM 0.20 (interpolated): ours {ours:.3f} (paper 0.47)", end="")
        for s in ("ibal", "ibal-d", "direct", "permutation"):
            if s in set(main_.system):
                print(f", {s} at SSIM 0.175: {at_ssim(main_, s, 0.175):.3f}", end="")
    mj = root / "reports" / a.dataset / "metrics.json"
    if mj.is_file() and "noiseless" in (head := json.loads(mj.read_text())):
        up = head["noiseless"]
        print("\n\nnoiseless upper bound (t = 0, no channel noise): " +
              ", ".join(f"{s} {up[s + '_acc']:.3f}" for s in ("classifier", "diffsem", "e-diffsem")), end="")
    print("\n\n| rule | wall (min, from logs/) | peak RSS (MB, from benchmarks/) |")
    print("|---|---|---|")
    for log in sorted((root / "logs" / a.dataset).glob("*.log")):
        m = re.findall(r"done in ([0-9.]+) s", log.read_text(errors="replace"))
        if m:
            bench = root / "benchmarks" / a.dataset / f"{log.stem}.tsv"
            rss = f"{pd.read_csv(bench, sep=TAB).max_rss.iloc[-1]:.0f}" if bench.is_file() else "—"
            print(f"| {log.stem} | {float(m[-1]) / 60:.1f} | {rss} |")


if __name__ == "__main__":
    main()
