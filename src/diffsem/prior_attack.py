"""The diffusion-prior attacker (issue #13 item 2; docs/decisions.md §32): the paper's receiver-side
tool in the eavesdropper's hands.

The eavesdropper cannot observe the clean features f0 of its chosen plaintexts — only what the
transmitter sends at its operating point, through the eavesdropper's channel.  Because the
self-noise and the channel noise are fresh on every transmission, it queries each of its images
``K`` times at the cleanest headline point and averages; mapped to that point's diffusion step
(Eqs. 17-24 and the public schedule: ``Link.receive_step``), the average estimates f0 with noise
variance (1 - abar) / (K abar).  It trains its own unconditional U-Net (Table III family, the
receiver's width and recipe, Eq. 15) on those estimates, with the epoch chosen on the same estimates
of its validation slice; at each headline point it denoises what it overhears with DDIM from the
matched step (Eq. 16, the receiver's step count) and inverts the denoised features with an inversion
network trained on its own queries (Eq. 5).  The run's strong classifier judges the reconstruction.

Rows go to metrics.csv with ``attack = diffusion`` (system ``diffsem``) at the headline points, and
per-sample predictions with role ``diffusion`` pair them with the receivers.

The same attacker also listens on the Rayleigh block-fading link of ``evaluate-fading`` (issue #15;
decisions §44): on the very transmissions the receivers and the other eavesdropper attacks see
(``fading_eval.faded_batches``), it zero-forces with its own gain, puts each sample on the diffusion step
its noise matches (``fading.match_steps``, as the receivers do; it knows its noise level as the
faded-query attackers do, §37; unlike the receivers it may start before T' where its own fade is
milder than the one the transmitter compensated), denoises from there and inverts with the network whose
training inputs were denoised from the nearest step. Rows go to eval/fading_diffusion.csv with role
``diffusion``.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F

from .config import Config
from .data import load_split
from .evaluate import image_metrics
from .fading import match_steps, zf_noise_variance
from .fading_eval import (faded_batches, fading_index, mean_image, point_table, require_even_k, step_columns,
                          write_fading_part)
from .pipeline import denoise
from .validation import eps_mse


@torch.no_grad()
def averaged_estimate(link, f0: torch.Tensor, t: int, snr: float, k: int, g: torch.Generator) -> torch.Tensor:
    """The eavesdropper's estimate of f0: K observations at (t, snr), each matched to its diffusion step
    (scale s, step t*), averaged and divided by sqrt(abar_t*) (unbiased: E[s z_hat] = sqrt(abar_t*) f0)."""
    t_start, scale = link.receive_step(t, snr)
    acc = torch.zeros_like(f0)
    for _ in range(k):
        acc += link.channel(link.transmit(f0, t, snr, g), snr, g) * scale
    return acc / k / math.sqrt(float(link.schedule.alpha_bar[t_start]))


def prior_unet_config(cfg: Config, ds: str) -> dict:
    """What the eavesdropper's U-Net depends on: its estimates (transmitter, queries) and its recipe."""
    from .stages import jscc_config, unet_arch

    return {"jscc": jscc_config(cfg, ds), "arch": unet_arch(cfg, ds, "uncond"), "diffusion": cfg.section("diffusion"),
            "queries_per_image": cfg.attack_study.prior_queries}


def prior_config(cfg: Config, ds: str) -> dict:
    """What its inversion networks depend on: the U-Net, the DDIM steps that denoise their inputs, their recipe."""
    return {**prior_unet_config(cfg, ds), "adversary": cfg.section("adversary"), "sampler": cfg.section("sampler")}


