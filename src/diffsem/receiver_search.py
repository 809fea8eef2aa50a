"""Search for a cheaper receiver that keeps the paper configuration's accuracy (`diffsem receiver-search`).

The paper's receiver runs N = min(T', 50) DDIM steps of the Table III U-Net (Sec. III-D): ~11 GFLOP per
sample on MNIST, so on a CPU the only real speed lever is less work.  This module scores candidate
sampler settings (DDIM step caps) against the paper's on the **validation** slice (never the test
set: this is a choice, docs/decisions.md §19), every candidate on the same images and channel draws,
at the headline operating points (Fig. 4 SNR, T' = 150 and 300).  The chosen N is then reported on
the test set once, by `diffsem evaluate`.

Each candidate is what the pipeline would build with ``sampler.max_steps = N``: Alg. 2's fine-tuning
is redone with the candidate sampler (Theta learns the f_hat that sampler produces), not just the
inference loop swapped under a receiver tuned for 50 steps.  The configured step cap uses the
pipeline's trained receivers as they are.

The found configuration is the fastest whose accuracy drop, over DiffSem and E-DiffSem at both
T', is at most ``tolerance`` (0.5 point) below the paper's.  Results go to
reports/<ds>/seed<k>/receiver_search.{csv,json}; `diffsem bench` reads the JSON for its ``fast_receiver`` keys.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import torch
from tqdm import tqdm

from .config import Config
from .data import load_split, to_float
from .io import atomic_path, write_json
from .pipeline import Link, Receivers
from .stages import Paths, finetune_receiver, load_jscc, load_receiver, load_unet, schedule_of
from .evaluate import point_seed, receivers_correct
from .validation import capped

SEARCH_SYSTEMS = ("diffsem", "e-diffsem")


def with_max_steps(cfg: Config, n: int) -> Config:
    return dataclasses.replace(cfg, sampler=dataclasses.replace(cfg.sampler, max_steps=int(n)))


@torch.no_grad()
def receiver_accuracy(cfg: Config, images, link: Link, rx: Receivers, t: int, snr: float, seed: int, device) -> dict:
    """Accuracy of the receivers on ``images`` (an ``ImageSet``) at one point; the draws depend only on
    (seed, t, snr), so every candidate sees the same ones."""
    g = torch.Generator(device=device).manual_seed(point_seed(seed, t, snr))
    t_start, scale = link.receive_step(t, snr)
    correct: dict[str, int] = {}
    for b in images.idx.split(cfg.eval.batch_size):
        x = to_float(images.x[b]).to(device)
        y = images.y[b].to(device)
        z_rx = link.channel(link.transmit(link.features(x), t, snr, g), snr, g)
        c, _ = receivers_correct(rx, z_rx, y, t_start, scale)
        for s, v in c.items():
            correct[s] = correct.get(s, 0) + v
    return {s: c / images.n for s, c in correct.items()}


# how far below the best a cheaper setting may score on validation and still be chosen (0.5 point):
# the step cap N (decisions §17) and the guidance weight w (§25) share it
TOLERANCE = 0.005


def validation_images(cfg: Config, split):
    """The designer's validation slice, capped at ``validation.max_images``."""
    im = split.images("val")
    n = capped(im.n, cfg.validation.max_images)
    return type(im)(im.x, im.y, im.idx[:n])


