"""Stage-1 learning-rate probe: a few hundred Alg. 1 stage-1 steps (T' = 0, the training SNR) of a
dataset's encoder + receiver classifier at several learning rates, from the same initialisation and
the same batches, on a split made by `diffsem data`.  Prints the mean loss per window of steps and the
bypass accuracy on 1,000 random validation images (the slice data/<ds>/seed<k>/split.pt holds out).  docs/decisions.md §18 used it to pick CIFAR-10's rate.

    python scripts/jscc_lr_probe.py --dataset cifar10 --lrs 1e-3,3e-4 --steps 150 --batch 64
"""

import argparse
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split, to_float
from diffsem.pipeline import Link
from diffsem.stages import schedule_of


def probe(cfg, split, lr: float, steps: int, batch: int, window: int, seed: int = 0) -> tuple[list[float], float]:
    spec = cfg.spec
    torch.manual_seed(seed)
    enc, clf = spec.encoder(), spec.classifier()
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)
    opt = torch.optim.Adam(list(enc.parameters()) + list(clf.parameters()), lr)
    g, gd = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    snr, n = cfg.channel.train_snr_db, split.tr_x.shape[0]
    losses, run = [], 0.0
    for step in tqdm(range(1, steps + 1), desc=f"lr {lr:g}", mininterval=5):
        idx = torch.randint(0, n, (batch,), generator=g)
        z = link.channel(link.transmit(link.features(to_float(split.tr_x[idx])), 0, snr, gd), snr, gd)
        loss = F.cross_entropy(clf(z, z, torch.zeros(batch, 1)), split.tr_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        run += loss.item()
        if step % window == 0:
            losses.append(run / window)
            run = 0.0
    # scored on the validation slice (a learning-rate probe is a choice: never on test images)
    vi = torch.randperm(split.val_x.shape[0], generator=torch.Generator().manual_seed(seed))[:1000]
    with torch.no_grad():
        z = link.channel(link.transmit(link.features(to_float(split.val_x[vi])), 0, snr, gd), snr, gd)
        acc = float((clf(z, z, torch.zeros(len(vi), 1)).argmax(1) == split.val_y[vi]).float().mean())
    return losses, acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap, dataset="cifar10")
    ap.add_argument("--lrs", default="1e-3,3e-4")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--window", type=int, default=25)
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        split = load_split(paths.split)
        lrs = [float(v) for v in args.lrs.split(",")]
    except (ConfigError, DataError, ValueError) as exc:
        raise SystemExit(f"jscc_lr_probe: {exc}") from None
    print(f"| lr | mean loss per {args.window} steps | validation acc (1,000 images) | s |\n|---|---|---|---|")
    for lr in lrs:
        t0 = time.time()
        losses, acc = probe(cfg, split, lr, args.steps, args.batch, args.window)
        print(f"| {lr:g} | {' / '.join(f'{v:.2f}' for v in losses)} | {acc:.3f} | {time.time() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
