"""Print our headline numbers beside the paper's (markdown), from reports/<ds>/metrics.csv and logs/.

    python scripts/results_table.py [--dataset mnist] [--root .]
"""

import argparse
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

PAPER_MNIST_T300 = {"classifier": 0.84, "attacker": 0.62, "diffsem_gain": 0.0335, "e-diffsem_gain": 0.1003}


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
    ours = at_ssim(main_, "classifier", 0.2)
    print(f"\nattacker accuracy at SSIM 0.20 (interpolated): ours {ours:.3f} (paper 0.47)", end="")
    for s in ("ibal", "ibal-d", "direct", "permutation"):
        if s in set(main_.system):
            print(f", {s} at SSIM 0.175: {at_ssim(main_, s, 0.175):.3f}", end="")
    print("\n\nwall time per rule (from logs/):")
    for log in sorted((root / "logs" / a.dataset).glob("*.log")):
        m = re.findall(r"done in ([0-9.]+) s", log.read_text(errors="replace"))
        if m:
            print(f"- {log.stem}: {float(m[-1]) / 60:.1f} min")


if __name__ == "__main__":
    main()