def stage_prior_attack(cfg: Config, paths, device) -> pd.DataFrame:
    """Train the eavesdropper's denoiser and inversion networks (adversary split only), score them at
    the headline points on the receivers' images and draws, and on ``evaluate-fading``'s grid
    (``fading_point_prior``); writes eval/diffusion.csv, eval/fading_diffusion.csv and their
    per-sample predictions, and the denoiser's learning curve (curves/prior_unet.csv)."""
    from .attack import train_attackers
    from .evaluate import attacker_result, transmissions, write_attacker_part
    from .pipeline import Link
    from .runtime import generator
    from .stages import (SEED, build_unet, encode_all, forward_noised, headline_points, load_jscc, load_strong, point_key,
                         schedule_of, unet_arch)
    from .training import Validation, fit, make_optimizer
    from .validation import capped, write_curve

    require_even_k(cfg, paths.dataset, "attack-prior")  # its fading rows need complex symbols: refuse before training
    spec = cfg.spec
    split = load_split(paths.split, with_test=True)
    enc, _ = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    strong = load_strong(paths, cfg, device)
    points = headline_points(cfg)
    seed = cfg.seed + SEED["prior"]
    meta = prior_config(cfg, paths.dataset)
    g = generator(seed, device)
    f_adv = encode_all(enc, split.adv_x, device)
    n_val = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    f_val = encode_all(enc, split.adv_val_x[:n_val], device)
    t_q, snr_q = min(points)  # the cleanest headline point: the best estimates of f0
    k = cfg.attack_study.prior_queries
    est = torch.cat([averaged_estimate(link, f_adv[i : i + 4096], t_q, snr_q, k, g) for i in range(0, len(f_adv), 4096)])
    est_val = averaged_estimate(link, f_val, t_q, snr_q, k, g)

    # the eavesdropper's U-Net: the receiver's architecture and recipe (Eq. 15) on its estimates
    ab = sched.alpha_bar.to(device=device, dtype=torch.float32)
    T = cfg.schedule.T
    torch.manual_seed(seed)
    unet = build_unet(unet_arch(cfg, paths.dataset, "uncond")).to(device)
    gs, gd = generator(seed), generator(seed + 1, device)

    def step(idx):
        f_t, t, eps = forward_noised(est[idx.to(device)], ab, T, gd)
        return F.mse_loss(unet(f_t, t), eps)  # Eq. 15

    opt, lrs = make_optimizer(unet.parameters(), cfg.diffusion.lr)
    # its resume state records only what the U-Net depends on, so a larger adversary cap leaves it trained
    res = fit("prior-unet", {"model": unet}, opt, lrs, cfg.diffusion.epochs, est.shape[0], cfg.diffusion.batch_size, gs,
              step, paths.resume("prior_unet"), prior_unet_config(cfg, paths.dataset), (gd,),
              validation=Validation(lambda: eps_mse(unet, est_val, ab, T), "eps_mse", "min", cfg.diffusion.patience))
    write_curve(paths.curve("prior_unet"), res.curve)
    unet.eval()

    from .cuda_graph import GraphCache
    from .runtime import cuda_graphs_enabled

    graphs = GraphCache() if cuda_graphs_enabled() else None  # its DDIM loops, replayed on a GPU (§36)
    rows, samples, nets = [], [], {}
    for t, snr in points:
        t_start, scale = link.receive_step(t, snr)

        def sender(f0, t=t, snr=snr, t_start=t_start, scale=scale):
            def send(r, t_, snr_, g_):  # what it overhears, denoised by its own prior
                with torch.no_grad():
                    z = link.channel(link.transmit(f0[r], t, snr, g_), snr, g_)
                    return denoise(unet, z, sched, t_start, scale, cfg.sampler.max_steps, precision=cfg.sampler.precision,
                                   graphs=graphs)
            return send

        states, _, curves = train_attackers(spec, sender(f_adv), split.adv_x, [(t, snr)], cfg.adversary, seed, device,
                                            "prior_inversion", paths.resume_dir, meta, sender(f_val),
                                            split.adv_val_x[:n_val])  # a larger adversary cap continues them
        adv = spec.adversary().to(device)
        adv.load_state_dict(states[point_key(t, snr)])
        adv.eval()
        nets[(t, snr)] = adv
        for eval_seed in cfg.eval.seeds:
            idx = split.images(cfg.eval.test_part(t, snr)).idx
            pred, labels = [], []
            with torch.no_grad():
                for _, y, _, z_eve in transmissions(cfg, split, link, t, snr, eval_seed, device):
                    f_hat = denoise(unet, z_eve, sched, t_start, scale, cfg.sampler.max_steps,
                                    precision=cfg.sampler.precision, graphs=graphs)
                    pred.append(strong(adv(f_hat).clamp(0, 1)).argmax(1).cpu())
                    labels.append(y.cpu())
            row, per_sample = attacker_result(paths.dataset, "diffusion", t, snr, eval_seed, idx.tolist(),
                                              torch.cat(labels), torch.cat(pred))
            rows.append(row)
            samples += per_sample
            print(f"prior-attack {paths.dataset} t={t} snr={snr:g} seed={eval_seed}: {row['attacker_acc']:.4f}", flush=True)
    df = write_attacker_part(paths, "diffusion", rows, samples)
    fading_rows, fading_samples = [], []
    for seed_, t, snr in [(s_, int(t), float(snr)) for s_ in cfg.eval.seeds for t in cfg.fading.t_grid
                          for snr in cfg.fading.snr_db]:
        r, smp = fading_point_prior(cfg, paths.dataset, split, link, unet, nets, strong, t, snr, seed_, device, graphs)
        fading_rows += r
        fading_samples += smp
        print(f"prior-attack fading {paths.dataset} t={t} snr={snr:g} seed={seed_}: "
              + ", ".join(f"{'csit' if x['csit'] else 'no csit'} {x['accuracy']:.4f}" for x in r), flush=True)
    write_fading_part(paths, FADING_PART, fading_rows, fading_samples)
    return df


