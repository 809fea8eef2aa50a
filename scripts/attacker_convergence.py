"""The attackers of one training seed under different training budgets, side by side (decisions §43).

    python scripts/attacker_convergence.py --dataset mnist --seed 1 \
        --run "cap 60=/work/run1" --run "converged=/work/cap1" --run "converged, judge p8=/work/cap1j"

Each ``--run LABEL=ROOT`` is a project root holding the same seed's run (the same stage 1, receivers and test
draws) trained under another attacker budget, e.g. an `adversary.epochs` cap raised so that the saved states
continue (training.fit's ``extendable``) or another `strong` recipe.  Prints two tables:

- the attackers' test accuracy at the headline points (the Fig. 4 SNR, `eval/*.csv`: the paper's inversion
  attacker, the semantic attacker, the diffusion-prior attacker, IBAL-D's inversion attacker, where present);
- each attacker family's learning curves (`curves/*.csv`): how many networks there are, how many stopped at
  their epoch cap with their best epoch within the last ``patience`` epochs (still improving), the latest stop,
  and the strong classifier's selected epoch and validation accuracy.

It writes nothing.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from diffsem.config import ConfigError, load_config
from diffsem.stages import headline_points

ATTACKERS = (("diffsem", "inversion", "inversion (stage 3)"), ("semantic", "semantic", "semantic"),
             ("diffusion", "diffusion", "diffusion prior"), ("ibal-d", "inversion", "IBAL-D's inversion"))
FAMILIES = (("adversary", "stage 3 inversion"), ("attack_ibal-d", "IBAL-D's inversion"),
            ("inversion_fading", "faded-query inversion"), ("inversion_fading_csit", "faded-query inversion, CSIT"))


def headline_table(runs: dict[str, Path], ds: str, seed: int, points) -> pd.DataFrame:
    rows = []
    for part, attack, name in ATTACKERS:
        for t, snr in points:
            row = {"attacker": name, "t": t}
            for label, root in runs.items():
                f = root / f"reports/{ds}/seed{seed}/eval/{part}.csv"
                if not f.is_file():
                    continue
                d = pd.read_csv(f)
                d = d[(d.attack == attack) & (d.t == t) & (d.snr_db == snr)]
                if len(d):
                    row[label] = float(d.attacker_acc.iloc[0])
            if len(row) > 2:
                rows.append(row)
    return pd.DataFrame(rows)


def curve_table(runs: dict[str, Path], ds: str, seed: int, patience: int) -> pd.DataFrame:
    rows = []
    for label, root in runs.items():
        cdir = root / f"reports/{ds}/seed{seed}/curves"
        for stem, name in FAMILIES:
            f = cdir / f"{stem}.csv"
            if not f.is_file():
                continue
            d = pd.read_csv(f)
            last = d.groupby("point").epoch.max()
            cap = d.groupby("point").max_epochs.last()
            best = d[d.selected == 1].set_index("point").epoch.reindex(last.index)
            at_cap = (last >= cap) & (best > last - patience)
            rows.append({"run": label, "attackers": name, "networks": len(last), "still improving at the cap": int(at_cap.sum()),
                         "latest stop": int(last.max()), "latest best epoch": int(best.max())})
        f = cdir / "strong.csv"
        if f.is_file():
            d = pd.read_csv(f)
            sel = d[d.selected == 1].iloc[0]
            rows.append({"run": label, "attackers": "strong classifier (the judge)", "networks": 1,
                         "still improving at the cap": int(len(d) >= int(d.max_epochs.iloc[-1]) and sel.epoch > len(d) - patience),
                         "latest stop": len(d), "latest best epoch": int(sel.epoch),
                         "judge's validation accuracy": round(float(sel.val_acc_mean), 4)})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--params", default="params.yaml", help="for the headline points and the Fig. 4 SNR")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--run", action="append", required=True, metavar="LABEL=ROOT")
    ap.add_argument("--patience", type=int, default=4, help="'still improving': best epoch within this many of the cap")
    a = ap.parse_args(argv)
    runs = {}
    for spec in a.run:
        label, sep, root = spec.partition("=")
        if not sep or not label or not Path(root).is_dir():
            print(f"attacker_convergence: error: --run {spec!r}: expected LABEL=ROOT with ROOT a directory", file=sys.stderr)
            return 2
        runs[label] = Path(root)
    try:
        cfg = load_config(a.params, a.scale)
    except (ConfigError, OSError) as exc:
        print(f"attacker_convergence: error: {exc}", file=sys.stderr)
        return 2
    head = headline_table(runs, a.dataset, a.seed, headline_points(cfg))
    if head.empty:
        print(f"attacker_convergence: error: no eval/*.csv for {a.dataset} seed {a.seed} under any --run", file=sys.stderr)
        return 2
    print(f"Attackers' test accuracy at the headline points ({a.dataset}, seed {a.seed}, {cfg.eval.snr_db:g} dB)\n")
    print(head.to_markdown(index=False, floatfmt=".4f"))
    print("\nLearning curves\n")
    print(curve_table(runs, a.dataset, a.seed, a.patience).astype(object).fillna("").to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
