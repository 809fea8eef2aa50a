"""Trained on AWGN against trained on Rayleigh fading, both scored on the same fading link (issue #15;
docs/decisions.md §39; docs/results.md "Trained under fading").

    python scripts/fading_training_table.py --awgn-root DIR --rayleigh-root DIR [--dataset mnist] [--seeds 0,1,2]
        [--systems e-diffsem,diffsem,classifier-ft,ibal-d] [--paired-t 150,300] [--paired-snr 10]

Each root is a project whose reports/<ds>/seed<k>/eval/ holds `diffsem evaluate-fading` outputs: ``--awgn-root``
of a run trained with ``channel.kind: awgn``, ``--rayleigh-root`` of one trained with ``rayleigh``. Within a
training seed the two share the split, the test images and the channel gains and noise draws (the fading
stage's generator is seeded per point, and both transmitters send tensors of one shape), so they are paired.

Prints (1) per system, T', mean SNR and CSIT: the receiver of each, the strongest attacker on each
transmitter (over the attacker roles both runs of that seed have, so a missing attacker never flatters one
side) and the differences rayleigh − awgn, mean ± Student-t 95 % over the seeds; (2) per seed at the paired
points, the Rayleigh-trained receiver against the AWGN-trained one (exact McNemar, paired bootstrap 95 % CI,
Holm over the table).
"""

import argparse
from pathlib import Path

import pandas as pd

from diffsem.evaluate import RECEIVERS
from diffsem.stats import compare, holm, seed_ci, verdict


def load(root: Path, ds: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, per-sample predictions) of every eval/fading*.csv of one run."""
    folder = root / "reports" / ds / f"seed{seed}" / "eval"
    rows = [pd.read_csv(p) for p in sorted(folder.glob("fading*.csv"))]
    preds = [pd.read_csv(p) for p in sorted(folder.glob("fading*_predictions.csv.gz"))]
    if not rows:
        raise SystemExit(f"fading_training_table: no eval/fading*.csv under {folder}")
    return pd.concat(rows, ignore_index=True), pd.concat(preds, ignore_index=True)


def owner(system: str) -> str:
    return "diffsem" if system in RECEIVERS else system  # DiffSem's receivers share its transmitter


def per_seed_rows(runs: dict[str, pd.DataFrame], seed: int, systems: list[str]) -> list[dict]:
    acc = {k: r.groupby(["system", "role", "t", "snr_db", "csit"]).accuracy.mean() for k, r in runs.items()}
    out = []
    for system in systems:
        rx = {k: a.xs((system, "receiver"), level=["system", "role"]) for k, a in acc.items()
              if (system, "receiver") in a.index.droplevel(["t", "snr_db", "csit"])}
        if len(rx) < 2:
            continue
        roles = [set(a.xs(owner(system), level="system").index.get_level_values("role")) - {"receiver"} for a in acc.values()]
        common = sorted(set.intersection(*roles))
        for point in rx["awgn"].index.intersection(rx["rayleigh"].index):
            row = {"system": system, "t": int(point[0]), "snr_db": float(point[1]), "csit": bool(point[2]), "seed": seed}
            for k, a in acc.items():
                att = [a.get((owner(system), r, *point)) for r in common]
                row[f"rx_{k}"] = float(rx[k][point])
                row[f"att_{k}"] = max(v for v in att if v is not None and v == v) if common else float("nan")
            out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--awgn-root", required=True, type=Path)
    ap.add_argument("--rayleigh-root", required=True, type=Path)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--systems", default="e-diffsem,diffsem,classifier-ft,ibal-d")
    ap.add_argument("--paired-t", default="150,300")
    ap.add_argument("--paired-snr", default="10")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    systems = a.systems.split(",")
    ts, snrs = [int(t) for t in a.paired_t.split(",")], [float(s) for s in a.paired_snr.split(",")]
    rows, tests = [], []
    for k in seeds:
        (ra, pa), (rr, pr) = load(a.awgn_root, a.dataset, k), load(a.rayleigh_root, a.dataset, k)
        rows += per_seed_rows({"awgn": ra, "rayleigh": rr}, k, systems)
        keep = lambda p: p[(p.role == "receiver") & p.system.isin(systems) & p.t.isin(ts) & p.snr_db.isin(snrs)]  # noqa: E731
        pa, pr = keep(pa), keep(pr)
        tagged = pd.concat([pa.assign(system=pa.system + "@awgn" + pa.csit.map({True: "+csit", False: ""})),
                            pr.assign(system=pr.system + "@rayleigh" + pr.csit.map({True: "+csit", False: ""}))],
                           ignore_index=True)
        pairs = [(f"{s}@rayleigh{c}", f"{s}@awgn{c}") for s in systems for c in ("", "+csit")]
        tests.append(compare(tagged, pairs).assign(train_seed=k))
    df = pd.DataFrame(rows)
    df["d_rx"], df["d_att"] = df.rx_rayleigh - df.rx_awgn, df.att_rayleigh - df.att_awgn
    print("| system | T' | mean SNR (dB) | CSIT | receiver, AWGN-trained | receiver, Rayleigh-trained | Δ receiver (pts) "
          "| strongest attacker, AWGN-trained | …, Rayleigh-trained | Δ attacker (pts) | seeds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (system, t, snr, csit), g in df.groupby(["system", "t", "snr_db", "csit"], sort=True):
        cell = {}
        for col in ("rx_awgn", "rx_rayleigh", "att_awgn", "att_rayleigh", "d_rx", "d_att"):
            m, h, n = seed_ci(g[col].dropna())
            scale = 100 if col.startswith("d_") else 1
            fmt = "{:+.2f}" if scale == 100 else "{:.4f}"
            cell[col] = fmt.format(scale * m) + ("" if h != h else f" ± {scale * h:.{2 if scale == 100 else 4}f}")
        print(f"| {system} | {t} | {snr:g} | {'yes' if csit else 'no'} | {cell['rx_awgn']} | {cell['rx_rayleigh']} | "
              f"{cell['d_rx']} | {cell['att_awgn']} | {cell['att_rayleigh']} | {cell['d_att']} | {len(g)} |")
    c = pd.concat(tests, ignore_index=True)
    c["p_holm"] = holm(c.p.to_numpy())  # one family over every seed's tests
    print(f"\nPaired tests per training seed (Holm over {len(c)} comparisons)\n")
    print("| seed | T' | mean SNR | A − B | A | B | diff (pts) | 95 % CI | Holm p | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in c.sort_values(["a", "t", "snr_db", "train_seed"]).itertuples():
        print(f"| {r.train_seed} | {r.t} | {r.snr_db:g} | {r.a} − {r.b} | {r.acc_a:.4f} | {r.acc_b:.4f} | {100 * r.diff:+.2f} | "
              f"({100 * r.ci_lo:+.2f}, {100 * r.ci_hi:+.2f}) | {r.p_holm:.2g} | {verdict(r.diff, r.p_holm)} |")


if __name__ == "__main__":
    main()
