"""`diffsem evaluate-fading`: the AWGN-trained systems on a Rayleigh block-fading link (issue #15; §37).

Every image of a point is sent once; the receiver and the eavesdropper fade independently (one complex
gain each per feature vector, ``fading.rayleigh_channel``) and each knows its own gain. Both zero-force
and map each sample's noise level to a diffusion step, as on AWGN but per sample:

* the **receivers** (classifier, classifier-ft, DiffSem, E-DiffSem) run at the step the sample's noise
  matches (``fading.match_steps``), grouped by step;
* the **eavesdropper** puts each sample on the attacker point (T_a, eval SNR) whose training input had
  the nearest ESNR, scales it onto that point's signal level and applies that point's inversion network
  (judged by the strong classifier) and, where trained, its semantic attacker. Its networks were trained
  on AWGN; an attacker trained on faded queries could only be stronger, so its rows are lower bounds.

``csit``: with the legitimate link's gain known at the transmitter, the self-noise is Eq. 24's at that
sample's instantaneous SNR, so the receiver sees T' exactly wherever the link allows it; without, it is
the nominal SNR's. The two variants use the same images, gains and noise draws (paired).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from .config import Config
from .data import load_split, to_float
from .evaluate import image_metrics, point_seed, prediction_rows, receivers_predict
from .fading import match_steps, rayleigh_channel, rayleigh_gains, self_noise_variance_csit
from .io import atomic_path
from .runtime import generator
from .self_noising import noise_variance_table, received_noise_variance
from .stages import SEED, Paths

RECEIVERS = ("classifier", "classifier-ft", "diffsem", "e-diffsem")
COLUMNS = ["dataset", "system", "role", "t", "snr_db", "csit", "seed", "accuracy", "ssim", "psnr", "n_eval",
           "mean_step", "share_at_t"]


def attacker_esnr(cfg: Config, schedule, points) -> dict[tuple[int, float], float]:
    """log ESNR of what each attacker point's network was trained on: abar_Ta over the noise it received."""
    return {p: math.log(float(schedule.alpha_bar[p[0]]) / received_noise_variance(schedule, p[0], p[1], cfg.channel.quantize_t2))
            for p in points}