FADING_PART = "fading_diffusion"  # eval/fading_diffusion.csv: beside the other eavesdroppers' eval/fading*.csv


@torch.no_grad()
def fading_point_prior(cfg: Config, ds: str, split, link, unet, nets: dict, strong, t: int, snr: float, seed: int,
                       device, graphs=None) -> tuple[list[dict], list[dict]]:
    """The diffusion-prior attacker at one fading point (T', mean SNR), without and with transmitter CSI, on
    ``evaluate-fading``'s images and draws (``faded_batches``): each sample denoised by the eavesdropper's
    U-Net from the step its own zero-forced noise matches (``match_steps`` without the receivers' floor at
    T': where its fade is milder than the one the transmitter compensated, it starts earlier), inverted by
    the network of ``nets`` ({(t, snr): inversion net}) whose inputs were denoised from the nearest step,
    and judged by the strong classifier. Rows (role ``diffusion``) carry the reconstructions' SSIM/PSNR and
    the eavesdropper's mean start step and share of samples at T'."""
    sched = link.schedule
    abar = float(sched.alpha_bar[t])
    keys = sorted(nets)
    starts = torch.tensor([link.receive_step(ta, sa)[0] for ta, sa in keys], dtype=torch.long)
    out = {c: {"pred": [], "ssim": [], "psnr": [], "step": []} for c in cfg.fading.csit}
    labels = []
    for x, y, sent in faded_batches(cfg, split, link, t, snr, seed, device):
        labels.append(y)
        for csit, (_, _, z_eve, inst_eve, v) in sent.items():
            steps, scales = match_steps(sched, t, zf_noise_variance(abar, v, inst_eve), floor_at_t_prime=False)
            x_hat = torch.empty_like(x)
            for s in steps.unique().tolist():
                m = steps == s
                md = m.to(device)
                f_hat = denoise(unet, z_eve[md], sched, int(s), float(scales[m][0]), cfg.sampler.max_steps,
                                precision=cfg.sampler.precision, graphs=graphs)
                net = nets[keys[int((starts - int(s)).abs().argmin())]]
                x_hat[md] = net(f_hat).clamp(0, 1)
            o = out[csit]
            o["pred"].append(strong(x_hat).argmax(1).cpu())
            s_, p_ = image_metrics(x.cpu().numpy(), x_hat.cpu().numpy())
            o["ssim"].append(s_)
            o["psnr"].append(p_)
            o["step"].append(steps.double())
    y_all, index = torch.cat(labels), fading_index(cfg, split, t).tolist()
    rows, samples = [], []
    for csit, o in out.items():
        steps = torch.cat(o["step"])
        extra = step_columns(steps, t)
        r, smp = point_table(ds, t, snr, csit, seed, y_all, index, {("diffsem", "diffusion"): o["pred"]},
                             {"diffusion": mean_image(o["ssim"], o["psnr"])}, extra)
        rows += r
        samples += smp
    return rows, samples
