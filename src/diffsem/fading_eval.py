"""`diffsem evaluate-fading`: the trained systems on a Rayleigh block-fading link (issue #15; §37): those
trained on AWGN, or under ``channel.kind: rayleigh`` on this very link (§39).

Every image of a point is sent once; the receiver and the eavesdropper fade independently (one complex
gain each per feature vector, ``fading.rayleigh_channel``) and each knows its own gain. Both zero-force
and map each sample's noise level to a diffusion step, as on AWGN but per sample:

* the **receivers** (classifier, classifier-ft, DiffSem, E-DiffSem) run at the step the sample's noise
  matches (``fading.match_steps``), grouped by step;
* the **eavesdropper** puts each sample on the attacker point (T_a, eval SNR) whose training input had
  the nearest ESNR, scales it onto that point's signal level and applies that point's inversion network
  (judged by the strong classifier) and, where trained, its semantic attacker — networks trained on AWGN —
  and, stronger, attackers trained on faded queries at that very point and CSI variant
  (``train_fading_attackers``, on the adversary's split, reading the eavesdropper's LMMSE estimate of f0,
  whose amplitude carries each sample's noise level): the semantic attacker's network and recipe (role
  ``fading_semantic``) and the paper's inversion network and recipe, judged by the strong classifier (role
  ``fading_attacker``); checkpoints models/<ds>/seed<k>/{semantic,inversion}_fading[_csit].pt, internal
  to the stage.

Direct and Permutation (``--system direct|permutation``) send the (permuted) image itself: power-normalised,
self-noised to T' as on AWGN (``baselines.direct_point``; with or without the legitimate link's CSI at the
transmitter), over the same fading model; the eavesdropper zero-forces with its own gain, restores the
image's scale as ``direct_point`` does, and its strong classifier (trained on directly noised images at
every level, Alg. 1 line 15; the Permutation's own for Permutation) reads it. They have no receiver rows.

IBAL and IBAL-D (``--system ibal|ibal-d``) send their features over the same fading model at the mean SNR
equivalent to the grid point (``baselines.effective_snr_db``, as on AWGN); IBAL-D's classifier takes each
sample's instantaneous SNR (it is channel-adaptive), IBAL's none; their eavesdropper puts each sample on
the attacker point whose equivalent SNR is nearest its own instantaneous SNR. They have no self-noising,
so transmitter CSI does not apply to them (rows with ``csit`` False only).

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
from .evaluate import RECEIVERS, image_metrics, point_seed, prediction_rows, receivers_predict
from .fading import lmmse_scale, match_steps, rayleigh_channel, rayleigh_gains, self_noise_variance_csit, zf_noise_variance
from .io import atomic_path, load_checkpoint, save_checkpoint
from .runtime import generator
from .self_noising import noise_variance_table, received_noise_variance
from .stages import SEED, Paths

# mean_step / share_at_t: the mean diffusion step the point's samples started from and the share at T' itself;
# in eval/fading.csv the receivers' steps (repeated on its attacker rows), in eval/fading_diffusion.csv the
# diffusion-prior eavesdropper's own (decisions §44), NaN where nothing denoises
COLUMNS = ["dataset", "system", "role", "t", "snr_db", "csit", "seed", "accuracy", "ssim", "psnr", "n_eval",
           "mean_step", "share_at_t"]


def faded_send(sched, f0: torch.Tensor, rows, t: int, snr: float, csit: bool, g, v_nominal: float):
    """One fading transmission of the unit-power ``f0[rows]`` self-noised to T' at mean SNR ``snr`` (schedule
    ``sched``): (z_rx, inst_rx, z_eve, inst_eve, v per sample). The legitimate gain is drawn first (the
    transmitter adapts to it under CSIT), then the eavesdropper's."""
    abar = float(sched.alpha_bar[t])
    f = f0[rows]
    n = f.shape[0]
    h_rx, h_eve = rayleigh_gains(n, g, f.device), rayleigh_gains(n, g, f.device)
    inst = float(10 ** (snr / 10)) * h_rx.abs().pow(2).double()
    v = self_noise_variance_csit(sched, t, inst.cpu()) if csit else torch.full((n,), v_nominal, dtype=torch.float64)
    eps = torch.randn(f.shape, generator=g, device=f.device, dtype=f.dtype)
    z = abar**0.5 * f + v.to(device=f.device, dtype=f.dtype).view(-1, *([1] * (f.dim() - 1))).sqrt() * eps
    z_rx, inst_rx = rayleigh_channel(z, snr, g, h_rx)
    z_eve, inst_eve = rayleigh_channel(z, snr, g, h_eve)
    return z_rx, inst_rx, z_eve, inst_eve, v