@torch.no_grad()
def fading_point(cfg: Config, ds: str, split, run, t: int, snr: float, seed: int, device) -> tuple[list[dict], list[dict]]:
    """Every receiver and attacker at one (T', mean SNR), without and with transmitter CSI."""
    link, rx, sched = run.link, run.receivers, run.link.schedule
    abar = float(sched.alpha_bar[t])
    v_nominal = float(noise_variance_table(sched, snr, cfg.channel.quantize_t2)[t])
    pts = sorted(p for p in run.adversaries if p[1] == float(cfg.eval.snr_db))
    esnr = attacker_esnr(cfg, sched, pts)
    keys, logs = list(esnr), torch.tensor(list(esnr.values()), dtype=torch.float64)
    semantic = run.semantic if run.paths.semantic.is_file() else {}
    idx = split.images(cfg.eval.test_part(t, float(cfg.eval.snr_db))).idx
    g = generator(point_seed(seed, t, snr, SEED["fading"]), device)
    out = {c: {k: [] for k in (*RECEIVERS, "inversion", "semantic", "ssim", "psnr", "step")} for c in cfg.fading.csit}
    labels = []
    for b in idx.split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        y = split.test_y[b].to(device)
        labels.append(y.cpu())
        f0 = link.features(x)
        n = f0.shape[0]
        h_rx, h_eve = rayleigh_gains(n, g, device), rayleigh_gains(n, g, device)
        eps = torch.randn(f0.shape, generator=g, device=device, dtype=f0.dtype)
        # the channel draws are made once and reused for both CSI variants (a paired comparison)
        g_state = g.get_state()
        for csit in cfg.fading.csit:
            g.set_state(g_state)
            inst_rx = float(10 ** (snr / 10)) * h_rx.abs().pow(2).double()
            v = self_noise_variance_csit(sched, t, inst_rx) if csit else torch.full((n,), v_nominal, dtype=torch.float64)
            vv = v.to(device=device, dtype=f0.dtype).view(-1, *([1] * (f0.dim() - 1)))
            z = abar**0.5 * f0 + vv.sqrt() * eps
            z_rx, inst_rx = rayleigh_channel(z, snr, g, h_rx)
            z_eve, inst_eve = rayleigh_channel(z, snr, g, h_eve)
            o = out[csit]
            # receivers: each sample on the step its noise matches, grouped by step
            steps, scales = match_steps(sched, t, v + (abar + v) / inst_rx.double().cpu())
            preds = {s: torch.empty(n, dtype=torch.long) for s in RECEIVERS}
            for s in steps.unique().tolist():
                m = steps == s
                pr, _ = receivers_predict(rx, z_rx[m.to(device)], int(s), float(scales[m][0]))
                for name in RECEIVERS:
                    preds[name][m] = pr[name].cpu()
            for name in RECEIVERS:
                o[name].append(preds[name])
            o["step"].append(steps.double())
            # eavesdropper: each sample on the attacker point of nearest ESNR, scaled onto its signal level
            noise_eve = v + (abar + v) / inst_eve.double().cpu()
            pick = (logs.view(1, -1) - torch.log(abar / noise_eve).view(-1, 1)).abs().argmin(1)
            inv, sem = torch.empty(n, dtype=torch.long), torch.empty(n, dtype=torch.long)
            x_hat = torch.empty_like(x)
            for j in pick.unique().tolist():
                m = pick == j
                md = m.to(device)
                ta, sa = keys[j]
                z_in = z_eve[md] * (float(sched.alpha_bar[ta]) / abar) ** 0.5
                x_hat[md] = run.adversaries[(ta, sa)](z_in).clamp(0, 1)
                inv[m] = run.strong(x_hat[md]).argmax(1).cpu()
                if (ta, sa) in semantic:
                    sem[m] = semantic[(ta, sa)](z_in).argmax(1).cpu()
            o["inversion"].append(inv)
            if semantic:
                o["semantic"].append(sem)
            s_, p_ = image_metrics(x.cpu().numpy(), x_hat.cpu().numpy())
            o["ssim"].append(s_)
            o["psnr"].append(p_)
    y_all = torch.cat(labels)
    index = idx.tolist()
    rows, samples = [], []
    for csit, o in out.items():
        steps = torch.cat(o["step"])
        extra = {"mean_step": float(steps.mean()), "share_at_t": float((steps == t).double().mean())}
        ssim, psnr = float(np.concatenate(o["ssim"]).mean()), float(np.concatenate(o["psnr"]).mean())
        for name, role in [*((s, "receiver") for s in RECEIVERS), ("inversion", "attacker"), ("semantic", "semantic")]:
            if not o[name]:
                continue
            pred = torch.cat(o[name])
            system = name if role == "receiver" else "diffsem"
            rows.append({"dataset": ds, "system": system, "role": role, "t": t, "snr_db": snr, "csit": bool(csit),
                         "seed": seed, "accuracy": float((pred == y_all).double().mean()),
                         "ssim": ssim if role == "attacker" else math.nan, "psnr": psnr if role == "attacker" else math.nan,
                         "n_eval": int(idx.numel()), **extra})
            samples += [{**r, "csit": bool(csit)} for r in
                        prediction_rows(ds, system, role, t, snr, seed, index, y_all.tolist(), pred.tolist())]
    return rows, samples


def stage_evaluate_fading(cfg: Config, paths: Paths, device) -> pd.DataFrame:
    """The fading grid (``fading.snr_db`` x ``fading.t_grid``, each with and without CSIT) for every
    evaluation seed -> eval/fading.csv, per-sample predictions (eval/fading_predictions.csv.gz) and a figure."""
    from tqdm import tqdm

    from .trained import TrainedRun

    split = load_split(paths.split, with_test=True)
    run = TrainedRun(cfg, paths, device)
    if not any(p[1] == float(cfg.eval.snr_db) for p in run.adversaries):
        raise RuntimeError(f"evaluate-fading: no attacker trained at the evaluation SNR {cfg.eval.snr_db:g} dB")
    rows, samples = [], []
    points = [(seed, t, snr) for seed in cfg.eval.seeds for t in cfg.fading.t_grid for snr in cfg.fading.snr_db]
    for seed, t, snr in tqdm(points, desc=f"fading {paths.dataset}", mininterval=5):
        r, s = fading_point(cfg, paths.dataset, split, run, int(t), float(snr), int(seed), device)
        rows += r
        samples += s
        print(f"fading {paths.dataset} t={t} snr={snr:g} seed={seed}: " + "; ".join(
            f"{'csit' if c else 'no csit'}: " + ", ".join(f"{x['system'] if x['role'] == 'receiver' else x['role']} {x['accuracy']:.3f}"
                                                           for x in r if x["csit"] == c) for c in cfg.fading.csit), flush=True)
    df = pd.DataFrame(rows, columns=COLUMNS)
    with atomic_path(paths.predictions("fading")) as tmp:
        pd.DataFrame(samples).to_csv(tmp, index=False, compression="gzip")
    with atomic_path(paths.eval_part("fading")) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    from .figures import fading_figure

    fading_figure(df, paths.eval_part("fading").with_suffix(".png"), cfg.entry.title or paths.dataset)
    return df
