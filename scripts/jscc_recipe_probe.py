"""Stage 1 (Phi + Theta, Alg. 1 lines 3-7) under one recipe, scored on the validation slice.

    python scripts/jscc_recipe_probe.py --t-range 0,500 --epochs 30 [--encoder table1|global] [--per-batch]
    python scripts/jscc_recipe_probe.py --dataset cifar10 --epochs 12 [--encoder-kernel K] [--augment]

Prints the best-validation epoch's bypass accuracy at T' = 0 / 150 / 300 / 350 (15 dB; ``--val-t`` other T').  It answers the
question of docs/decisions.md §21: what holds the Table I encoder below what the channel allows?
``--encoder-kernel K`` sets Table I's last convolution's kernel (3: each of the 64 features sees a 15x15
patch of the image; 15: each sees the whole 32x8x8 map; ``jscc.encoder_kernel``, decisions §40);
``--encoder global`` swaps that convolution for a Linear layer over the whole map (a diagnostic, not a
pipeline option, MNIST only).  On CIFAR-10 the kernel is Table II's last (stride-2, 16x16 -> 8x8)
convolution's.  ``--augment`` trains on the family's usual augmentation: randomly shifted (4-pixel
reflect-padded crops) and mirrored images on CIFAR-10 (decisions §45), 2-pixel shifts and no mirroring on
MNIST (a mirrored digit is another digit; decisions §46); the pipeline trains on the images as they are.
``--lr``, ``--batch`` and ``--patience`` default to the dataset's ``jscc`` settings (the patience was a fixed 6
before session 23: ``--patience 6`` reproduces the rows of decisions §21, §40, §45 and §46).  ``--ema D`` scores and
selects a moving average of the weights (``training.fit``'s ``ema``; decisions §48).  Selection on the
validation slice of data/<ds>/seed<k>/split.pt (made by `diffsem data`); the test set is sealed.
"""

import argparse
import sys

import torch
import torch.nn.functional as F
from torch import nn

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split, to_float
from diffsem.models import family_spec
from diffsem.pipeline import Link
from diffsem.stages import schedule_of
from diffsem.training import Validation, fit, make_optimizer
from diffsem.validation import receiver_accuracy


def global_head(enc: nn.Module) -> nn.Module:
    """Table I's encoder with its last conv replaced by a Linear over the whole feature map."""
    enc.net = nn.Sequential(*list(enc.net)[:4], nn.Flatten(), nn.Linear(32 * 64, 64), nn.Unflatten(1, (1, 8, 8)),
                            nn.LayerNorm([1, 8, 8]))
    return enc


# The usual augmentation of each family: CIFAR-10's 4-pixel shifts and mirroring; for digits, 2-pixel shifts
# only (a mirrored digit is another digit, or none; MNIST's 28x28 frame leaves >= 4 blank pixels round the digit).
AUGMENTATION = {"table1": {"pad": 2, "mirror": False}, "table2": {"pad": 4, "mirror": True}}