def fading_index(cfg: Config, split, t: int) -> torch.Tensor:
    """Test-set indices of a fading point's images: the AWGN grid's images at (T', eval SNR)."""
    return split.images(cfg.eval.test_part(t, float(cfg.eval.snr_db))).idx


def faded_batches(cfg: Config, split, link, t: int, snr: float, seed: int, device):
    """The images of one fading point (``fading_index``), each sent once: yields (x, y, {csit: ``faded_send``'s
    tuple}) per batch. Every CSI variant replays the batch's draws (gains, self-noise, channel noise), so
    the variants are paired; one definition of the point's draws, so that the receivers and every
    eavesdropper attack (``fading_point``, ``prior_attack.fading_point_prior``) see the same transmissions."""
    sched = link.schedule
    v_nominal = float(noise_variance_table(sched, snr, cfg.channel.quantize_t2)[t])
    g = generator(point_seed(seed, t, snr, SEED["fading"]), device)
    for b in fading_index(cfg, split, t).split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        f0 = link.features(x)
        rows_all = torch.arange(f0.shape[0], device=device)
        g_state = g.get_state()
        sent = {}
        for csit in cfg.fading.csit:
            g.set_state(g_state)
            sent[csit] = faded_send(sched, f0, rows_all, t, snr, csit, g, v_nominal)
        yield x, split.test_y[b], sent


def eve_estimate(z_eve: torch.Tensor, abar: float, v: torch.Tensor, inst_eve: torch.Tensor) -> torch.Tensor:
    """The fading-trained attacker's input: the eavesdropper's LMMSE estimate of f0 (``lmmse_scale``) from
    its zero-forced z_eve, its own instantaneous SNR and the self-noise level (decisions §37)."""
    noise = zf_noise_variance(abar, v.cpu(), inst_eve)
    return z_eve * lmmse_scale(abar, noise).to(device=z_eve.device, dtype=z_eve.dtype).view(-1, *([1] * (z_eve.dim() - 1)))


def fading_attacker_kind(csit: bool, attacker: str = "semantic") -> str:
    """Checkpoint kind (and curve name) of an attacker trained on faded queries: semantic|inversion."""
    return f"{attacker}_fading{'_csit' if csit else ''}"


def train_fading_attackers(cfg: Config, paths: Paths, device) -> None:
    """The attackers trained on faded queries (one per fading point, with and without CSIT), both reading
    ``eve_estimate`` on the adversary's split with the epoch chosen on its validation slice: the semantic
    attacker's network and recipe (``stages._feature_classifiers``) and the paper's inversion network and
    recipe (``attack.train_attackers``, Eq. 5; judged at evaluation by the run's strong classifier) at the
    T' of ``fading.inversion_t`` only (each network costs a stage-3 attacker point)."""
    from .attack import train_attackers
    from .pipeline import Link
    from .stages import _feature_classifiers, encode_all, load_jscc, schedule_of, write_attacker_curves
    from .validation import capped

    split = load_split(paths.split)
    n_val = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    enc, _ = load_jscc(paths, cfg, device)
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)
    points = [(int(t), float(snr)) for t in cfg.fading.t_grid for snr in cfg.fading.snr_db]
    for csit in cfg.fading.csit:
        def sender(x_uint8, csit=csit):
            f0 = encode_all(enc, x_uint8, device)

            def send(rows, t, snr, g):
                v_nom = float(noise_variance_table(link.schedule, snr, cfg.channel.quantize_t2)[t])
                _, _, z_eve, inst_eve, v = faded_send(link.schedule, f0, rows, t, snr, csit, g, v_nom)
                return eve_estimate(z_eve, float(link.schedule.alpha_bar[t]), v, inst_eve)
            return send

        kind = fading_attacker_kind(csit)
        _feature_classifiers(cfg, paths, device, kind, points, (split.adv_x, split.adv_y),
                             (split.adv_val_x[:n_val], split.adv_val_y[:n_val]), paths.model(kind),
                             fading_attacker_meta(cfg, paths.dataset, csit), sender, cfg.seed + SEED["fading"])
        kind = fading_attacker_kind(csit, "inversion")
        meta = fading_inversion_meta(cfg, paths.dataset, csit)
        inv_points = [p for p in points if p[0] in cfg.fading.inversion_t]
        models, _, curves = train_attackers(cfg.spec, sender(split.adv_x), split.adv_x, inv_points, cfg.adversary,
                                            cfg.seed + SEED["fading_inversion"], device, kind, paths.resume_dir, meta,
                                            sender(split.adv_val_x[:n_val]), split.adv_val_x[:n_val],
                                            warmup=cfg.fading.inversion_warmup)
        if curves:
            write_attacker_curves(paths.curve(kind), curves)
        else:  # `fading.inversion_t: []`: no network, so no curve (nor a stale one from another setting)
            paths.curve(kind).unlink(missing_ok=True)
        save_checkpoint(paths.model(kind), {"models": models}, kind, {"dataset": paths.dataset}, meta)


