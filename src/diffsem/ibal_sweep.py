"""IBAL's privacy/bottleneck weights swept (`diffsem ibal-sweep`), so a reader can judge the baseline
had a fair chance (docs/baselines.md).

For each (lambda, beta) an IBAL system is trained exactly as `diffsem train-ibal --system ibal` would
with those two values, then scored at a few grid points at the Fig. 4 SNR: its receiver accuracy,
and a black-box attacker trained for that system and point by the shared procedure
(`attack.train_attackers`, the `adversary` section's settings).  One fixed judge scores every
configuration's reconstructions: the pipeline's strong classifier (models/<ds>/seed<k>/strong.pt), so the
sweep's attacker accuracies compare configurations with each other; the pipeline's own IBAL rows use
a strong classifier trained on IBAL's reconstructions.  Writes reports/<ds>/seed<k>/ibal_sweep.csv (replaced, or
with ``--append`` merged: a re-run (system, recipe, lambda, beta) replaces its old rows; ``--system ibal|ibal-d``
picks the system swept (IBAL by default); ``variant`` names the
recipe, ``baselines.ibal_variant``, whose ``ibal_lambda`` is the multiplier swept).
"""

from __future__ import annotations

import dataclasses
import itertools

import pandas as pd
import torch
from tqdm import tqdm

from .attack import point_key, train_attackers
from .baseline_stages import BSEED, ibal_observer, score_point, train_ibal
from .baselines import effective_snr_db, ibal_send
from .config import Config
from .data import load_split, to_float

from .io import atomic_path
from .receiver_search import validation_images
from .stages import Paths, load_strong, schedule_of


def with_weights(cfg: Config, lam: float, beta: float) -> Config:
    return dataclasses.replace(cfg, baselines=dataclasses.replace(cfg.baselines, ibal_lambda=float(lam), ibal_beta=float(beta)))


def merge_rows(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` plus the rows of ``old`` whose (system, recipe, lambda, beta) ``new`` does not hold (--append);
    rows written before the system and recipe were recorded are IBAL's first version (``ours``)."""
    def tagged(df):
        for col, first in (("system", "ibal"), ("variant", "ours")):
            df = df.assign(**{col: df[col].fillna(first) if col in df else first})
        return df
    old, new = tagged(old), tagged(new)
    key = ["system", "variant", "lambda", "beta"]
    done = set(new[key].itertuples(index=False, name=None))
    keep = old[[k not in done for k in old[key].itertuples(index=False, name=None)]]
    return pd.concat([keep, new], ignore_index=True).sort_values([*key, "t"], ignore_index=True)


def sweep(cfg: Config, paths: Paths, device, lambdas: list[float], betas: list[float], ts: tuple[int, ...] = (150, 300),
          append: bool = False, system: str = "ibal"):
    spec = cfg.spec
    split = load_split(paths.split)
    sched = schedule_of(cfg)
    strong = load_strong(paths, cfg, device)
    snr, seed = float(cfg.eval.snr_db), int(cfg.eval.seeds[0])
    rows = []
    for lam, beta in tqdm(list(itertools.product(lambdas, betas)), desc=f"{system} sweep {paths.dataset}"):
        c = with_weights(cfg, lam, beta)
        tx, clf, hist = train_ibal(c, paths, system, device, resume=False)

        @torch.no_grad()
        def send(rows_, t, s, g, tx=tx):
            return ibal_send(tx, to_float(split.adv_x[rows_.cpu()]).to(device), effective_snr_db(sched, t, s), g)

        points = [(t, snr) for t in ts]
        models, _, _ = train_attackers(spec, send, split.adv_x, points, c.adversary, c.seed + BSEED["attack"], device,
                                    f"{system} sweep adversary l={lam:g} b={beta:g}")
        for t in ts:
            adv = spec.adversary().to(device)
            adv.load_state_dict(models[point_key(t, snr)])
            observe = ibal_observer(tx, clf, {point_key(t, snr): adv.eval()}, sched, system, c.baselines.ibal_variant)
            r = score_point(validation_images(c, split), observe, strong, t, snr, seed, c.eval.batch_size, device)
            rows.append({"system": system, "variant": c.baselines.ibal_variant, "lambda": lam, "beta": beta, "t": t, "snr_db": snr, **r,
                         "effective_snr_db": effective_snr_db(sched, t, snr), "final_loss": hist.final_loss})
            print(f"{system} lambda={lam:g} beta={beta:g} t={t}: receiver {r['receiver_acc']:.3f}, attacker "
                  f"{r['attacker_acc']:.3f} (ssim {r['attacker_ssim']:.3f})", flush=True)
    df = pd.DataFrame(rows)
    if append and paths.ibal_sweep.exists():
        df = merge_rows(pd.read_csv(paths.ibal_sweep), df)
    with atomic_path(paths.ibal_sweep) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