def time_receiver(rx: Receivers, link: Link, images, device, t: int = 150, snr: float = 15.0, batch: int = 256,
                  repeats: int = 2) -> dict:
    """Samples/s of DiffSem and E-DiffSem at batch ``batch`` on real received features at T' = t."""
    from .bench import time_call

    g = torch.Generator(device=device).manual_seed(0)
    idx = images.idx[:batch]
    if idx.numel() < batch:  # small sets: tile to a full batch
        idx = idx.repeat((batch + idx.numel() - 1) // idx.numel())[:batch]
    with torch.inference_mode():
        z = link.channel(link.transmit(link.features(to_float(images.x[idx]).to(device)), t, snr, g), snr, g)
    t_start, scale = link.receive_step(t, snr)
    out = {}
    for s, fn in (("diffsem", lambda: rx.diffsem_logits(z, t_start, scale)),
                  ("e-diffsem", lambda: rx.ediffsem_logits(z, t_start, scale))):
        def run(fn=fn):
            with torch.inference_mode():
                fn()
        out[s] = batch / time_call(run, device, repeats)
    return out


def search(cfg: Config, paths: Paths, device, steps: list[int], ts: tuple[int, ...] = (150, 300),
           tolerance: float = TOLERANCE) -> dict:
    """Score each DDIM step cap in ``steps`` (the first is the reference, normally the paper's 50).

    The configured ``sampler.max_steps`` uses the pipeline's trained receivers; every other cap
    (the reference included, when it is not the configured one) redoes Alg. 2 with its sampler.
    """
    split = load_split(paths.split)  # sealed test set: the search scores on validation only
    images = validation_images(cfg, split)
    enc, clf = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    unets = {"uncond": load_unet(paths, cfg, "uncond", device), "cond": load_unet(paths, cfg, "cond", device)}
    snr, seed = float(cfg.eval.snr_db), int(cfg.eval.seeds[0])
    rows = []
    for i, n in enumerate(tqdm(steps, desc=f"receiver search {paths.dataset}")):
        c = with_max_steps(cfg, n)
        t0 = time.perf_counter()
        if n == cfg.sampler.max_steps:  # the configured receivers, as trained by the pipeline
            thetas = {s: load_receiver(paths, cfg, s, device) for s in SEARCH_SYSTEMS}
        else:
            thetas = {s: finetune_receiver(c, paths, s, device, resume=False)[0] for s in SEARCH_SYSTEMS}
        refit_s = time.perf_counter() - t0
        rx = Receivers(sched, clf, unets["uncond"], thetas["diffsem"], unets["cond"], thetas["e-diffsem"],
                       **{**cfg.sampler.receiver_options(), "max_steps": n})
        acc = {t: receiver_accuracy(c, images, link, rx, t, snr, seed, device) for t in ts}
        speed = time_receiver(rx, link, images, device, snr=snr)
        for s in SEARCH_SYSTEMS:
            rows.append({"max_steps": n, "system": s, **{f"acc_t{t}": acc[t][s] for t in ts},
                         **{f"classifier_acc_t{t}": acc[t]["classifier"] for t in ts},
                         "samples_per_s": speed[s], "refit_s": refit_s})
        print(f"max_steps={n}: " + ", ".join(f"{s} " + "/".join(f"{acc[t][s]:.3f}" for t in ts) +
                                            f" @ {speed[s]:.1f}/s" for s in SEARCH_SYSTEMS), flush=True)
    df = pd.DataFrame(rows)
    ref = df[df.max_steps == steps[0]].set_index("system")
    for t in ts:
        df[f"drop_t{t}"] = [ref.loc[s, f"acc_t{t}"] - a for s, a in zip(df.system, df[f"acc_t{t}"])]
    df["speedup"] = [sp / ref.loc[s, "samples_per_s"] for s, sp in zip(df.system, df.samples_per_s)]
    drops = df.groupby("max_steps")[[f"drop_t{t}" for t in ts]].max().max(axis=1)
    speed = df.groupby("max_steps").speedup.min()  # the slower-gaining of the two systems
    ok = [n for n in steps if drops[n] <= tolerance + 1e-12]
    best = max(ok, key=lambda n: speed[n])
    result = {
        "dataset": paths.dataset, "scored_on": "validation", "n_val": images.n, "snr_db": snr, "t": list(ts),
        "tolerance": tolerance, "reference": {"sampler.max_steps": steps[0]},
        "fast_receiver": {"config": {"sampler.max_steps": int(best)}, "speedup": float(speed[best]),
                          "max_accuracy_drop": float(drops[best])},
        "rows": df.to_dict(orient="records"),
    }
    with atomic_path(paths.receiver_search.with_suffix(".csv")) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    write_json(paths.receiver_search, result)
    return result


def with_guidance(cfg: Config, w: float) -> Config:
    return dataclasses.replace(cfg, sampler=dataclasses.replace(cfg.sampler, guidance_w=float(w)))


def pick_guidance(weights: pd.Series, acc_mean: pd.Series, tolerance: float = TOLERANCE) -> pd.Series:
    """Mask of the guidance weight to configure: the smallest |w| whose mean validation accuracy is at most
    ``tolerance`` below the best (docs/decisions.md §25).  Guidance (w != 0) runs the U-Net twice per DDIM
    step, so, as with the receiver search's step cap, it must beat the cheaper setting by more than the
    tolerance to be chosen; a few validation images either way do not flip the pick."""
    ok = acc_mean >= acc_mean.max() - tolerance - 1e-12
    best = weights[ok].abs().idxmin()
    return pd.Series(weights.index == best, index=weights.index)


def guidance_search(cfg: Config, paths: Paths, device, weights: list[float], ts: tuple[int, ...] = (150, 300),
                    tolerance: float = TOLERANCE) -> pd.DataFrame:
    """E-DiffSem's classifier-free guidance weight w scored on the validation slice (docs/decisions.md §25).

    Each w other than the configured one redoes Alg. 2 for E-DiffSem with that w (Theta learns the
    f_hat that guidance produces), as the pipeline would with ``sampler.guidance_w = w``; the pick
    (``pick_guidance``) is the smallest |w| within ``tolerance`` of the best mean validation accuracy
    over ``ts``.  Writes reports/<ds>/seed<k>/guidance_search.csv."""
    split = load_split(paths.split)  # sealed test set
    images = validation_images(cfg, split)
    enc, clf = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    unet = load_unet(paths, cfg, "cond", device)
    snr, seed = float(cfg.eval.snr_db), int(cfg.eval.seeds[0])
    rows = []
    for w in tqdm(weights, desc=f"guidance search {paths.dataset}"):
        c = with_guidance(cfg, w)
        theta = (load_receiver(paths, cfg, "e-diffsem", device) if w == cfg.sampler.guidance_w
                 else finetune_receiver(c, paths, "e-diffsem", device, resume=False)[0])
        rx = Receivers(sched, clf, unet, theta, unet, theta, **{**cfg.sampler.receiver_options(), "guidance": float(w)})
        acc = {t: receiver_accuracy(c, images, link, rx, t, snr, seed, device)["e-diffsem"] for t in ts}
        rows.append({"guidance_w": w, **{f"acc_t{t}": acc[t] for t in ts}, "acc_mean": sum(acc.values()) / len(ts),
                     "n_val": images.n})
        print(f"w={w:g}: E-DiffSem " + " / ".join(f"{acc[t]:.3f}" for t in ts), flush=True)
    df = pd.DataFrame(rows)
    df["picked"] = pick_guidance(df.guidance_w, df.acc_mean, tolerance)
    df["tolerance"] = tolerance  # the pick rule's tolerance, so the CSV says why its row was picked
    with atomic_path(paths.receiver_search.with_name("guidance_search.csv")) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
