"""Every results table of docs/results.md for one dataset, from a finished run's reports/ and logs/.

    python scripts/results_table.py [--dataset mnist] [--root .] [--seed 0] [--snr 15] [--curves-only] [--epochs-of jscc]

Sections: learning curves (converged or not), the accuracy grid, the paper's claims with paired tests
(reports/<ds>/seed<k>/comparisons.csv, Holm-adjusted) and a verdict each, the attackers (inversion and
semantic) and the attack study, the feature ceiling, the receiver
and guidance searches (validation), and wall time per rule.  Numbers only; the prose is the reader's.
Per-run tables are one training seed's (--seed); the across-seed table reads reports/seeds/<ds>.csv.
``--curves-only`` prints the learning-curve table alone, for a run still in progress; ``--epochs-of STAGE`` adds
every epoch of that stage's curve (and implies ``--curves-only``).
"""

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from diffsem.evaluate import attack_rows, paper_rows
from diffsem.frontier import attacker_at_ssim, matched_ssim
from diffsem.stages import Paths
from diffsem.stats import tail_trend, verdict

TAB = "\t"
# the paper's numbers (MNIST Fig. 4 / Sec. IV-B at 15 dB, t = 300; CIFAR-10 Sec. IV-C at t = 150)
PAPER = {"mnist": {"t": 300, "classifier": 0.84, "attacker": 0.62, "diffsem": 0.84 + 0.0335, "e-diffsem": 0.84 + 0.1003},
         "cifar10": {"t": 150, "classifier": 0.873, "diffsem": 0.917, "e-diffsem": 0.933, "attacker": 0.587}}
METRIC = {"val_acc_mean": "max", "val_eps_mse": "min", "val_mse": "min", "val_acc": "max"}
TAIL = 10  # epochs at the end of a curve whose fitted slope says whether it had plateaued (stats.tail_trend)


def se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0) / n)


def at_ssim(df: pd.DataFrame, system: str, ssim: float) -> tuple[float, int]:
    """Attacker accuracy interpolated at an SSIM along the system's curve over t, and the n there."""
    return attacker_at_ssim(df[df.system == system], ssim)


def curves(run: Paths) -> None:
    print("### Learning curves (validation; `%s/curves/*.csv`, figure `curves.png`)\n" % run.dir("reports"))
    print("| stage | epochs run / cap | selected epoch | selection metric | best | change over the last 5 epochs before the best "
          f"| last {TAIL} epochs' fitted slope, % of best per 10 epochs (95 % CI; curves of ≥ {2 * TAIL} epochs) | status |")
    print("|---|---|---|---|---|---|---|---|")
    cdir = run.dir("reports") / "curves"
    for f in sorted(cdir.glob("*.csv")):
        d = pd.read_csv(f)
        metric = next((c for c in METRIC if c in d), None)
        if metric is None:
            continue
        groups = list(d.groupby("point")) if "point" in d else [(None, d)]
        runs, bests, sel, deltas, trends, hit_cap = [], [], [], [], [], 0
        cap = int(d.max_epochs.max()) if "max_epochs" in d else _cap(run, f.stem)
        for _, g in groups:
            g = g.sort_values("epoch")
            b = g[g.selected == 1].iloc[0]
            runs.append(len(g))
            sel.append(int(b.epoch))
            bests.append(float(b[metric]))
            before = g[g.epoch <= b.epoch - 5]
            deltas.append(float(b[metric] - before[metric].iloc[-1]) if len(before) else float("nan"))
            hit_cap += int(b.epoch == g.epoch.max() and len(g) >= (cap or 0))
            if len(g) >= 2 * TAIL:  # a shorter curve's last TAIL epochs still hold its first climb
                # slope per epoch -> % of the best value per 10 epochs
                trends.append((tail_trend(g[metric].to_numpy(), TAIL), 1000.0 / abs(bests[-1]) if bests[-1] else 0.0))
        better = METRIC[metric]
        rising = [tr.slope * k for tr, k in trends if tr.verdict(better) == "still improving"]
        if len(groups) > 1:
            status = (f"{hit_cap}/{len(groups)} points still improving at the cap" if hit_cap
                      else "plateaued at every point")
            slope = (f"{len(rising)}/{len(trends)} fitted points still improving"
                     + (f" (steepest {max(rising, key=abs):+.2f} %)" if rising else "") if trends else "—")
        else:
            tr, k = trends[0] if trends else (None, 0.0)
            slope = f"{tr.slope * k:+.2f} % ({tr.lo * k:+.2f}, {tr.hi * k:+.2f}): {tr.verdict(better)}" if tr else "—"
            status = ("still improving at the cap: under-trained" if hit_cap
                      else "early-stopped on a plateau" if max(runs) < (cap or 10**9)
                      # the cap ended it: the tail's slope says whether more epochs would have helped
                      else f"ran to the cap, best {max(runs) - sel[0]} epoch(s) before it"
                      + ("" if tr is None else "; still improving: under-trained" if tr.verdict(better) == "still improving"
                         else f"; {tr.verdict(better)} over its last {tr.n} epochs"))
        rng = lambda v: f"{min(v)}" if min(v) == max(v) else f"{min(v)}–{max(v)}"  # noqa: E731
        fmt = lambda v: f"{np.nanmean(v):.4f}"  # noqa: E731
        delta = f"{np.nanmean(deltas):+.4f}" if not np.isnan(deltas).all() else "—"
        print(f"| {f.stem}{' (%d points)' % len(groups) if len(groups) > 1 else ''} | {rng(runs)} / {cap or '?'} | "
              f"{rng(sel)} | {metric} | {fmt(bests)} | {delta} | {slope} | {status} |")
    print()


