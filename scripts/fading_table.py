"""The fading tables of docs/results.md (issue #15) from finished runs' reports/<ds>/seed<k>/eval/fading*.csv.

    python scripts/fading_table.py [--dataset mnist] [--root .] [--seeds 0,1,2] [--paired-seed 0]

Prints (1) every system's receiver, strongest attacker and gap per (T', mean SNR, CSIT), mean ± Student-t
95 % over the seeds; (2) for one seed, paired tests on the same images and draws (exact McNemar, paired
bootstrap CI, Holm over the table): E-DiffSem with against without transmitter CSI, and E-DiffSem against
each of the eavesdropper's attackers (inversion, semantic, each trained on faded queries, and the
diffusion-prior attacker of eval/fading_diffusion.csv); IBAL's and
IBAL-D's receivers against their attackers; Direct's and Permutation's eavesdropper with against without
transmitter CSI, and E-DiffSem against it (same test images; independent channel draws, so there the
pairing is by image only); (3) the summary that docs/results.md shows per T' (`fading_eval.headline_gaps`:
each receiver against the strongest attacker of each point; **bold** = Holm < 0.05). Systems whose fading rows
the seed lacks are left out.
"""

import argparse
from pathlib import Path

import pandas as pd

from diffsem.fading_eval import across_seeds, fading_pairs, headline_gaps
from diffsem.stats import compare, verdict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=".")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--paired-seed", type=int, default=0)
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    base = Path(a.root) / "reports" / a.dataset
    runs = {s: [pd.read_csv(p) for p in sorted((base / f"seed{s}" / "eval").glob("fading*.csv"))] for s in seeds}
    if not any(runs.values()):
        raise SystemExit(f"fading_table: no eval/fading*.csv under {base}/seed{{{a.seeds}}}")
    roles = {k: sorted({r for f in frames for r in f[f.system == "diffsem"].role} - {"receiver"}) for k, frames in runs.items()}
    if len({tuple(r) for r in roles.values()}) > 1:  # the strongest attacker is over each seed's own attackers
        print("Note: the seeds' runs differ in DiffSem's attackers: "
              + "; ".join(f"seed {k}: {', '.join(r) or 'none'}" for k, r in roles.items()) + "\n")
    t = across_seeds(runs)
    t = t[t.system.isin(["e-diffsem", "classifier-ft", "ibal", "ibal-d", "direct", "permutation"])]
    print("| system | T' | mean SNR (dB) | CSIT | receiver | strongest attacker | gap (pts) | seeds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in t.sort_values(["t", "system", "csit", "snr_db"]).itertuples():
        rx = "—" if r.receiver != r.receiver else f"{r.receiver:.4f} ± {r.receiver_ci:.4f}"  # Direct, Permutation: none
        gap = "—" if r.gap != r.gap else f"{100 * r.gap:+.2f} ± {100 * r.gap_ci:.2f}"
        print(f"| {r.system} | {r.t} | {r.snr_db:g} | {'yes' if r.csit else 'no'} | {rx} | "
              f"{r.attacker:.4f} ± {r.attacker_ci:.4f} | {gap} | {r.seeds} |")
    pred_files = sorted((base / f"seed{a.paired_seed}" / "eval").glob("fading*_predictions.csv.gz"))
    if not pred_files:
        raise SystemExit(f"fading_table: no eval/fading*_predictions.csv.gz under {base}/seed{a.paired_seed}")
    pred = pd.concat([pd.read_csv(p) for p in pred_files], ignore_index=True)
    pred = pred[pred.t > 0]
    c = compare(pred.assign(system=pred.system + pred.csit.map({True: "+csit", False: ""})), fading_pairs(pred))
    print(f"\nPaired tests, seed {a.paired_seed} (Holm over {len(c)} comparisons)\n")
    print("| T' | mean SNR | A − B | A | B | diff (pts) | 95 % CI | Holm p | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in c.sort_values(["t", "snr_db"]).itertuples():
        print(f"| {r.t} | {r.snr_db:g} | {r.a} − {r.b} | {r.acc_a:.4f} | {r.acc_b:.4f} | {100 * r.diff:+.2f} | "
              f"({100 * r.ci_lo:+.2f}, {100 * r.ci_hi:+.2f}) | {r.p_holm:.2g} | {verdict(r.diff, r.p_holm)} |")
    print_summary(headline_gaps(c), a.paired_seed)


ATTACKERS = {"attacker": "inversion", "semantic": "semantic", "fading_attacker": "fading-trained inversion",
             "fading_semantic": "fading-trained semantic", "diffusion": "diffusion-prior"}


def pts(x: float) -> str:
    return f"{100 * x:+.2f}".replace("-", "−")


def print_summary(h: pd.DataFrame, seed: int) -> None:
    """One wide table per T': a row per comparison, a column per mean SNR; the first column also gives the
    accuracies (A / B), the Holm p when not significant, and which attacker was the strongest."""
    for t, ht in h.groupby("t"):
        snrs = sorted(ht.snr_db.unique())
        print(f"\nSummary, seed {seed}, T' = {t} (A − B in pts; **bold** = Holm < 0.05)\n")
        print("| A − B (pts) | " + " | ".join(f"{s:g} dB" for s in snrs) + " |")
        print("|---|" + "---|" * len(snrs))
        for label, g in ht.groupby("row", sort=False):
            cells = []
            for i, s in enumerate(snrs):
                r = g[g.snr_db == s]
                if r.empty:
                    cells.append("—")
                    continue
                r = r.iloc[0]
                sig = r.p_holm < 0.05
                cell = f"**{pts(r['diff'])}**" if sig else pts(r["diff"])
                notes = [] if sig else [f"Holm {r.p_holm:.2g}"]
                if "strongest" in label:
                    notes.append(ATTACKERS.get(r.b.split(":")[-1], r.b))
                if i == 0:
                    cell += f" ({r.acc_a:.3f} / {r.acc_b:.3f}" + "".join(f"; {n}" for n in notes) + ")"
                elif not sig and r.p_holm < 0.2:
                    cell += f" (Holm {r.p_holm:.2g})"
                cells.append(cell)
            print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
