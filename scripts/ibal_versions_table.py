"""IBAL and IBAL-D in the authors' recipe beside our first version, over training seeds (issue #15;
docs/results.md "IBAL as its authors built it").

    python scripts/ibal_versions_table.py --old-root DIR [--dataset mnist] [--root .] [--seeds 0,1,2] [--snr 15] [--t 150,300]

``--root``'s reports/<ds>/seed<k>/eval/ holds the current run (the authors' recipe, `baselines.ibal_variant:
authors`); ``--old-root``/seed<k>/ holds the first version's `<system>_predictions.csv.gz` and
`semantic_<system>_predictions.csv.gz` (copied aside before the new recipe overwrote them). Both were
scored on the same test images and channel draws, so each seed is paired.

Prints (1) per system and headline T': receiver, strongest attacker (inversion or semantic, the better
one in each seed) and their gap, first version and authors', mean ± Student-t 95 % over the seeds;
(2) per seed, the authors' receiver against its strongest attacker and against the first version's
receiver (exact McNemar, paired bootstrap 95 % CI, Holm over the table).
"""

import argparse
from pathlib import Path

import pandas as pd

from diffsem.stats import compare, holm, seed_ci, verdict

SYSTEMS = ("ibal", "ibal-d")


def predictions(folder: Path, system: str, snr: float, ts: list[int]) -> pd.DataFrame:
    """Receiver, inversion attacker and semantic attacker predictions of one system at the headline points."""
    parts = [pd.read_csv(folder / f"{system}_predictions.csv.gz")]
    sem = folder / f"semantic_{system}_predictions.csv.gz"
    if sem.is_file():
        parts.append(pd.read_csv(sem))
    p = pd.concat(parts, ignore_index=True)
    return p[(p.snr_db == snr) & p.t.isin(ts)]


def accuracies(p: pd.DataFrame) -> pd.DataFrame:
    """(t, role) -> accuracy, averaged over evaluation seeds."""
    return (p.pred == p.label).groupby([p.t, p.role]).mean().unstack("role")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-root", required=True, type=Path)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=".", type=Path)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--snr", type=float, default=15.0)
    ap.add_argument("--t", default="150,300", help="the T' values (headline points: the full test set)")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    ts = [int(t) for t in a.t.split(",")]
    missing = [str(d) for k in seeds for d in (a.old_root / f"seed{k}", a.root / "reports" / a.dataset / f"seed{k}" / "eval")
               if not d.is_dir()]
    if missing:
        raise SystemExit(f"ibal_versions_table: missing folder(s): {', '.join(missing)}")

    per_seed, tests = [], []
    for k in seeds:
        new_dir, old_dir = a.root / "reports" / a.dataset / f"seed{k}" / "eval", a.old_root / f"seed{k}"
        for system in SYSTEMS:
            new, old = predictions(new_dir, system, a.snr, ts), predictions(old_dir, system, a.snr, ts)
            for version, p in (("first", old), ("authors", new)):
                acc = accuracies(p)
                for t, r in acc.iterrows():
                    att = r.drop("receiver").max()
                    per_seed.append({"system": system, "t": int(t), "seed": k, "version": version,
                                     "receiver": r["receiver"], "attacker": att, "gap": r["receiver"] - att})
            # the authors' receiver against its strongest attacker and against the first version's receiver
            acc = accuracies(new)
            strongest = {int(t): r.drop("receiver").idxmax() for t, r in acc.iterrows()}
            tagged = pd.concat([new.assign(system=system), old.assign(system=f"{system} (first)")], ignore_index=True)
            for t, role in strongest.items():
                c = compare(tagged[tagged.t == t], [(system, f"{system}:{role}"), (system, f"{system} (first)")])
                tests.append(c.assign(train_seed=k))
    df = pd.DataFrame(per_seed)
    print("| system | T' | version | receiver | strongest attacker | receiver − attacker (pts) | seeds |")
    print("|---|---|---|---|---|---|---|")
    for (system, t, version), g in df.groupby(["system", "t", "version"], sort=False):
        cells = []
        for col, scale in (("receiver", 1), ("attacker", 1), ("gap", 100)):
            m, h, n = seed_ci(g[col].to_numpy())
            cells.append(f"{scale * m:+.2f} ± {scale * h:.2f}" if scale == 100 else f"{m:.4f} ± {h:.4f}")
        print(f"| {system} | {t} | {version} | {' | '.join(cells)} | {n} |")
    c = pd.concat(tests, ignore_index=True)
    c["p_holm"] = holm(c.p.to_numpy())  # each compare() call adjusted its own pairs: one family, the whole table
    print(f"\nPaired tests per training seed ({a.snr:g} dB; Holm over the {len(c)} comparisons)\n")
    print("| seed | T' | A − B | A | B | diff (pts) | 95 % CI | Holm p | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in c.sort_values(["a", "t", "train_seed"]).itertuples():
        print(f"| {r.train_seed} | {r.t} | {r.a} − {r.b} | {r.acc_a:.4f} | {r.acc_b:.4f} | {100 * r.diff:+.2f} | "
              f"({100 * r.ci_lo:+.2f}, {100 * r.ci_hi:+.2f}) | {r.p_holm:.2g} | {verdict(r.diff, r.p_holm)} |")


if __name__ == "__main__":
    main()
