"""Why does the narrow U-Net lose to the Wiener estimate in the last t band (docs/decisions.md §24)? A probe on
training data only: continue a trained unconditional U-Net with Eq. 15's epsilon-loss, but with t drawn from one
band instead of U{1..T}, and save it where scripts/unet_width_study.py reads it.

    python scripts/unet_band_probe.py --seed 0 --band 401 500 --epochs 10 --out probe/unet_uncond.pt
    python scripts/unet_width_study.py --seed 0 --unet models/mnist/seed0/unet_uncond.pt --unet probe/unet_uncond.pt

If the continued network beats Wiener in that band, the network is wide enough to do it, and what holds the
configured one back is how little of Eq. 15's uniform-t training lands there. If it does not, width (or the
epsilon parameterisation) is the limit. The probe's network is never used by the pipeline. Its epoch count is
fixed in advance, and nothing is selected on validation or test data; the width study scores it on validation.
"""

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split
from diffsem.io import CheckpointError, read_checkpoint, save_checkpoint
from diffsem.stages import build_unet, encode_all, forward_noised, load_jscc, schedule_of


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--unet", help="the U-Net to continue (default: the run's models/<ds>/seed<k>/unet_uncond.pt)")
    ap.add_argument("--band", type=int, nargs=2, default=(401, 500), metavar=("LO", "HI"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-4, help="default: the configured schedule's floor (lr / 10)")
    ap.add_argument("--out", required=True, help="where to write the continued U-Net (its file stem must be unet_uncond)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        lo, hi = args.band
        if not 1 <= lo <= hi <= cfg.schedule.T:
            raise ValueError(f"--band {lo} {hi} must lie within 1..{cfg.schedule.T}")
        if args.epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
        if Path(args.out).stem != "unet_uncond":
            raise ValueError(f"--out {args.out}: the file stem must be unet_uncond (the width study reads the kind from it)")
        src = Path(args.unet) if args.unet else paths.unet("uncond")
        meta, state = read_checkpoint(src, "unet_uncond")
        split = load_split(paths.split)
        enc, _ = load_jscc(paths, cfg, "cpu")
    except (ConfigError, DataError, CheckpointError, ValueError, KeyError) as exc:
        print(f"unet_band_probe: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    net = build_unet(meta["arch"])
    net.load_state_dict(state["model"])
    with torch.no_grad():
        f0_all = encode_all(enc, split.tr_x, "cpu")  # the transmitter-receiver training split only
    ab = schedule_of(cfg).alpha_bar.float()
    g = torch.Generator().manual_seed(cfg.seed + 7919)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    bs = cfg.diffusion.batch_size
    net.train()
    for epoch in range(1, args.epochs + 1):
        perm, total = torch.randperm(f0_all.shape[0], generator=g), 0.0
        for i in range(0, perm.numel(), bs):
            f0 = f0_all[perm[i:i + bs]]
            f_t, t, eps = forward_noised(f0, ab, hi, g, t_min=lo)
            loss = F.mse_loss(net(f_t, t), eps)  # Eq. 15 on the band
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * f0.shape[0]
        print(f"epoch {epoch}/{args.epochs}: train eps-MSE on t {lo}-{hi} {total / f0_all.shape[0]:.5f}", flush=True)
    config = dict(meta["config"])
    config["diffusion"] = {**config["diffusion"], "epochs": f"{config['diffusion']['epochs']} + {args.epochs} on t {lo}-{hi}"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, {"model": net.state_dict()}, "unet_uncond", meta["arch"], config)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
