"""Figures 3-6 and 8 of the paper from metrics.csv (and the saved adversary samples)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from .io import atomic_path  # noqa: E402
from .schedule import Schedule  # noqa: E402

STYLE = {  # system -> (label, color, marker); receivers solid, attackers dashed (as in the paper)
    "classifier": ("Classifier", "tab:green", "*"),
    "diffsem": ("DiffSem", "tab:red", "o"),
    "e-diffsem": ("E-DiffSem", "darkred", "s"),
}


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)


def _se(p: pd.Series, n: pd.Series) -> np.ndarray:
    return np.sqrt(np.clip(p * (1 - p), 0, None) / n)


def _agg(df: pd.DataFrame, col: str) -> pd.DataFrame:
    g = df.groupby("t").agg(mean=(col, "mean"), n=("n_eval", "sum")).reset_index()
    g["se"] = _se(g["mean"], g["n"])
    return g


def fig3_schedule(schedule: Schedule, path: Path, mark_t: int = 184) -> None:
    t = np.arange(0, schedule.T + 1)
    ab = schedule.alpha_bar.numpy()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(t, np.sqrt(ab), label=r"$\sqrt{\bar\alpha_t}$", color="tab:blue")
    ax.plot(t, np.sqrt(1 - ab), label=r"$\sqrt{1-\bar\alpha_t}$", color="tab:orange")
    ax.set_xlabel("t")
    ax.set_ylabel("coefficient")
    ax2 = ax.twinx()
    with np.errstate(divide="ignore"):
        esnr = 10 * np.log10(ab[1:] / (1 - ab[1:]))
    ax2.plot(t[1:], esnr, color="tab:green", ls="--", label="ESNR (dB)")
    ax2.set_ylabel("ESNR p (dB)")
    ax2.set_ylim(-20, 40)
    e = 10 * math.log10(ab[mark_t] / (1 - ab[mark_t]))
    ax2.plot([mark_t], [e], "ko")
    ax2.annotate(f"t={mark_t}, p={e:.2f} dB", (mark_t, e), textcoords="offset points", xytext=(8, 8))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right")
    ax.set_title("Fig. 3: schedule and equivalent SNR")
    ax.grid(alpha=0.3)
    _save(fig, path)


def fig4_accuracy_vs_t(df: pd.DataFrame, snr_db: float, path: Path, title: str = "Fig. 4") -> None:
    d = df[df.snr_db == snr_db]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for system, (label, color, marker) in STYLE.items():
        s = d[d.system == system]
        if s.empty or s.receiver_acc.isna().all():
            continue
        g = _agg(s, "receiver_acc")
        ax.errorbar(g.t, g["mean"], yerr=g.se, label=f"{label} (receiver)", color=color, marker=marker, capsize=2)
    s = d[d.system == "classifier"]
    if not s.empty:
        g = _agg(s, "attacker_acc")
        ax.errorbar(g.t, g["mean"], yerr=g.se, label="Ours (attacker)", color="tab:blue", ls="--", marker="o", capsize=2)
    ax.set_xlabel("t")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}: accuracy vs t (channel SNR {snr_db:g} dB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, path)


def fig5_accuracy_vs_ssim_psnr(df: pd.DataFrame, snr_db: float, path: Path, title: str = "Fig. 5") -> None:
    d = df[(df.snr_db == snr_db) & (df.system == "classifier")].groupby("t").mean(numeric_only=True).reset_index()
    fig, axes = plt.subplots(2, 1, figsize=(6, 7))
    for ax, col, xl in ((axes[0], "attacker_ssim", "SSIM"), (axes[1], "attacker_psnr", "PSNR (dB)")):
        o = d.sort_values(col)
        ax.plot(o[col], o.attacker_acc, "--o", color="tab:blue", label="Ours (attacker)")
        for _, r in o.iterrows():
            ax.annotate(f"t={int(r.t)}", (r[col], r.attacker_acc), fontsize=6, textcoords="offset points", xytext=(3, -8))
        ax.set_xlabel(xl)
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_title(f"{title}: attacker accuracy vs SSIM and PSNR ({snr_db:g} dB)")
    _save(fig, path)


def fig6_adversary_images(samples: dict, schedule: Schedule, path: Path, title: str = "Fig. 6") -> None:
    x, xh, ts = samples["x"], samples["x_hat"], samples["t"].tolist()
    n = x.shape[0]
    fig, axes = plt.subplots(len(ts), 2, figsize=(2 * n * 0.55 + 1, len(ts) * 0.9 + 0.6), squeeze=False)

    def strip(imgs: torch.Tensor) -> np.ndarray:
        arr = imgs.permute(0, 2, 3, 1).numpy()
        return np.concatenate(list(arr), axis=1).squeeze()

    for r, t in enumerate(ts):
        e = float(schedule.esnr_db(t))
        for c, (imgs, name) in enumerate(((x, "Original"), (xh[r], "Ours (attacker)"))):
            ax = axes[r][c]
            ax.imshow(strip(imgs), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"t={t}\n{e:.0f} dB", fontsize=8)
    fig.suptitle(f"{title}: adversary reconstructions", fontsize=10)
    _save(fig, path)


def fig8_snr_robustness(df: pd.DataFrame, path: Path, system: str = "e-diffsem") -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    snrs = sorted(df.snr_db.unique())
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(snrs)))
    for snr, color in zip(snrs, colors):
        d = df[df.snr_db == snr]
        r = _agg(d[d.system == system], "receiver_acc")
        a = _agg(d[d.system == "classifier"], "attacker_acc")
        ax.errorbar(r.t, r["mean"], yerr=r.se, color=color, marker="o", capsize=2, label=f"receiver, {snr:g} dB")
        ax.errorbar(a.t, a["mean"], yerr=a.se, color=color, marker="x", ls="--", capsize=2, label=f"attacker, {snr:g} dB")
    ax.set_xlabel("t")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Fig. 8: {STYLE[system][0]} receiver and attacker vs t at several channel SNRs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    _save(fig, path)


def make_all(metrics_csv: Path, samples_path: Path, schedule: Schedule, snr_db: float, out_dir: Path) -> list[Path]:
    df = pd.read_csv(metrics_csv)
    samples = torch.load(samples_path, map_location="cpu", weights_only=True)
    out = {
        "fig3_schedule.png": lambda p: fig3_schedule(schedule, p),
        "fig4_accuracy_vs_t.png": lambda p: fig4_accuracy_vs_t(df, snr_db, p),
        "fig5_accuracy_vs_ssim_psnr.png": lambda p: fig5_accuracy_vs_ssim_psnr(df, snr_db, p),
        "fig6_adversary_images.png": lambda p: fig6_adversary_images(samples, schedule, p),
        "fig8_snr_robustness.png": lambda p: fig8_snr_robustness(df, p),
    }
    paths = []
    for name, fn in out.items():
        fn(out_dir / name)
        paths.append(out_dir / name)
    return paths
