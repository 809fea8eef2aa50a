"""Alg. 2's learning rate and bank size, chosen on validation (docs/decisions.md §20).

    python scripts/finetune_probe.py --system diffsem --lrs 1e-4,1e-3 --banks 2048,4096

For each (lr, bank size) the receiver is fine-tuned from scratch exactly as `diffsem finetune` would
(fold, bank, best-validation epoch) on the trained pipeline in --root, and the best epoch's
validation accuracy (the validation bank at `validation.t_values`) is printed as a markdown row.
Nothing is written to models/; the test set is sealed.
"""

import argparse
import dataclasses
import sys
import time

import torch

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError
from diffsem.io import CheckpointError
from diffsem.stages import FINETUNED, finetune_receiver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--system", default="diffsem", choices=FINETUNED)
    ap.add_argument("--lrs", default="1e-4,1e-3")
    ap.add_argument("--banks", default="2048")
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        lrs = [float(v) for v in args.lrs.split(",")]
        banks = [int(v) for v in args.banks.split(",")]
        if min(lrs) <= 0 or min(banks) < 1:
            raise ValueError("--lrs must be > 0 and --banks >= 1")
    except (ConfigError, ValueError) as exc:
        sys.exit(f"finetune_probe: {str(exc).splitlines()[0]}")
    ts = cfg.validation.t_values
    print(f"| system | lr | bank per T' | epochs run | best epoch | " + " | ".join(f"val acc t={t}" for t in ts) + " | mean | s |")
    print("|---|---|---|---|---|" + "---|" * (len(ts) + 2))
    for lr in lrs:
        for bank in banks:
            c = dataclasses.replace(cfg, finetune=dataclasses.replace(cfg.finetune, lr=lr, n_per_t=bank))
            t0 = time.time()
            try:
                _, res = finetune_receiver(c, paths, args.system, torch.device("cpu"), resume=False)
            except (DataError, CheckpointError) as exc:
                sys.exit(f"finetune_probe: {str(exc).splitlines()[0]}")
            b = next(r for r in res.curve if r["selected"])
            print(f"| {args.system} | {lr:g} | {bank} | {len(res.curve)} | {b['epoch']} | " +
                  " | ".join(f"{b[f'val_acc_t{t}']:.4f}" for t in ts) + f" | {b['val_acc_mean']:.4f} | {time.time() - t0:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
