"""E-DiffSem's U-Net trained on one-hot vs. on soft labels, decided on validation (decisions §27).

    python scripts/label_source_probe.py [--dataset mnist] [--seed 0] [--scratch ../diffsem-label-probe]

Takes a finished run (its split, stage-1 models and the conditional U-Net and E-DiffSem receiver it
trained under the configured `diffusion.cond_labels`), trains the other choice's conditional U-Net and
redoes Alg. 2 for E-DiffSem on it in a scratch folder (the run itself is not touched; an interrupted
probe resumes), then prints both choices side by side: the U-Net's epochs and validation ε-MSE, and the
E-DiffSem receiver's validation accuracy at `validation.t_values` (the selected epoch of Alg. 2).
Every number is on the validation slice; the test set is never read.
"""

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

import pandas as pd
import torch

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError
from diffsem.io import CheckpointError
from diffsem.stages import Paths, stage_diffusion, stage_finetune


def summary(paths: Paths, label: str, ts) -> dict:
    unet = pd.read_csv(paths.curve("unet_cond"))
    fine = pd.read_csv(paths.curve("finetune_e-diffsem"))
    u, f = unet[unet.selected == 1].iloc[0], fine[fine.selected == 1].iloc[0]
    return {"training labels": label, "U-Net epochs run / selected": f"{len(unet)} / {int(u.epoch)}",
            "U-Net val ε-MSE": f"{u.val_eps_mse:.4f}",
            **{f"E-DiffSem val acc t={t}": f"{f[f'val_acc_t{t}']:.4f}" for t in ts},
            "E-DiffSem val acc mean": f"{f.val_acc_mean:.4f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--scratch", default="../diffsem-label-probe", help="folder for the other choice's models")
    args = ap.parse_args()
    try:
        cfg, run = run_of(args)
        for p in (run.split, run.jscc, run.curve("unet_cond"), run.curve("finetune_e-diffsem")):
            if not p.is_file():
                raise FileNotFoundError(f"{p} not found: run the DAG for this seed first")
    except (ConfigError, FileNotFoundError) as exc:
        sys.exit(f"label_source_probe: {str(exc).splitlines()[0]}")
    other = "soft" if cfg.diffusion.cond_labels == "onehot" else "onehot"
    alt = dataclasses.replace(cfg, diffusion=dataclasses.replace(cfg.diffusion, cond_labels=other))
    scratch = Paths(Path(args.scratch), run.dataset, run.seed)
    for p in (run.split, run.jscc):
        dest = scratch.dir("data" if p == run.split else "models") / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copy2(p, dest)
    device = torch.device("cpu")
    try:
        if not scratch.unet("cond").is_file():
            stage_diffusion(alt, scratch, "cond", device)
        if not scratch.receiver("e-diffsem").is_file():
            stage_finetune(alt, scratch, "e-diffsem", device)
    except (DataError, CheckpointError) as exc:
        sys.exit(f"label_source_probe: {str(exc).splitlines()[0]}")
    ts = cfg.validation.t_values
    rows = [summary(run, cfg.diffusion.cond_labels + " (the run's)", ts), summary(scratch, other, ts)]
    df = pd.DataFrame(rows)
    print(f"E-DiffSem training labels, {run.dataset} seed {run.seed} (validation slice, "
          f"{cfg.sampler.max_steps}-step receiver, guidance w = {cfg.sampler.guidance_w:g})\n")
    print("| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns))
    for _, r in df.iterrows():
        print("| " + " | ".join(str(v) for v in r) + " |")


if __name__ == "__main__":
    main()