def fading_attacker_meta(cfg: Config, ds: str, csit: bool) -> dict:
    from .stages import semantic_meta

    # inversion_t and inversion_warmup say where and how the inversion attacker trains: not the semantic one
    fading = {k: v for k, v in cfg.section("fading").items() if k not in ("inversion_t", "inversion_warmup")}
    return {**semantic_meta(cfg, ds, "diffsem"), "fading": fading, "csit": bool(csit)}


def fading_inversion_meta(cfg: Config, ds: str, csit: bool) -> dict:
    from .stages import adversary_config

    return {**adversary_config(cfg, ds), "fading": cfg.section("fading"), "csit": bool(csit)}


def load_fading_attackers(cfg: Config, paths: Paths, device) -> dict[bool, dict[str, dict]]:
    """{csit: {"semantic" | "inversion": {(t, snr): network}}} (``train_fading_attackers``)."""
    from .stages import _load_feature_classifiers, per_point_models

    out = {}
    for csit in cfg.fading.csit:
        sem, inv = fading_attacker_kind(csit), fading_attacker_kind(csit, "inversion")
        state = load_checkpoint(paths.model(inv), inv, {"dataset": paths.dataset}, fading_inversion_meta(cfg, paths.dataset, csit))
        out[csit] = {"semantic": _load_feature_classifiers(paths, cfg, paths.model(sem), sem,
                                                           fading_attacker_meta(cfg, paths.dataset, csit), device),
                     "inversion": per_point_models(state["models"], cfg.spec.adversary, paths.model(inv), device)}
    return out


def attacker_esnr(cfg: Config, schedule, points) -> dict[tuple[int, float], float]:
    """log ESNR of what each attacker point's network was trained on: abar_Ta over the noise it received."""
    return {p: math.log(float(schedule.alpha_bar[p[0]]) / received_noise_variance(schedule, p[0], p[1], cfg.channel.quantize_t2))
            for p in points}


NO_STEP = {"mean_step": math.nan, "share_at_t": math.nan}  # systems without a diffusion receiver


def step_columns(steps: torch.Tensor, t: int) -> dict[str, float]:
    """The ``mean_step`` / ``share_at_t`` columns of a point whose samples started denoising at ``steps``
    (Eq. 24 per sample, ``fading.match_steps``): their mean and the share that started at T' = ``t``."""
    return {"mean_step": float(steps.double().mean()), "share_at_t": float((steps == t).double().mean())}


