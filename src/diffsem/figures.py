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
    "classifier-ft": ("Classifier-FT (control)", "tab:cyan", "P"),
    "ceiling": ("Feature ceiling (MLP on ẑ)", "black", "_"),
    "diffsem": ("DiffSem", "tab:red", "o"),
    "e-diffsem": ("E-DiffSem", "darkred", "s"),
    "ibal": ("IBAL", "tab:purple", "^"),
    "ibal-d": ("IBAL-D", "tab:pink", "v"),
    "direct": ("Direct", "tab:gray", "x"),
    "permutation": ("Permutation", "tab:olive", "D"),
}
# whose attacker a system's attacker columns describe ("classifier" rows carry DiffSem's attacker)
ATTACKERS = {"classifier": "Ours", "ibal": "IBAL", "ibal-d": "IBAL-D", "direct": "Direct", "permutation": "Permutation"}
ATTACKER_COLOR = {"classifier": "tab:blue", "ibal": "tab:purple", "ibal-d": "tab:pink", "direct": "tab:gray",
                  "permutation": "tab:olive"}


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
    ax.legend(h1 + h2, l1 + l2, loc="center right")
    ax.set_title("Fig. 3: schedule and equivalent SNR")
    ax.grid(alpha=0.3)
    _save(fig, path)