def augment(x: torch.Tensor, g: torch.Generator, pad: int = 4, mirror: bool = True) -> torch.Tensor:
    """Each image of the batch shifted by up to ``pad`` pixels (a crop of its reflect-padded copy) and, with
    ``mirror``, mirrored left-right with probability 1/2, with its own draws from ``g``."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dy, dx = (torch.randint(0, 2 * pad + 1, (b,), generator=g) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(b, x.shape[1], h, w + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(b, x.shape[1], h, w)
    out = out.gather(3, cols)
    if not mirror:
        return out
    flip = torch.rand(b, generator=g) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--t-range", default="0,500", help="T' drawn uniformly from this closed range")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=None, help="default: the dataset's jscc.lr")
    ap.add_argument("--batch", type=int, default=None, help="default: the dataset's jscc.batch_size")
    ap.add_argument("--encoder", choices=["table1", "global"], default="table1",
                    help="table1: the paper's encoder of the dataset's family (Table I or II); global: MNIST's diagnostic head")
    ap.add_argument("--encoder-kernel", type=int, default=None,
                    help="the encoder's last convolution's kernel (default: jscc.encoder_kernel; 15 sees the whole map)")
    ap.add_argument("--augment", action="store_true",
                    help="the family's usual augmentation of the training images: CIFAR-10 random 4-pixel shifts "
                         "and left-right mirroring, MNIST random 2-pixel shifts (no mirroring)")
    ap.add_argument("--patience", type=int, default=None,
                    help="early stop after this many epochs without a better selection mean (default: the dataset's "
                         "jscc.patience at this scale)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="score (and select) an exponential moving average of the weights with this decay per step "
                         "(training.fit's ema; 0: the weights themselves)")
    ap.add_argument("--per-batch", action="store_true", help="one T' per batch instead of one per sample")
    ap.add_argument("--init-seed", type=int, default=1, help="seed of the probe's own initialisation and T' draws")
    ap.add_argument("--p-clean", type=float, default=0.0,
                    help="probability that a sample's T' is 0 instead of a draw from --t-range (per-sample T' only)")
    ap.add_argument("--val-t", default="0,150,300,350",
                    help="T' values scored on validation; their mean accuracy selects the epoch (the printed row shows these)")
    ap.add_argument("--val-images", type=int, default=None,
                    help="validation images scored (default: validation.max_images; 0: the whole validation slice)")
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        if args.encoder == "global" and cfg.spec.family != "table1":
            raise ValueError("--encoder global replaces Table I's head only (an MNIST-family dataset)")
        split = load_split(paths.split)
        bounds = args.t_range.split(",")
        if len(bounds) != 2 or not all(b.strip().isdigit() for b in bounds):
            raise ValueError(f"--t-range must be two steps lo,hi, got {args.t_range!r}")
        lo, hi = (int(v) for v in bounds)
        if not 0 <= lo <= hi <= cfg.schedule.T:
            raise ValueError(f"--t-range must be two steps 0 <= lo <= hi <= {cfg.schedule.T}, got {args.t_range!r}")
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        if args.patience is not None and args.patience < 0:
            raise ValueError(f"--patience must be >= 0 epochs (0: never stop early), got {args.patience}")
        if not 0 <= args.ema < 1:
            raise ValueError(f"--ema must be a decay in [0, 1), got {args.ema}")
        if not 0 <= args.p_clean <= 1 or (args.p_clean and args.per_batch):
            raise ValueError(f"--p-clean must be in [0, 1] and needs per-sample T', got {args.p_clean}")
        val_t = tuple(int(v) for v in args.val_t.split(",") if v.strip().isdigit())
        if len(val_t) != len(args.val_t.split(",")) or not all(0 <= t <= cfg.schedule.T for t in val_t):
            raise ValueError(f"--val-t must be steps in [0, {cfg.schedule.T}], got {args.val_t!r}")
    except (ConfigError, DataError, ValueError) as exc:
        sys.exit(f"jscc_recipe_probe: {str(exc).splitlines()[0]}")
    spec, sched, snr = cfg.spec, schedule_of(cfg), cfg.channel.train_snr_db
    lr = cfg.jscc.lr if args.lr is None else args.lr
    batch = cfg.jscc.batch_size if args.batch is None else args.batch
    torch.manual_seed(args.init_seed)
    kernel = cfg.jscc.encoder_kernel if args.encoder_kernel is None else args.encoder_kernel
    enc, clf = family_spec(spec.family, spec.n_classes, encoder_kernel=kernel).encoder(), spec.classifier()
    if args.encoder == "global":
        enc = global_head(enc)
    link = Link(enc, sched)
    g, gd = torch.Generator().manual_seed(args.init_seed), torch.Generator().manual_seed(args.init_seed + 1)

    def step(idx):
        x, y = to_float(split.tr_x[idx]), split.tr_y[idx]
        if args.augment:
            x = augment(x, gd, **AUGMENTATION[spec.family])
        n = 1 if args.per_batch else x.shape[0]
        t = torch.randint(lo, hi + 1, (n,), generator=gd).expand(x.shape[0])
        if args.p_clean:
            t = torch.where(torch.rand(n, generator=gd) < args.p_clean, 0, t)
        z, tt = link.theta_view(link.channel(link.transmit_each(link.features(x), t, snr, gd), snr, gd), t, snr)
        return F.cross_entropy(clf(z, z, tt), y)

    cap = cfg.validation.max_images if args.val_images is None else args.val_images
    n_val = min(split.val_y.shape[0], cap or split.val_y.shape[0])

    def score():
        def bypass(z, tt):
            return clf(z, z, tt)
        return receiver_accuracy(link, bypass, split.val_x[:n_val], split.val_y[:n_val], val_t, snr, "cpu")

    opt, lrs = make_optimizer(list(enc.parameters()) + list(clf.parameters()), lr, mode="max")
    res = fit("probe", {"encoder": enc, "classifier": clf}, opt, lrs, args.epochs, split.tr_x.shape[0], batch, g,
              step, validation=Validation(score, "acc_mean", "max", cfg.jscc.patience if args.patience is None else args.patience),
              ema=args.ema)
    best = next(r for r in res.curve if r["selected"])
    encoder = spec.family if args.encoder == "table1" else "global head"  # table1 | table2: the paper's encoder
    print(f"| {args.dataset} {encoder} (kernel {kernel}{', augmented' if args.augment else ''}{f', EMA {args.ema:g}' if args.ema else ''}) | "
          f"{'batch' if args.per_batch else 'sample'} | [{lo}, {hi}] p0={args.p_clean:g} | {lr:g} | {batch} | "
          f"{best['epoch']}/{len(res.curve)} | " + " / ".join(f"{best[f'val_acc_t{t}']:.4f}" for t in val_t) + " |")


if __name__ == "__main__":
    main()