def point_rows(ds: str, system: str, role: str, t: int, snr: float, csit: bool, seed: int, pred: torch.Tensor,
               y: torch.Tensor, index: list, image: tuple[float, float] | None = None,
               extra: dict = NO_STEP) -> tuple[dict, list[dict]]:
    """One row of eval/fading*.csv and its per-sample predictions; ``image``: the (SSIM, PSNR) of what the
    attacker reconstructed or saw (the inversion attacker's and the image baselines' rows only)."""
    ssim, psnr = image if image is not None else (math.nan, math.nan)
    row = {"dataset": ds, "system": system, "role": role, "t": t, "snr_db": snr, "csit": bool(csit), "seed": seed,
           "accuracy": float((pred == y).double().mean()), "ssim": ssim, "psnr": psnr, "n_eval": len(index), **extra}
    samples = [{**r, "csit": bool(csit)} for r in prediction_rows(ds, system, role, t, snr, seed, index, y.tolist(), pred.tolist())]
    return row, samples


def point_table(ds: str, t: int, snr: float, csit: bool, seed: int, y: torch.Tensor, index: list,
                preds: dict[tuple[str, str], list], image: dict[str, tuple[float, float]],
                extra: dict = NO_STEP) -> tuple[list[dict], list[dict]]:
    """``point_rows`` for every (system, role) of ``preds`` that has predictions (per-batch tensors), with
    ``image[role]`` as that role's (SSIM, PSNR) where given."""
    rows, samples = [], []
    for (system, role), batches in preds.items():
        if batches:
            r, smp = point_rows(ds, system, role, t, snr, csit, seed, torch.cat(batches), y, index, image.get(role), extra)
            rows.append(r)
            samples += smp
    return rows, samples


def mean_image(ssims: list, psnrs: list) -> tuple[float, float]:
    """Mean SSIM and PSNR over a point's batches (``evaluate.image_metrics`` per batch)."""
    return float(np.concatenate(ssims).mean()), float(np.concatenate(psnrs).mean())