def fig4_accuracy_vs_t(df: pd.DataFrame, snr_db: float, path: Path, title: str = "Fig. 4",
                       semantic: pd.DataFrame | None = None) -> None:
    """Receivers and the paper's attackers (``df``: paper-protocol rows) against t, plus the semantic
    attacker on DiffSem's transmitter when its rows are given."""
    d = df[df.snr_db == snr_db]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for system, (label, color, marker) in STYLE.items():
        s = d[d.system == system]
        if s.empty or s.receiver_acc.isna().all():
            continue
        g = _agg(s, "receiver_acc")
        ax.errorbar(g.t, g["mean"], yerr=g.se, label=f"{label} (receiver)", color=color, marker=marker, capsize=2)
    for system in ("classifier", "ibal", "ibal-d"):
        s = d[d.system == system]
        if s.empty:
            continue
        g = _agg(s, "attacker_acc")
        ax.errorbar(g.t, g["mean"], yerr=g.se, label=f"{ATTACKERS[system]} (attacker)", color=ATTACKER_COLOR[system],
                    ls="--", marker=STYLE["diffsem" if system == "classifier" else system][2], capsize=2, mfc="none")
    sem = semantic[semantic.snr_db == snr_db] if semantic is not None else None
    if sem is not None and not sem.empty:
        g = _agg(sem, "attacker_acc")
        ax.errorbar(g.t, g["mean"], yerr=g.se, label="semantic attacker (DiffSem tx)", color="black", ls=":",
                    marker="s", capsize=2, mfc="none")
    ax.set_xlabel("t")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}: accuracy vs t (channel SNR {snr_db:g} dB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    _save(fig, path)


def fig5_accuracy_vs_ssim_psnr(df: pd.DataFrame, snr_db: float, path: Path, title: str = "Fig. 5") -> None:
    """Attacker accuracy against the SSIM and PSNR of what it recovers, for every system's attacker."""
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 8))
    for system, name in ATTACKERS.items():
        d = df[(df.snr_db == snr_db) & (df.system == system)].groupby("t").mean(numeric_only=True).reset_index()
        if d.empty:
            continue
        marker = STYLE["diffsem" if system == "classifier" else system][2]
        for ax, col in ((axes[0], "attacker_ssim"), (axes[1], "attacker_psnr")):
            o = d.sort_values(col)
            ax.plot(o[col], o.attacker_acc, "--", marker=marker, color=ATTACKER_COLOR[system], label=name, mfc="none")
            if system == "classifier":
                for _, r in o.iterrows():
                    ax.annotate(f"t={int(r.t)}", (r[col], r.attacker_acc), fontsize=6, textcoords="offset points",
                                xytext=(3, -8))
    for ax, xl in ((axes[0], "SSIM"), (axes[1], "PSNR (dB)")):
        ax.set_xlabel(xl)
        ax.set_ylabel("accuracy (strong classifier)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_title(f"{title}: attacker accuracy vs SSIM and PSNR ({snr_db:g} dB)")
    _save(fig, path)


def image_rows(columns: list[tuple[str, torch.Tensor]], ts: list[int], schedule: Schedule, path: Path, title: str) -> None:
    """Rows = t values, columns = (name, images) with images of shape (len(ts), n, C, H, W) or (n, C, H, W)."""
    n = columns[0][1].shape[-4]
    fig, axes = plt.subplots(len(ts), len(columns), figsize=(len(columns) * n * 0.55 + 1, len(ts) * 0.95 + 0.6),
                             squeeze=False)

    def strip(imgs: torch.Tensor) -> np.ndarray:
        arr = imgs.permute(0, 2, 3, 1).clamp(0, 1).numpy()
        return np.concatenate(list(arr), axis=1).squeeze()

    for r, t in enumerate(ts):
        e = float(schedule.esnr_db(t))
        for c, (name, imgs) in enumerate(columns):
            ax = axes[r][c]
            ax.imshow(strip(imgs if imgs.dim() == 4 else imgs[r]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"t={t}\n{e:.0f} dB", fontsize=8)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def fig6_adversary_images(samples: dict[str, dict], schedule: Schedule, path: Path, title: str = "Fig. 6") -> None:
    """Original, IBAL, IBAL-D and our attacker's reconstructions at the fig6 t values (-10/0/10 dB)."""
    ours = samples["diffsem"]
    cols = [("Original", ours["x"])]
    cols += [(STYLE[s][0], samples[s]["x_hat"]) for s in ("ibal", "ibal-d") if s in samples]
    cols.append(("Ours", ours["x_hat"]))
    image_rows(cols, ours["t"].tolist(), schedule, path, f"{title}: adversary reconstructions")


def fig7_direct_permutation(samples: dict[str, dict], schedule: Schedule, path: Path) -> None:
    cols = [(STYLE[s][0], samples[s]["x_hat"]) for s in ("direct", "permutation") if s in samples]
    ts = samples["direct" if "direct" in samples else "permutation"]["t"].tolist()
    image_rows(cols, ts, schedule, path, "Fig. 7: Direct and Permutation modes")


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


def learning_curves(curve_dir: Path, path: Path, names) -> None:
    """One panel per training stage: training loss (left axis) and the selecting validation metric
    (right axis; every point for the attacker, one line each), the selected epoch marked."""
    present = [n for n in names if (curve_dir / f"{n}.csv").is_file()]
    cols = 4
    rows = max(1, math.ceil(len(present) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(present):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, present):
        d = pd.read_csv(curve_dir / f"{name}.csv")
        metric = next((c for c in ("val_acc_mean", "val_eps_mse", "val_mse", "val_acc") if c in d), None)
        groups = d.groupby("point") if "point" in d else [(None, d)]
        ax2 = ax.twinx() if metric else None
        for key, g in groups:
            ax.plot(g.epoch, g.train_loss, color="tab:gray", lw=1, alpha=0.6 if key else 1)
            if metric:
                ax2.plot(g.epoch, g[metric], color="tab:blue", lw=1, alpha=0.5 if key else 1, marker=None if key else "o", ms=3)
                sel = g[g.selected == 1]
                ax2.plot(sel.epoch, sel[metric], "r*", ms=8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("train loss", color="tab:gray")
        if metric:
            ax2.set_ylabel(metric, color="tab:blue")
    fig.suptitle("Learning curves (red star: the selected, best-validation epoch)")
    fig.tight_layout()
    _save(fig, path)


def privacy_utility(df: pd.DataFrame, snr_db: float, path: Path, title: str, semantic: pd.DataFrame | None = None) -> None:
    """Receiver accuracy against the accuracy of the attacker on the same transmitter, one curve per
    system over T' (binomial SE bars both ways); on the diagonal the eavesdropper learns as much as the
    receiver. DiffSem's receivers and the feature ceiling share DiffSem's transmitter (its attacker).
    With the semantic attacker's rows, E-DiffSem is also drawn against it (dotted, open squares)."""
    d = df[df.snr_db == snr_db]
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="attacker = receiver")
    for system, (label, color, marker) in STYLE.items():
        s = d[d.system == system]
        if s.empty or s.receiver_acc.isna().all():  # Direct / Permutation: no receiver
            continue
        g = s.groupby("t").agg(rx=("receiver_acc", "mean"), att=("attacker_acc", "mean"), n=("n_eval", "sum")).reset_index()
        ax.errorbar(g.att, g.rx, xerr=_se(g.att, g.n), yerr=_se(g.rx, g.n), color=color, marker=marker, capsize=2,
                    ls="--" if system == "ceiling" else "-", label=label, ms=4)
        if system == "classifier":
            for _, r in g.iterrows():
                ax.annotate(f"t={int(r.t)}", (r.att, r.rx), fontsize=6, textcoords="offset points", xytext=(4, -8))
    sem = semantic[semantic.snr_db == snr_db] if semantic is not None else None
    rx = d[d.system == "e-diffsem"]
    if sem is not None and not sem.empty and not rx.empty:  # the same receiver against the semantic attacker
        g = (rx.groupby("t").agg(rx=("receiver_acc", "mean"), n=("n_eval", "sum"))
             .join(sem.groupby("t").agg(att=("attacker_acc", "mean")), how="inner").reset_index())
        ax.errorbar(g.att, g.rx, xerr=_se(g.att, g.n), yerr=_se(g.rx, g.n), color="black", marker="s", capsize=2,
                    ls=":", label="E-DiffSem vs semantic attacker", ms=4, mfc="none")
    ax.set_xlabel("attacker accuracy (strong classifier on the reconstruction; semantic: classifier on z_hat)")
    ax.set_ylabel("receiver accuracy")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}: privacy–utility frontier ({snr_db:g} dB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)


def frontier_across_seeds(df: pd.DataFrame, snr_db: float, path: Path, title: str) -> None:
    """The privacy–utility frontier over training seeds (frontier.py): each system's receiver accuracy
    against the strongest attacker on its transmitter, one point per T', 95 % across-seed intervals both
    ways; the feature ceiling dashed; on the diagonal the eavesdropper learns as much as the receiver."""
    d = df[df.snr_db == snr_db]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="attacker = receiver")
    for system, (label, color, marker) in STYLE.items():
        g = d[d.system == system].sort_values("t")
        if g.empty:
            continue
        hw = lambda c: g[c].fillna(0)  # noqa: E731 (one seed: no interval)
        ax.errorbar(g.attacker_acc, g.receiver_acc, xerr=hw("attacker_hw"), yerr=hw("receiver_hw"), color=color,
                    marker=marker, capsize=2, ls="--" if system == "ceiling" else "-", label=label, ms=4)
        if system == "e-diffsem":
            for _, r in g.iterrows():
                ax.annotate(f"t={int(r.t)}", (r.attacker_acc, r.receiver_acc), fontsize=6, textcoords="offset points",
                            xytext=(4, -8))
    n = int(d.n_seeds.max()) if not d.empty else 0
    ax.set_xlabel("strongest attacker's accuracy on the system's transmitter")
    ax.set_ylabel("receiver accuracy")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    spread = "95 % CI over seeds" if n > 1 else "one seed: no interval"
    ax.set_title(f"{title}: privacy–utility frontier, {n} training seed(s), {spread} ({snr_db:g} dB)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)


def attack_study(df: pd.DataFrame, path: Path, title: str) -> None:
    """The attack study (attack_study.py) in three panels: the gap against the eavesdropper's SNR deficit,
    accuracy against the number of queries, and the surrogate-data attackers beside the reference."""
    d = df.groupby(["study", "setting", "attack", "t"], sort=False).mean(numeric_only=True).reset_index()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ts = sorted(d.t.unique())
    style = {"semantic": ("black", "s", ":"), "inversion": ("tab:red", "o", "--")}
    for a, (color, marker, ls) in style.items():
        for t, alpha in zip(ts, np.linspace(1.0, 0.5, len(ts))):
            e = d[(d.study == "eve_snr") & (d.attack == a) & (d.t == t)]
            if not e.empty:
                off = e.snr_db - e.eve_snr_db
                axes[0].errorbar(off, e.gap_pts, yerr=[e.gap_pts - e.ci_lo_pts, e.ci_hi_pts - e.gap_pts], color=color,
                                 marker=marker, ls=ls, alpha=alpha, capsize=2, label=f"{a}, t={t}")
            q = d[(d.study == "queries") & (d.attack == a) & (d.t == t)].sort_values("n_queries")
            if not q.empty:
                axes[1].plot(q.n_queries, q.attacker_acc, color=color, marker=marker, ls=ls, alpha=alpha, label=f"{a}, t={t}")
                axes[1].axhline(float(q["e-diffsem_acc"].iloc[0]), color="tab:purple", lw=1, alpha=alpha, ls="-.")
    axes[0].axhline(0, color="0.5", lw=1)
    axes[0].set_xlabel("eavesdropper's SNR deficit (dB)")
    axes[0].set_ylabel("E-DiffSem − attacker (accuracy points)")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("chosen-plaintext queries (adversary images)")
    axes[1].set_ylabel("attacker accuracy (dash-dot: E-DiffSem)")
    ref = d[(d.study == "eve_snr") & (d.eve_snr_db == d.snr_db)].assign(setting="reference")
    sur = pd.concat([ref, d[d.study == "surrogate"]])
    labels = [f"{r.setting}, t={r.t}" for r in sur.itertuples()]  # colour = attack (legend of the left panels)
    axes[2].bar(range(len(sur)), sur.attacker_acc, color=[style[a][0] for a in sur.attack], alpha=0.7)
    axes[2].set_xticks(range(len(sur)), labels, fontsize=7, rotation=60, ha="right")
    axes[2].set_ylabel("attacker accuracy")
    axes[2].set_ylim(0, 1.02)
    for ax, name in zip(axes, ("worse eavesdropper channel", "attacker data", "surrogate data")):
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.suptitle(f"{title}: attackers under changed conditions (headline points)")
    fig.tight_layout()
    _save(fig, path)


def make_all(cfg, paths, schedule: Schedule) -> list[Path]:
    """Every figure of the dataset (figure_names.FIGURES) from metrics.csv and the evaluation samples."""
    from .figure_names import CURVES, figure_files

    from .evaluate import attack_rows, paper_rows
    from .fading_eval import fading_part
    from .prior_attack import FADING_PART as PRIOR_FADING_PART

    everything = pd.read_csv(paths.metrics_csv)
    df = paper_rows(everything)
    semantic = attack_rows(everything, "semantic") if "attack" in everything else None
    samples = {s: torch.load(paths.eval_samples(s), map_location="cpu", weights_only=True)
               for s in ("diffsem", *cfg.baselines.systems)}
    snr_db = float(cfg.eval.snr_db)
    files = figure_files(paths.dataset, cfg.baselines.systems)
    # the paper's figure number where the dataset has one, else the role's name
    num = {role: stem.split("_")[0].replace("fig", "Fig. ") if stem.startswith("fig") else role.replace("_", " ").capitalize()
           for role, stem in files.items()}
    ds_name = cfg.entry.title or paths.dataset
    draw = {
        "schedule": lambda p: fig3_schedule(schedule, p),
        "accuracy_vs_t": lambda p: fig4_accuracy_vs_t(df, snr_db, p, f"{num['accuracy_vs_t']} ({ds_name})", semantic),
        "accuracy_vs_ssim_psnr": lambda p: fig5_accuracy_vs_ssim_psnr(df, snr_db, p, f"{num['accuracy_vs_ssim_psnr']} ({ds_name})"),
        "adversary_images": lambda p: fig6_adversary_images(samples, schedule, p, f"{num['adversary_images']} ({ds_name})"),
        "direct_permutation": lambda p: fig7_direct_permutation(samples, schedule, p),
        "snr_robustness": lambda p: fig8_snr_robustness(df[df.system.isin(["classifier", "e-diffsem"])], p),
        "learning_curves": lambda p: learning_curves(paths.curve("jscc").parent, p, CURVES),
        "privacy_utility": lambda p: privacy_utility(df, snr_db, p, ds_name, semantic),
        "attack_study": lambda p: attack_study(pd.read_csv(paths.attack_study), p, ds_name),
        "fading": lambda p: fading_figure(pd.concat([pd.read_csv(paths.eval_part(part)) for part in
                                                     (*(fading_part(s) for s in ("diffsem", *cfg.baselines.systems)),
                                                      PRIOR_FADING_PART)]),
                                          p, f"{ds_name}, {cfg.channel.kind.upper()}-trained"),
    }
    out = []
    for role, stem in files.items():
        path = paths.figures / f"{stem}.png"
        draw[role](path)
        out.append(path)
    return out


def fading_figure(df: pd.DataFrame, path: Path, title: str) -> None:
    """Issue #15's Fig. 8 counterpart: accuracy against the mean SNR of a Rayleigh block-fading link, one
    panel per T' (``fading_eval``; IBAL's at the equivalent SNR of the grid point). Receivers solid
    (DiffSem's with transmitter CSI dashed); the eavesdropper's attackers dotted — DiffSem's inversion,
    semantic and diffusion-prior attackers, for IBAL / IBAL-D the stronger of the two at each point, and the strong classifier
    on what Direct / Permutation send."""
    ts = sorted(df.t.unique())
    fig, axes = plt.subplots(1, len(ts), figsize=(4.4 * len(ts), 3.8), squeeze=False, sharey=True)
    att_style = {("diffsem", "attacker"): ("Attacker (inversion + strong)", "black", "s"),
                 ("diffsem", "semantic"): ("Attacker (semantic)", "dimgray", "P"),
                 ("diffsem", "fading_attacker"): ("Attacker (inversion, trained on fading)", "tab:brown", "d"),
                 ("diffsem", "fading_semantic"): ("Attacker (semantic, trained on fading)", "tab:orange", "X"),
                 ("diffsem", "diffusion"): ("Attacker (diffusion prior + inversion)", "tab:cyan", "v")}
    for ax, t in zip(axes[0], ts):
        at = df[df.t == t]
        for system in ("e-diffsem", "diffsem", "classifier", "ibal", "ibal-d"):
            name, color, marker = STYLE[system]
            for csit, ls in ((False, "-"), (True, "--")):
                d = at[(at.role == "receiver") & (at.system == system) & (at.csit == csit)].sort_values("snr_db")
                if not d.empty:
                    ax.errorbar(d.snr_db, d.accuracy, yerr=1.96 * _se(d.accuracy, d.n_eval), color=color, marker=marker,
                                ls=ls, ms=4, capsize=2, label=f"{name}{' (CSIT)' if csit else ''}")
        for (system, role), (name, color, marker) in att_style.items():
            for csit, ls in ((False, ":"), (True, "-.")):
                d = at[(at.role == role) & (at.system == system) & (at.csit == csit)].sort_values("snr_db")
                if not d.empty:
                    ax.plot(d.snr_db, d.accuracy, color=color, marker=marker, ls=ls, ms=4,
                            label=f"{name}{' (CSIT)' if csit else ''}")
        for system in ("direct", "permutation"):
            name, color, marker = STYLE[system]
            for csit, ls in ((False, ":"), (True, "-.")):
                d = at[(at.system == system) & (at.role == "attacker") & (at.csit == csit)].sort_values("snr_db")
                if not d.empty:
                    ax.plot(d.snr_db, d.accuracy, color=color, marker=marker, ls=ls, ms=4,
                            label=f"{name}'s attacker{' (CSIT)' if csit else ''}")
        for system in ("ibal", "ibal-d"):
            d = at[(at.system == system) & (at.role != "receiver")]
            if not d.empty:
                best = d.groupby("snr_db").accuracy.max()
                name, color, marker = STYLE[system]
                ax.plot(best.index, best.values, color=color, marker=marker, ls=":", ms=4, label=f"{name}'s strongest attacker")
        ax.set_title(f"T' = {t}")
        ax.set_xlabel("mean SNR (dB), Rayleigh block fading")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5, fontsize=7, frameon=False)
    fig.suptitle(f"{title}: receivers and eavesdropper on a fading link (each with its own CSI)")
    _save(fig, path)