def epoch_table(run: Paths, stem: str) -> None:
    """Every epoch of one stage's curve (``curves/<stem>.csv``), the selected epoch marked ✓."""
    path = run.dir("reports") / "curves" / f"{stem}.csv"
    if not path.is_file():
        raise SystemExit(f"results_table: {path} not found")
    d = pd.read_csv(path)
    cols = [c for c in d.columns if c not in ("max_epochs", "selected", "epoch")]
    print(f"{stem}, every epoch (`{path}`; ✓ = the selected epoch):\n")
    print("| epoch | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for _, r in d.iterrows():
        mark = " ✓" if r.get("selected", 0) == 1 else ""
        cells = [f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        print(f"| {int(r.epoch)}{mark} | " + " | ".join(cells) + " |")
    print()


LOG_OF = {"jscc": "train_jscc", "unet_uncond": "train_diffusion_uncond", "unet_cond": "train_diffusion_cond",
          "adversary": "train_adversary", "strong": "train_strong", "ceiling": "train_ceiling", "ibal": "train_ibal",
          "ibal-d": "train_ibal-d", "strong_ibal": "attack_ibal", "strong_ibal-d": "attack_ibal-d",
          "strong_permutation": "attack_permutation"}


def _cap(run: Paths, stem: str):
    """The epoch cap of the stage that wrote a curve without a max_epochs column (its log's 'epoch k/N')."""
    log = run.dir("logs") / f"{LOG_OF.get(stem, stem)}.log"
    m = re.search(r"epoch \d+/(\d+)", log.read_text(errors="replace")) if log.is_file() else None
    return int(m.group(1)) if m else None


def grid(main_: pd.DataFrame, snr: float) -> None:
    print(f"### Accuracy grid at {snr:g} dB (receiver: each system's own; attacker: the strong classifier on what "
          "the system's eavesdropper reconstructs or sees)\n")
    print("| t | n | system | receiver acc (± SE) | attacker acc (± SE) | attacker SSIM | attacker PSNR |")
    print("|---|---|---|---|---|---|---|")
    for t in sorted(main_.t.unique()):
        for system, g in main_[main_.t == t].groupby("system", sort=False):
            r = g.mean(numeric_only=True)
            n = int(r.n_eval) * g.seed.nunique()
            rx = "—" if math.isnan(r.receiver_acc) else f"{r.receiver_acc:.3f} ± {se(r.receiver_acc, n):.3f}"
            print(f"| {t} | {n} | {system} | {rx} | {r.attacker_acc:.3f} ± {se(r.attacker_acc, n):.3f} | "
                  f"{r.attacker_ssim:.3f} | {r.attacker_psnr:.2f} |")
    print()


def claims(run: Paths, main_: pd.DataFrame, snr: float) -> None:
    cmp_path = run.dir("reports") / "comparisons.csv"
    if not cmp_path.is_file():
        return
    cmp = pd.read_csv(cmp_path)
    cmp = cmp[cmp.snr_db == snr]
    print("### Paired tests at the headline points (exact McNemar, paired bootstrap 95 % CI, Holm over the whole grid)\n")
    print("| t | n | A | B | acc A | acc B | A − B (95 % CI) | A only / B only | p | p (Holm) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in (150, 300):
        for _, r in cmp[cmp.t == t].iterrows():
            print(f"| {t} | {r.n} | {r.a} | {r.b} | {r.acc_a:.3f} | {r.acc_b:.3f} | {100 * r['diff']:+.1f} pts "
                  f"({100 * r.ci_lo:+.1f}, {100 * r.ci_hi:+.1f}) | {r.a_only} / {r.b_only} | {r.p:.2g} | {r.p_holm:.2g} | "
                  f"{verdict(r['diff'], r.p_holm)} |")
    print()
    print("### Per-t verdicts of the receiver claims (Holm-adjusted, every grid t at %g dB)\n" % snr)
    pairs = [("diffsem", "classifier"), ("e-diffsem", "classifier"), ("e-diffsem", "diffsem"),
             ("diffsem", "classifier-ft"), ("e-diffsem", "classifier-ft"), ("classifier-ft", "classifier")]
    ts = sorted(cmp.t.unique())
    print("| A vs B | " + " | ".join(f"t={t}" for t in ts) + " |\n|---|" + "---|" * len(ts))
    for a, b in pairs:
        cells = []
        for t in ts:
            r = cmp[(cmp.t == t) & (cmp.a == a) & (cmp.b == b)]
            if r.empty:
                cells.append("—")
                continue
            r = r.iloc[0]
            v = verdict(r["diff"], r.p_holm)
            cells.append(f"{100 * r['diff']:+.1f}{'*' if v != 'inconclusive' else ''}")
        print(f"| {a} − {b} (pts) | " + " | ".join(cells) + " |")
    print("\n(* = significant after Holm at 0.05; otherwise inconclusive at this n.)\n")


def attackers(run: Paths, df: pd.DataFrame, snr: float) -> None:
    """The receivers against every attacker on DiffSem's transmitter, per t (metrics.csv's `attack` rows)."""
    d = df[df.snr_db == snr]
    if "attack" not in d or not (d.attack == "semantic").any():
        return
    sem = attack_rows(d, "semantic").groupby("t").attacker_acc.mean()
    main_ = paper_rows(d)
    rx = main_.groupby(["system", "t"]).receiver_acc.mean()
    inv = main_[main_.system == "classifier"].groupby("t").attacker_acc.mean()
    n = main_[main_.system == "classifier"].groupby("t").n_eval.sum()
    print(f"### The attackers on DiffSem's transmitter at {snr:g} dB (`metrics.csv`, `attack` column; decisions §29)\n")
    print("| t | n | E-DiffSem | classifier | ceiling | inversion attacker | semantic attacker | E-DiffSem − semantic (pts) |")
    print("|---|---|---|---|---|---|---|---|")
    for t in sorted(sem.index):
        e = rx[("e-diffsem", t)]
        print(f"| {t} | {int(n[t])} | {e:.4f} | {rx[('classifier', t)]:.4f} | {rx[('ceiling', t)]:.4f} | {inv[t]:.4f} | "
              f"{sem[t]:.4f} | {100 * (e - sem[t]):+.2f} |")
    print()


def ibal_attackers(run: Paths, df: pd.DataFrame, snr: float) -> None:
    """The IBAL systems' receivers against their inversion and semantic attackers (decisions §33), with
    the paired test receiver − semantic attacker from comparisons.csv."""
    d = df[(df.snr_db == snr) & df.system.isin(["ibal", "ibal-d"])]
    if "attack" not in d or not (d.attack == "semantic").any():
        return
    cmp = pd.read_csv(run.comparisons) if run.comparisons.is_file() else pd.DataFrame(columns=["a", "b", "t", "snr_db"])
    print(f"### The attackers on IBAL's and IBAL-D's transmitters at {snr:g} dB (decisions §33)\n")
    print("| system | t | n | receiver | inversion attacker | semantic attacker | receiver − semantic (95 % CI) | p (Holm) |")
    print("|---|---|---|---|---|---|---|---|")
    for system in ("ibal", "ibal-d"):
        g = d[d.system == system]
        if g.empty:
            continue
        inv = g[g.attack == "inversion"].groupby("t").mean(numeric_only=True)
        sem = g[g.attack == "semantic"].groupby("t").attacker_acc.mean()
        for t in sorted(sem.index):
            c = cmp[(cmp.a == system) & (cmp.b == f"{system}:semantic") & (cmp.t == t) & (cmp.snr_db == snr)]
            test = (f"{100 * c['diff'].mean():+.2f} ({100 * c.ci_lo.mean():+.2f}, {100 * c.ci_hi.mean():+.2f}) | "
                    f"{c.p_holm.max():.2g}") if not c.empty else "— | —"
            print(f"| {system} | {t} | {int(inv.n_eval[t])} | {inv.receiver_acc[t]:.4f} | {inv.attacker_acc[t]:.4f} | "
                  f"{sem[t]:.4f} | {test} |")
    print()


def frontier(run: Paths) -> None:
    """reports/seeds/<ds>_frontier.csv (`diffsem summarize-seeds`, diffsem.frontier)."""
    path = run.seeds_frontier
    if not path.is_file():
        return
    d = pd.read_csv(path)
    n = int(d.n_seeds.max())
    print(f"### Privacy–utility frontier over {n} training seed(s) (`{path}`; receiver and strongest attacker, "
          "mean ± 95 % CI over seeds; gap taken within each seed)\n")
    print("| system | t | SNR | receiver | strongest attacker | receiver − attacker (pts) | strongest, per seed |")
    print("|---|---|---|---|---|---|---|")
    fmt = lambda m, h, f="{:.4f}": f.format(m) + ("" if pd.isna(h) else " ± " + f.format(h).lstrip("+"))  # noqa: E731
    for _, r in d.sort_values(["snr_db", "system", "t"], ascending=[False, True, True]).iterrows():
        print(f"| {r.system} | {r.t} | {r.snr_db:g} | {fmt(r.receiver_acc, r.receiver_hw)} | "
              f"{fmt(r.attacker_acc, r.attacker_hw)} | {fmt(r.gap_pts, r.gap_hw_pts, '{:+.2f}')} | {r.strongest} |")
    print()


def attack_study(run: Paths) -> None:
    """reports/<ds>/seed<k>/attack_study.csv and attack_protocol.csv (`diffsem attack-study`,
    `diffsem attack-protocol`, decisions §30)."""
    for path, what in ((run.attack_study, "Attack study"), (run.attack_protocol, "Protocol ablation")):
        if path.is_file():
            _study_table(path, what)


def _study_table(path: Path, what: str) -> None:
    d = pd.read_csv(path)
    print(f"### {what} at the headline points (`{path}`; E-DiffSem − attacker, paired on the same images, "
          "Holm over the table)\n")
    print("| study | setting | attack | t | eavesdropper SNR | queries | attacker acc | unseen classes | E-DiffSem | "
          "E-DiffSem − attacker (95 % CI) | p (Holm) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for _, r in d.iterrows():
        unseen = "—" if pd.isna(r.attacker_acc_unseen) else f"{r.attacker_acc_unseen:.3f}"
        print(f"| {r.study} | {r.setting} | {r.attack} | {r.t} | {r.eve_snr_db:g} dB | {r.n_queries} | {r.attacker_acc:.4f} | "
              f"{unseen} | {r['e-diffsem_acc']:.4f} | {r.gap_pts:+.2f} ({r.ci_lo_pts:+.2f}, {r.ci_hi_pts:+.2f}) | "
              f"{r.p_holm:.2g} | {verdict(r.gap_pts, r.p_holm)} |")
    print()


def study_across_seeds(run: Paths, seeds=(0, 1, 2)) -> None:
    """The attack study's E-DiffSem − attacker gaps over the training seeds that ran it (rows present in
    every such seed; Student-t 95 % interval over seeds, stats.seed_ci)."""
    from diffsem.stats import seed_ci

    runs = {k: Paths(run.root, run.dataset, k).attack_study for k in seeds}
    runs = {k: pd.read_csv(p) for k, p in runs.items() if p.is_file()}
    if len(runs) < 2:
        return
    keys = ["study", "setting", "attack", "t"]
    common = set.intersection(*(set(map(tuple, d[keys].drop_duplicates().to_numpy())) for d in runs.values()))
    print(f"### Attack study across training seeds ({', '.join(f'seed{k}' for k in runs)}; E-DiffSem − attacker in "
          "points, mean ± 95 % CI over seeds; attacker accuracy mean)\n")
    print("| study | setting | attack | t | " + " | ".join(f"seed{k}" for k in runs) + " | gap mean ± CI | attacker acc |")
    print("|---|---|---|---|" + "---|" * len(runs) + "---|---|")
    first = next(iter(runs.values()))
    for row in first[keys].drop_duplicates().itertuples(index=False):
        if tuple(row) not in common:
            continue
        sel = [d[(d[keys] == pd.Series(row._asdict())).all(axis=1)] for d in runs.values()]
        gaps = [float(x.gap_pts.mean()) for x in sel]
        mean, half, _ = seed_ci(gaps)
        acc = float(np.mean([x.attacker_acc.mean() for x in sel]))
        print(f"| {row.study} | {row.setting} | {row.attack} | {row.t} | " + " | ".join(f"{g:+.2f}" for g in gaps) +
              f" | {mean:+.2f} ± {half:.2f} | {acc:.4f} |")
    print()


def seeds_table(run: Paths) -> None:
    """reports/seeds/<ds>.csv (`diffsem summarize-seeds`, the DAG's summarize_seeds rule)."""
    path = run.seeds_summary
    if not path.is_file():
        print(f"No across-seed summary yet ({path}).\n")
        return
    d = pd.read_csv(path)
    seeds = [c for c in d.columns if re.fullmatch(r"seed\d+", c)]
    print(f"### Across training seeds ({', '.join(seeds)}; `{path}`; n = {int(d.n_images.min())} test images per point)\n")
    seed_tables(d)


def seed_tables(d: pd.DataFrame) -> None:
    """The accuracy and difference tables of a `seeds.summarize` frame (per-seed values, mean ± 95 % CI)."""
    seeds = [c for c in d.columns if re.fullmatch(r"seed\d+", c)]
    for kind, fmt, unit in (("accuracy", "{:.4f}", "accuracy"), ("difference_pts", "{:+.2f}", "difference (pts)")):
        print(f"| t | {unit} | " + " | ".join(seeds) + " | mean ± 95 % CI (Student t) |")
        print("|---|---|" + "---|" * (len(seeds) + 1))
        for _, r in d[d.kind == kind].iterrows():
            half = "—" if pd.isna(r.half_width_95) else fmt.format(r.half_width_95).lstrip("+")
            print(f"| {r.t} | {r.quantity.replace(' - ', ' − ')} | " + " | ".join(fmt.format(r[c]) for c in seeds) +
                  f" | {fmt.format(r['mean'])} ± {half} |")
        print()


def noiseless_line(up: dict) -> str:
    """One line for the receivers' noiseless bound (``eval/diffsem_noiseless.json``)."""
    return (f"Noiseless bound (T' = 0, no channel noise, n = {up['n_eval']}): " +
            ", ".join(f"{s} {up[s + '_acc']:.3f}" for s in ("classifier", "classifier-ft", "diffsem", "e-diffsem")
                      if s + "_acc" in up))


def paper_table(ds: str, main_: pd.DataFrame) -> None:
    p = PAPER[ds]
    t = p["t"]
    g = main_[main_.t == t].groupby("system").mean(numeric_only=True)
    if g.empty:
        return
    n = int(g.n_eval.min())
    print(f"### Beside the paper (t = {t}, n = {n})\n")
    print("| | paper | ours |\n|---|---|---|")
    for s in ("classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling"):
        if s in g.index:
            print(f"| {s} receiver | {p.get(s, float('nan')):.1%} | {g.loc[s, 'receiver_acc']:.1%} ± {se(g.loc[s, 'receiver_acc'], n):.1%} |"
                  .replace("nan%", "—"))
    print(f"| attacker on DiffSem's transmitter | {p['attacker']:.1%} | {g.loc['classifier', 'attacker_acc']:.1%} ± "
          f"{se(g.loc['classifier', 'attacker_acc'], n):.1%} |")
    for s in ("ibal", "ibal-d"):
        if s in g.index:
            print(f"| {s} receiver / its attacker | (Fig. 4: below ours) | {g.loc[s, 'receiver_acc']:.1%} / {g.loc[s, 'attacker_acc']:.1%} |")
    ref = matched_ssim(ds)
    ours, n_o = at_ssim(main_, "classifier", ref)
    line = f"| attacker accuracy at SSIM {ref} (interpolated over t) | {'ours 47 %, IBAL-D 78 % (at 0.175)' if ds == 'mnist' else 'ours 51.8 %'} | ours {ours:.1%}"
    for s in ("ibal", "ibal-d", "direct", "permutation"):
        v, _ = at_ssim(main_, s, ref)
        if not math.isnan(v):
            line += f", {s} {v:.1%}"
    print(line + f" (SE ≈ {se(0.5, max(n_o, 1)):.1%} each) |\n")


def searches(run: Paths) -> None:
    rs = run.dir("reports") / "receiver_search.csv"
    if rs.is_file():
        d = pd.read_csv(rs)
        js = json.loads((run.dir("reports") / "receiver_search.json").read_text())
        print(f"### DDIM step count on validation (`diffsem receiver-search`, n = {js.get('n_val')} validation images)\n")
        print("| N | system | acc t=150 | acc t=300 | drop vs reference | samples/s | speed-up |\n|---|---|---|---|---|---|---|")
        for _, r in d.iterrows():
            drop = max(r.drop_t150, r.drop_t300)
            print(f"| {r.max_steps} | {r.system} | {r.acc_t150:.3f} | {r.acc_t300:.3f} | {100 * drop:+.1f} pts | "
                  f"{r.samples_per_s:.1f} | {r.speedup:.1f}× |")
        print(f"\npicked (validation, tolerance {js['tolerance'] * 100:.1f} pts): {js['fast_receiver']['config']}\n")
    gs = run.dir("reports") / "guidance_search.csv"
    if gs.is_file():
        d = pd.read_csv(gs)
        print("### E-DiffSem guidance weight on validation (`diffsem guidance-search`)\n")
        print("| w | acc t=150 | acc t=300 | mean | picked |\n|---|---|---|---|---|")
        for _, r in d.iterrows():
            print(f"| {r.guidance_w:g} | {r.acc_t150:.3f} | {r.acc_t300:.3f} | {r.acc_mean:.3f} | {'✓' if r.picked else ''} |")
        if "tolerance" in d:  # older CSVs predate the column
            print(f"\npicked: the smallest |w| within {d.tolerance.iloc[0] * 100:.1f} pts of the best mean (decisions §25)")
        print()


def walltimes(run: Paths) -> None:
    print("### Wall time per rule (`logs/`, `benchmarks/`)\n")
    print("| rule | wall (min) | peak RSS (MB) |\n|---|---|---|")
    total = 0.0
    for log in sorted((run.dir("logs")).glob("*.log")):
        m = re.findall(r"done in ([0-9.]+) s", log.read_text(errors="replace"))
        if m:
            total += float(m[-1])
            bench = run.dir("benchmarks") / f"{log.stem}.tsv"
            rss = f"{pd.read_csv(bench, sep=TAB).max_rss.iloc[-1]:.0f}" if bench.is_file() else "—"
            print(f"| {log.stem} | {float(m[-1]) / 60:.1f} | {rss} |")
    print(f"| **sum** | **{total / 60:.1f}** | |\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=".")
    ap.add_argument("--seed", type=int, default=0, help="the training seed whose run the per-run tables show")
    ap.add_argument("--snr", type=float, default=15.0)
    ap.add_argument("--curves-only", action="store_true",
                    help="only the learning-curve table: for a run whose later stages have not run yet (no metrics.csv)")
    ap.add_argument("--epochs-of", metavar="STAGE", default=None,
                    help="every epoch of curves/STAGE.csv (e.g. jscc) after the curve table; implies --curves-only")
    a = ap.parse_args()
    run = Paths(Path(a.root), a.dataset, a.seed)
    if a.curves_only or a.epochs_of:
        if not (run.dir("reports") / "curves").is_dir():
            raise SystemExit(f"results_table: {run.dir('reports') / 'curves'} not found; run a training stage first")
        curves(run)
        if a.epochs_of:
            epoch_table(run, a.epochs_of)
        return
    path = run.dir("reports") / "metrics.csv"
    if not path.is_file():
        raise SystemExit(f"results_table: {path} not found; run the pipeline first")
    df = pd.read_csv(path)
    main_ = paper_rows(df[df.snr_db == a.snr])
    curves(run)
    paper_table(a.dataset, main_)
    claims(run, main_, a.snr)
    attackers(run, df, a.snr)
    ibal_attackers(run, df, a.snr)
    attack_study(run)
    study_across_seeds(run)
    seeds_table(run)
    frontier(run)
    mj = run.dir("reports") / "metrics.json"
    if mj.is_file() and "noiseless" in (head := json.loads(mj.read_text())):
        print(noiseless_line(head["noiseless"]) + "\n")
    searches(run)
    grid(main_, a.snr)
    walltimes(run)


if __name__ == "__main__":
    main()
