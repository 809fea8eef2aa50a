"""Worked example of the Python API (docs/api.md): load a trained run, send one batch of validation
images at two operating points, compare every receiver with the attacker, plot what the eavesdropper
reconstructs.

    python docs/examples/operating_points.py [--root .] [--dataset mnist] [--seed 0] [--scale cpu] [--out ops.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import diffsem  # noqa: E402
from diffsem.data import load_split  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--root", default=".")
ap.add_argument("--dataset", default="mnist")
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--scale", default=None)
ap.add_argument("--out", default="operating_points.png")
args = ap.parse_args()

run = diffsem.load(args.root, args.dataset, seed=args.seed, scale=args.scale)
split = load_split(run.paths.split)  # the test set stays sealed: explore on the validation slice
x, y = split.val_x[:256], split.val_y[:256]
snr = run.cfg.eval.snr_db
points = [t for t in (150, 300) if (t, snr) in run.adversaries]

fig, axes = plt.subplots(len(points), 2, figsize=(8, 3 * len(points)), squeeze=False)
for row, t in zip(axes, points):
    g = torch.Generator().manual_seed(0)
    acc = run.score(x, y, t, snr, generator=g)
    print(f"T' = {t}, {snr:g} dB: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    row[0].bar(list(acc), list(acc.values()), color=["C0"] * (len(acc) - 1) + ["C3"])
    row[0].set(ylim=(0, 1), ylabel="accuracy", title=f"T' = {t}")
    row[0].tick_params(axis="x", labelrotation=45)
    _, z_eve = run.transmit(x[:8], t, snr, generator=g)
    x_hat = run.attack(z_eve, t, snr).cpu()
    pair = torch.cat([x[:8].float() / 255, x_hat], dim=2)  # originals above, reconstructions below
    grid = pair.permute(2, 0, 3, 1).reshape(pair.shape[2], -1, pair.shape[1])
    row[1].imshow(grid.squeeze(-1), cmap="gray" if grid.shape[-1] == 1 else None)
    row[1].set(title="eavesdropper: originals / reconstructions")
    row[1].axis("off")
fig.tight_layout()
fig.savefig(args.out, dpi=100)
print(f"wrote {args.out}")