@torch.no_grad()
def fading_point(cfg: Config, ds: str, split, run, t: int, snr: float, seed: int, device,
                 faded: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Every receiver and attacker at one (T', mean SNR), without and with transmitter CSI; ``faded``:
    {csit: {(t, snr): the semantic attacker trained on faded queries}} (``train_fading_attackers``)."""
    link, rx, sched = run.link, run.receivers, run.link.schedule
    abar = float(sched.alpha_bar[t])
    pts = sorted(p for p in run.adversaries if p[1] == float(cfg.eval.snr_db))
    esnr = attacker_esnr(cfg, sched, pts)
    keys, logs = list(esnr), torch.tensor(list(esnr.values()), dtype=torch.float64)
    semantic = run.semantic if run.paths.semantic.is_file() else {}
    out = {c: {k: [] for k in (*RECEIVERS, "inversion", "semantic", "fading_inversion", "fading_semantic", "ssim", "psnr",
                               "ssim_f", "psnr_f", "step")}
           for c in cfg.fading.csit}
    labels = []
    for x, y, sent in faded_batches(cfg, split, link, t, snr, seed, device):
        labels.append(y)
        n = x.shape[0]
        for csit, (z_rx, inst_rx, z_eve, inst_eve, v) in sent.items():
            o = out[csit]
            # receivers: each sample on the step its noise matches, grouped by step
            steps, scales = match_steps(sched, t, zf_noise_variance(abar, v, inst_rx))
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
            noise_eve = zf_noise_variance(abar, v, inst_eve)
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
            if faded is not None:  # the attackers trained on faded queries at this very point
                est = eve_estimate(z_eve, abar, v, inst_eve)
                o["fading_semantic"].append(faded[csit]["semantic"][(t, float(snr))](est).argmax(1).cpu())
                inv_f = faded[csit]["inversion"].get((t, float(snr)))  # trained at fading.inversion_t only
                if inv_f is not None:
                    x_f = inv_f(est).clamp(0, 1)
                    o["fading_inversion"].append(run.strong(x_f).argmax(1).cpu())
                    s_, p_ = image_metrics(x.cpu().numpy(), x_f.cpu().numpy())
                    o["ssim_f"].append(s_)
                    o["psnr_f"].append(p_)
            s_, p_ = image_metrics(x.cpu().numpy(), x_hat.cpu().numpy())
            o["ssim"].append(s_)
            o["psnr"].append(p_)
    y_all = torch.cat(labels)
    index = fading_index(cfg, split, t).tolist()
    rows, samples = [], []
    for csit, o in out.items():
        steps = torch.cat(o["step"])
        extra = step_columns(steps, t)
        image = {"attacker": mean_image(o["ssim"], o["psnr"])}
        if o["ssim_f"]:
            image["fading_attacker"] = mean_image(o["ssim_f"], o["psnr_f"])
        preds = {**{(s, "receiver"): o[s] for s in RECEIVERS}, ("diffsem", "attacker"): o["inversion"],
                 ("diffsem", "semantic"): o["semantic"], ("diffsem", "fading_attacker"): o["fading_inversion"],
                 ("diffsem", "fading_semantic"): o["fading_semantic"]}
        r, smp = point_table(ds, t, snr, csit, seed, y_all, index, preds, image, extra)
        rows += r
        samples += smp
    return rows, samples


@torch.no_grad()
def fading_point_ibal(cfg: Config, ds: str, split, system: str, parts: dict, t: int, snr: float, seed: int,
                      device) -> tuple[list[dict], list[dict]]:
    """IBAL / IBAL-D at one (T', mean SNR): its receiver and its attackers (module docstring)."""
    from .baselines import effective_snr_db, ibal_features, theta_snr_input

    sched = parts["schedule"]
    s_eq = effective_snr_db(sched, t, snr)
    pts = sorted(parts["adversaries"])  # (t, snr) points of the attacker on this transmitter
    eq_db = torch.tensor([effective_snr_db(sched, a, b) for a, b in pts], dtype=torch.float64)
    idx = split.images(cfg.eval.test_part(t, float(cfg.eval.snr_db))).idx
    g = generator(point_seed(seed, t, snr, SEED["fading"]), device)
    preds = {k: [] for k in ("receiver", "attacker", "semantic", "ssim", "psnr")}
    labels = []
    for b in idx.split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        labels.append(split.test_y[b])
        f = ibal_features(parts["tx"], x)
        n = f.shape[0]
        h_rx, h_eve = rayleigh_gains(n, g, device), rayleigh_gains(n, g, device)
        z_rx, inst_rx = rayleigh_channel(f, s_eq, g, h_rx)
        z_eve, inst_eve = rayleigh_channel(f, s_eq, g, h_eve)
        # IBAL-D reads its SNR estimate, clamped to the range its input encodes (baselines.snr_input)
        tt = theta_snr_input(system, cfg.baselines.ibal_variant, (10 * torch.log10(inst_rx)).clamp(-20, 40).to(f.dtype), n, f)
        preds["receiver"].append(parts["classifier"](z_rx, z_rx, tt).argmax(1).cpu())
        pick = (eq_db.view(1, -1) - 10 * torch.log10(inst_eve.double().cpu()).view(-1, 1)).abs().argmin(1)
        att, sem, x_hat = torch.empty(n, dtype=torch.long), torch.empty(n, dtype=torch.long), torch.empty_like(x)
        for j in pick.unique().tolist():
            m = pick == j
            md = m.to(device)
            x_hat[md] = parts["adversaries"][pts[j]](z_eve[md]).clamp(0, 1)
            att[m] = parts["strong"](x_hat[md]).argmax(1).cpu()
            if pts[j] in parts["semantic"]:
                sem[m] = parts["semantic"][pts[j]](z_eve[md]).argmax(1).cpu()
        preds["attacker"].append(att)
        if parts["semantic"]:
            preds["semantic"].append(sem)
        s_, p_ = image_metrics(x.cpu().numpy(), x_hat.cpu().numpy())
        preds["ssim"].append(s_)
        preds["psnr"].append(p_)
    return point_table(ds, t, snr, False, seed, torch.cat(labels), idx.tolist(),
                       {(system, role): preds[role] for role in ("receiver", "attacker", "semantic")},
                       {"attacker": mean_image(preds["ssim"], preds["psnr"])})


@torch.no_grad()
def fading_point_image(cfg: Config, ds: str, split, system: str, parts: dict, t: int, snr: float, seed: int,
                       device) -> tuple[list[dict], list[dict]]:
    """Direct / Permutation at one (T', mean SNR), without and with transmitter CSI (module docstring): the
    strong classifier's accuracy on what the eavesdropper sees, and that image's SSIM/PSNR against x."""
    from .baselines import permute_quadrants
    from .channel import per_sample_power

    sched = parts["schedule"]
    v_nominal = float(noise_variance_table(sched, snr, cfg.channel.quantize_t2)[t])
    idx = split.images(cfg.eval.test_part(t, float(cfg.eval.snr_db))).idx
    g = generator(point_seed(seed, t, snr, SEED["fading"]), device)
    out = {c: {"pred": [], "ssim": [], "psnr": []} for c in cfg.fading.csit}
    labels = []
    for b in idx.split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        labels.append(split.test_y[b])
        sent = permute_quadrants(x) if system == "permutation" else x
        # direct_point's convention: noise relative to the image's own power, the scale restored at the eavesdropper
        scale = per_sample_power(sent).clamp_min(1e-12).sqrt().view(-1, *([1] * (x.dim() - 1)))
        g_state = g.get_state()
        for csit in cfg.fading.csit:  # both variants replay the batch's draws: paired
            g.set_state(g_state)
            _, _, z_eve, _, _ = faded_send(sched, sent / scale, torch.arange(x.shape[0], device=device), t, snr, csit, g,
                                           v_nominal)
            seen = z_eve * scale
            out[csit]["pred"].append(parts["strong"](seen).argmax(1).cpu())
            s_, p_ = image_metrics(x.cpu().numpy(), seen.cpu().numpy())
            out[csit]["ssim"].append(s_)
            out[csit]["psnr"].append(p_)
    y_all, index = torch.cat(labels), idx.tolist()
    rows, samples = [], []
    for csit, o in out.items():
        r, smp = point_table(ds, t, snr, csit, seed, y_all, index, {(system, "attacker"): o["pred"]},
                             {"attacker": mean_image(o["ssim"], o["psnr"])})
        rows += r
        samples += smp
    return rows, samples


def _ibal_parts(cfg: Config, paths: Paths, system: str, device) -> dict:
    from .baseline_stages import load_ibal, load_ibal_attack
    from .stages import load_semantic, schedule_of

    tx, clf = load_ibal(paths, cfg, system, device)
    strong, advs = load_ibal_attack(paths, cfg, system, device)
    advs = {(int(k.split("@")[0]), float(k.split("@")[1])): net for k, net in advs.items()}
    semantic = load_semantic(paths, cfg, device, system) if paths.semantic_of(system).is_file() else {}
    return {"schedule": schedule_of(cfg), "tx": tx, "classifier": clf, "strong": strong, "adversaries": advs,
            "semantic": semantic}


def fading_part(system: str) -> str:
    """The eval part a system's fading rows go to: eval/fading.csv (DiffSem), eval/fading_<system>.csv."""
    return "fading" if system == "diffsem" else f"fading_{system}"


def require_even_k(cfg: Config, ds: str, stage: str) -> None:
    """Refuse, before any training, features that cannot be paired into complex symbols."""
    if cfg.spec.k % 2:
        raise ValueError(f"{stage}: {ds}'s features have k = {cfg.spec.k} elements; fading pairs them "
                         "into complex symbols and needs an even k")


def stage_evaluate_fading(cfg: Config, paths: Paths, device, system: str = "diffsem") -> pd.DataFrame:
    """The fading grid (``fading.snr_db`` x ``fading.t_grid``; DiffSem with and without CSIT) for every
    evaluation seed -> eval/<fading part>.csv and its per-sample predictions."""
    from tqdm import tqdm

    require_even_k(cfg, paths.dataset, "evaluate-fading")
    split = load_split(paths.split, with_test=True)
    if system == "diffsem":
        from .trained import TrainedRun

        run = TrainedRun(cfg, paths, device)
        if not any(p[1] == float(cfg.eval.snr_db) for p in run.adversaries):
            raise RuntimeError(f"evaluate-fading: no attacker trained at the evaluation SNR {cfg.eval.snr_db:g} dB")
        train_fading_attackers(cfg, paths, device)
        faded = load_fading_attackers(cfg, paths, device)
        score = lambda t, snr, seed: fading_point(cfg, paths.dataset, split, run, t, snr, seed, device, faded)  # noqa: E731
    elif system in ("direct", "permutation"):
        from .baseline_stages import load_image_attacker
        from .stages import schedule_of

        parts = {"schedule": schedule_of(cfg), "strong": load_image_attacker(cfg, paths, system, device)}
        score = lambda t, snr, seed: fading_point_image(cfg, paths.dataset, split, system, parts, t, snr, seed, device)  # noqa: E731
    else:
        parts = _ibal_parts(cfg, paths, system, device)
        score = lambda t, snr, seed: fading_point_ibal(cfg, paths.dataset, split, system, parts, t, snr, seed, device)  # noqa: E731
    rows, samples = [], []
    points = [(seed, t, snr) for seed in cfg.eval.seeds for t in cfg.fading.t_grid for snr in cfg.fading.snr_db]
    for seed, t, snr in tqdm(points, desc=f"fading {paths.dataset} {system}", mininterval=5):
        r, s = score(int(t), float(snr), int(seed))
        rows += r
        samples += s
        print(f"fading {paths.dataset} t={t} snr={snr:g} seed={seed}: " + "; ".join(
            f"{'csit' if c else 'no csit'}: " + ", ".join(f"{x['system'] if x['role'] == 'receiver' else x['role']} {x['accuracy']:.3f}"
                                                           for x in r if x["csit"] == c) for c in cfg.fading.csit), flush=True)
    return write_fading_part(paths, fading_part(system), rows, samples)


def write_fading_part(paths: Paths, part: str, rows: list[dict], samples: list[dict]) -> pd.DataFrame:
    """eval/<part>.csv (``COLUMNS``) and its per-sample predictions (eval/<part>_predictions.csv.gz)."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    with atomic_path(paths.predictions(part)) as tmp:
        pd.DataFrame(samples).to_csv(tmp, index=False, compression="gzip")
    with atomic_path(paths.eval_part(part)) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df


def across_seeds(runs: dict[int, list[pd.DataFrame]]) -> pd.DataFrame:
    """Fading rows of several training seeds ({training seed: its eval/fading*.csv frames}; a frame's own
    ``seed`` column is the evaluation seed, averaged here) -> per (system, t, mean SNR, csit): the
    receiver's accuracy, the strongest attacker's (the best of the transmitter's attacker roles in each training
    seed: inversion, semantic, those trained on faded queries, the diffusion prior) and their gap, each as mean and Student-t 95 % half-width over training seeds (``stats.seed_ci``).
    Systems with no receiver (Direct, Permutation) get their attacker only (receiver and gap NaN)."""
    from .stats import seed_ci

    df = pd.concat([f.assign(train_seed=k) for k, frames in runs.items() for f in frames], ignore_index=True)
    keys = ["system", "t", "snr_db", "csit", "train_seed"]
    per = df.groupby([*keys, "role"]).accuracy.mean().reset_index()  # over evaluation seeds
    att = per[per.role != "receiver"].groupby(keys).accuracy.max()
    rows = []
    # Direct and Permutation have an eavesdropper but no receiver: their rows carry the attacker alone
    rx_rows = per[per.role == "receiver"]
    owners = set(rx_rows.system.map(lambda s: "diffsem" if s in RECEIVERS else s))
    alone = per[(per.role != "receiver") & ~per.system.isin(owners)].groupby(keys).accuracy.max().reset_index()
    groups = [*rx_rows.groupby(["system", "t", "snr_db", "csit"]),
              *((k, g.assign(accuracy=np.nan)) for k, g in alone.groupby(["system", "t", "snr_db", "csit"]))]
    for (system, t, snr, csit), g in groups:
        owner = "diffsem" if system in RECEIVERS else system  # DiffSem's receivers share its transmitter
        a = att.reindex([(owner, t, snr, csit, s) for s in g.train_seed]).to_numpy()
        rx = g.accuracy.to_numpy()
        out = {"system": system, "t": int(t), "snr_db": float(snr), "csit": bool(csit)}
        for name, v in (("receiver", rx), ("attacker", a), ("gap", rx - a)):
            m, h, _ = seed_ci(v[~np.isnan(v)])
            out |= {name: m, f"{name}_ci": h}
        out["seeds"] = int((~np.isnan(a)).sum())
        rows.append(out)
    return pd.DataFrame(rows)


def fading_pairs(pred: pd.DataFrame) -> list[tuple[str, str]]:
    """The (A, B) columns (``stats.compare``) tested on one seed's fading predictions, whose system is
    tagged ``+csit`` for the CSIT variant: E-DiffSem with against without CSIT and against each of the
    eavesdropper's attackers; IBAL's and IBAL-D's receivers against their attackers; Direct's and
    Permutation's eavesdropper with against without CSIT, and E-DiffSem against it.  Pairs whose columns a
    run lacks are skipped by ``compare``."""
    roles = ["attacker", "semantic", "fading_attacker", "fading_semantic", "diffusion"]
    roles = [r for r in roles if (pred.role == r).any()]  # older runs lack the fading-trained inversion and the prior
    csit = ("", "+csit")
    pairs = [("e-diffsem+csit", "e-diffsem"), *((f"e-diffsem{c}", f"diffsem{c}:{r}") for c in csit for r in roles)]
    for s in ("ibal", "ibal-d"):  # evaluated without a CSIT variant (decisions §37)
        pairs += [(s, f"{s}:{r}") for r in ("attacker", "semantic")]
    for s in ("direct", "permutation"):  # no receiver: the eavesdropper alone
        pairs += [(f"{s}+csit:attacker", f"{s}:attacker"), *((f"e-diffsem{c}", f"{s}{c}:attacker") for c in csit)]
    return pairs


def headline_gaps(c: pd.DataFrame) -> pd.DataFrame:
    """The fading table's summary rows from one seed's paired tests (``stats.compare`` over
    ``fading_pairs``): per (T', mean SNR), E-DiffSem with against without CSIT, E-DiffSem (and IBAL, IBAL-D)
    against the *strongest* of the eavesdropper's attackers — the pair with the smallest difference, so the
    receiver is judged against the best attack tried at that point — and Direct's and Permutation's
    eavesdroppers with against without CSIT and against E-DiffSem.  Columns: ``row`` (its label), t, snr_db,
    and the chosen pair's a, b, acc_a, acc_b, diff, p_holm (over the whole paired table)."""
    groups = [("E-DiffSem: CSIT − no CSIT", lambda a, b: (a, b) == ("e-diffsem+csit", "e-diffsem"))]
    for c_, name in (("", "no CSIT"), ("+csit", "CSIT")):
        groups.append((f"E-DiffSem − strongest attacker, {name}",
                       lambda a, b, c_=c_: a == f"e-diffsem{c_}" and b.startswith(f"diffsem{c_}:")))
    for s, name in (("ibal", "IBAL"), ("ibal-d", "IBAL-D")):
        groups.append((f"{name} − its strongest attacker", lambda a, b, s=s: a == s and b.startswith(f"{s}:")))
    for s, name in (("direct", "Direct"), ("permutation", "Permutation")):
        groups.append((f"{name}'s eavesdropper: CSIT − no CSIT",
                       lambda a, b, s=s: (a, b) == (f"{s}+csit:attacker", f"{s}:attacker")))
        for c_, cname in (("", "no CSIT"), ("+csit", "CSIT")):
            groups.append((f"E-DiffSem − {name}'s eavesdropper, {cname}",
                           lambda a, b, s=s, c_=c_: (a, b) == (f"e-diffsem{c_}", f"{s}{c_}:attacker")))
    cols = ["t", "snr_db", "a", "b", "acc_a", "acc_b", "diff", "p_holm"]
    out = []
    for label, member in groups:
        sel = c[[member(a, b) for a, b in zip(c.a, c.b)]]
        if sel.empty:
            continue
        # several evaluation seeds are separate rows of one point: the smallest difference, the conservative one
        best = sel.loc[sel.groupby(["t", "snr_db"])["diff"].idxmin(), cols]
        out.append(best.assign(row=label))
    if not out:
        return pd.DataFrame(columns=["row", *cols])
    return pd.concat(out, ignore_index=True)[["row", *cols]]
