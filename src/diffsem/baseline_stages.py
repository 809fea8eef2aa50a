"""Pipeline stages of the baselines (docs/baselines.md): IBAL / IBAL-D training, their attackers and
strong classifiers, the Permutation strong classifier, and every baseline's evaluation rows."""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .attack import attacker_views, point_key, train_attackers, train_strong
from .baselines import (IBALTransmitter, awgn_each, direct_point, effective_snr_db, ibal_authors_loss, ibal_features, ibal_losses, ibal_send,
                        kl_anneal, permute_quadrants, privacy_weight, theta_snr_input)
from .channel import awgn, direct_noise
from .config import Config
from .data import load_split, to_float
from .evaluate import COLUMNS, attacker_columns, image_metrics, point_seed, prediction_rows, sample_indices, write_predictions
from .fading import faded_snr_db
from .io import atomic_path, load_checkpoint, load_module_state, save_checkpoint
from .runtime import generator
from .attack import strong_val_score
from .stages import Paths, load_strong, schedule_of, strong_validation, write_attacker_curves
from .training import Validation, batches, fit, make_optimizer
from .validation import VAL_SEED, capped, write_curve

IBAL_SYSTEMS = ("ibal", "ibal-d")
BASELINES = ("direct", "permutation", *IBAL_SYSTEMS)
BSEED = {"ibal": 11, "ibal-d": 12, "permutation": 13, "attack": 14, "eval": 15}


def ibal_config(cfg: Config, ds: str, system: str) -> dict:
    return {"dataset": ds, "system": system, "seed": cfg.seed, "data": cfg.section("data"),
            "baselines": cfg.section("baselines"), "kind": cfg.channel.kind,  # the channel it trains on
            "encoder_kernel": cfg.jscc.encoder_kernel}  # the dataset's encoder, shared with DiffSem (§40)


def _points(cfg: Config) -> list[tuple[int, float]]:
    return cfg.eval.attacker_points()


# ----------------------------------------------------------------------------- IBAL / IBAL-D


def stage_train_ibal(cfg: Config, paths: Paths, system: str, device) -> list[float]:
    """Train (resumably) and save an IBAL or IBAL-D system."""
    tx, clf, res = train_ibal(cfg, paths, system, device, resume=True)
    write_curve(paths.curve(system), res.curve)
    save_checkpoint(paths.baseline(system), {"tx": tx.state_dict(), "classifier": clf.state_dict()}, system,
                    {"dataset": paths.dataset}, ibal_config(cfg, paths.dataset, system))
    return res.losses


def train_ibal(cfg: Config, paths: Paths, system: str, device, resume: bool = True):
    """An IBAL (one SNR) or IBAL-D (SNR drawn per sample, SNR input) system in the configured recipe
    (``baselines.ibal_variant``: the authors' or our first version); returns (transmitter, classifier, FitResult)."""
    if system not in IBAL_SYSTEMS:
        raise ValueError(f"IBAL system must be one of {IBAL_SYSTEMS}, got {system!r}")
    b = cfg.baselines
    sched = schedule_of(cfg)
    spec = cfg.spec
    split = load_split(paths.split)
    seed = cfg.seed + BSEED[system]
    torch.manual_seed(seed)
    tx = IBALTransmitter(spec.encoder(), spec.k).to(device)
    clf = spec.classifier().to(device)
    decoder = spec.adversary().to(device)  # the auxiliary decoder D: same architecture as the attacker
    g = generator(seed)
    gd = generator(seed, device)
    lo, hi = b.ibald_snr_range_db
    authors = b.ibal_variant == "authors"

    fading = cfg.channel.kind == "rayleigh"  # each sample's SNR faded (fading.faded_snr_db; decisions §39)

    def draw_snr(n):
        snr = lo + (hi - lo) * torch.rand(n, generator=gd, device=device) if system == "ibal-d" else b.ibal_train_snr_db
        return faded_snr_db(snr, n, gd, device) if fading else snr

    n_val = capped(split.val_y.shape[0], cfg.validation.max_images)

    @torch.no_grad()
    def score():  # receiver accuracy on validation at the grid's effective SNRs
        out = {}
        for t in cfg.validation.t_values:
            s_eff, gv, correct = effective_snr_db(sched, t, cfg.channel.train_snr_db), generator(VAL_SEED + t, device), 0
            for i in range(0, n_val, 512):
                x, y = to_float(split.val_x[i : min(i + 512, n_val)]).to(device), split.val_y[i : min(i + 512, n_val)].to(device)
                if fading:  # the receiver knows its instantaneous SNR (CSI), as at evaluation (fading_eval)
                    s_i = faded_snr_db(s_eff, x.shape[0], gv, device)
                    z, _ = awgn_each(ibal_features(tx, x), s_i, gv)
                    tt = theta_snr_input(system, b.ibal_variant, s_i.clamp(-20, 40), x.shape[0], x)
                else:
                    z = ibal_send(tx, x, s_eff, gv)
                    tt = theta_snr_input(system, b.ibal_variant, s_eff, x.shape[0], x)
                correct += int((clf(z, z, tt).argmax(1) == y).sum())
            out[f"acc_t{t}"] = correct / max(n_val, 1)
        out["acc_mean"] = sum(out.values()) / len(out)
        return out

    opt, lrs = make_optimizer(list(tx.parameters()) + list(clf.parameters()), b.ibal_lr)
    meta = ibal_config(cfg, paths.dataset, system)
    modules = {"tx": tx, "classifier": clf, "decoder": decoder}
    # the decoder is saved with the resume state; its Adam moments are not, so a resumed IBAL run
    # continues correctly but is not bit-identical to an uninterrupted one
    if authors:
        # a third of the T-R training images train the decoder (the authors: 20k of 60k), the rest the system;
        # each epoch is a full decoder epoch on its images, then a full system epoch (SSG2019/IBAL main_train)
        perm = torch.randperm(split.tr_x.shape[0], generator=generator(seed + 1))
        dec_rows, sys_rows = perm[: perm.numel() // 3], perm[perm.numel() // 3 :]
        dec_opt = torch.optim.Adam(decoder.parameters(), lr=b.ibal_lr, weight_decay=1e-4)
        g_dec = generator(seed + 2)
        now = {"epoch": 0}

        def on_epoch(epoch):
            now["epoch"] = epoch
            for p in decoder.parameters():
                p.requires_grad_(True)
            for idx in batches(dec_rows.numel(), b.ibal_batch_size, g_dec):
                x = to_float(split.tr_x[dec_rows[idx]]).to(device)
                with torch.no_grad():
                    z_hat, _ = awgn_each(ibal_features(tx, x), draw_snr(x.shape[0]), gd)
                loss = F.mse_loss(decoder(z_hat), x)
                dec_opt.zero_grad(set_to_none=True)
                loss.backward()
                dec_opt.step()
            for p in decoder.parameters():
                p.requires_grad_(False)

        def step(idx):
            rows = sys_rows[idx]
            x, y = to_float(split.tr_x[rows]).to(device), split.tr_y[rows].to(device)
            beta = b.ibal_beta * kl_anneal(now["epoch"], b.ibal_kl_off_epochs, b.ibal_kl_ramp_epochs)
            return ibal_authors_loss(tx.encoder, clf, decoder, x, y, draw_snr(x.shape[0]), beta, b.ibal_lambda, gd)

        res = fit(system, modules, opt, lrs, b.ibal_epochs, sys_rows.numel(), b.ibal_batch_size, g, step,
                  paths.resume(system) if resume else None, meta, (gd, g_dec), b.ibal_items_per_epoch,
                  Validation(score, "acc_mean", "max", b.ibal_patience,
                             start_epoch=b.ibal_kl_off_epochs + b.ibal_kl_ramp_epochs), on_epoch=on_epoch)
        return tx.eval(), clf.eval(), res
    dec_opt = torch.optim.Adam(decoder.parameters(), lr=b.ibal_lr)

    def step_ours(idx):
        x = to_float(split.tr_x[idx]).to(device)
        y = split.tr_y[idx].to(device)
        snr = draw_snr(x.shape[0])
        lam = privacy_weight(b.ibal_lambda, snr, b.ibal_train_snr_db) if system == "ibal-d" else b.ibal_lambda
        # 1) D's update on the current encoder (alternating updates)
        for p in decoder.parameters():
            p.requires_grad_(True)
        _, dec_loss = ibal_losses(tx, clf, decoder, x, y, snr, b.ibal_beta, lam, system == "ibal-d", gd)
        dec_opt.zero_grad(set_to_none=True)
        dec_loss.backward()
        dec_opt.step()
        # 2) the system's update against the updated D (D frozen here; fit() steps the system optimiser)
        for p in decoder.parameters():
            p.requires_grad_(False)
        system_loss, _ = ibal_losses(tx, clf, decoder, x, y, snr, b.ibal_beta, lam, system == "ibal-d", gd)
        return system_loss

    # our first version keeps its last epoch; the validation curve is recorded so a reader sees where it stands
    res = fit(system, modules, opt, lrs, b.ibal_epochs, split.tr_x.shape[0], b.ibal_batch_size, g, step_ours,
              paths.resume(system) if resume else None, meta, (gd,), b.ibal_items_per_epoch,
              Validation(score, "acc_mean", select=False))
    return tx.eval(), clf.eval(), res


def load_ibal(paths: Paths, cfg: Config, system: str, device):
    spec = cfg.spec
    state = load_checkpoint(paths.baseline(system), system, {"dataset": paths.dataset},
                            ibal_config(cfg, paths.dataset, system))
    tx, clf = IBALTransmitter(spec.encoder(), spec.k), spec.classifier()
    load_module_state(tx, state["tx"], paths.baseline(system))
    load_module_state(clf, state["classifier"], paths.baseline(system))
    return tx.to(device).eval(), clf.to(device).eval()


def load_ibal_attack(paths: Paths, cfg: Config, system: str, device) -> tuple[torch.nn.Module, dict]:
    """(strong classifier, {point_key(t, snr): inversion network}) of the attacker on an IBAL system."""
    spec = cfg.spec
    state = load_checkpoint(paths.baseline_attack(system), f"{system}_attack", {"dataset": paths.dataset},
                            attack_config(cfg, paths.dataset, system))
    strong = spec.strong()
    load_module_state(strong, state["strong"], paths.baseline_attack(system))
    advs = {}
    for key, sd in state["adversaries"].items():
        net = spec.adversary()
        load_module_state(net, sd, paths.baseline_attack(system))
        advs[key] = net.to(device).eval()
    return strong.to(device).eval(), advs


def ibal_sender(cfg: Config, paths: Paths, system: str, device):
    """sender(x_uint8) -> send(rows, t, snr, g) for an IBAL transmitter (stages.listener's contract): its
    features computed once, then the channel at the SNR equivalent to the grid point (``ibal_send``)."""
    tx, _ = load_ibal(paths, cfg, system, device)
    sched = schedule_of(cfg)

    def sender(x_uint8):
        with torch.no_grad():
            f0 = torch.cat([ibal_features(tx, to_float(x_uint8[i : i + 1024]).to(device))
                            for i in range(0, x_uint8.shape[0], 1024)])
        return lambda rows, t, snr, g: awgn(f0[rows], effective_snr_db(sched, t, snr), g)
    return sender


def inversion_config(cfg: Config, ds: str, system: str) -> dict:
    """What the inversion networks on an IBAL transmitter depend on (their resume states' record)."""
    return {"system": ibal_config(cfg, ds, system), "adversary": cfg.section("adversary"),
            "points": [point_key(*p) for p in _points(cfg)]}


def attack_config(cfg: Config, ds: str, system: str) -> dict:
    """What the saved attack (inversion networks and their judge) depends on."""
    return {**inversion_config(cfg, ds, system), "strong": cfg.section("strong")}


def stage_attack_ibal(cfg: Config, paths: Paths, system: str, device) -> None:
    """The same black-box attacker and strong-classifier procedure as for DiffSem, on an IBAL transmitter."""
    spec = cfg.spec
    split = load_split(paths.split)
    sched = schedule_of(cfg)
    x_adv = split.adv_x
    hear = ibal_sender(cfg, paths, system, device)  # the IBAL transmitter's features, computed once
    send, val_send = hear(x_adv), hear(split.adv_val_x)

    seed = cfg.seed + BSEED["attack"]
    models, _, curves = train_attackers(spec, send, x_adv, _points(cfg), cfg.adversary, seed, device,
                                        f"{system} adversary", paths.resume_dir, inversion_config(cfg, paths.dataset, system),
                                        val_send, split.adv_val_x)
    write_attacker_curves(paths.curve(f"attack_{system}"), curves)
    advs = {}
    for key, sd in models.items():
        net = spec.adversary().to(device)
        net.load_state_dict(sd)
        t_, s_ = key.split("@")
        advs[(int(t_), float(s_))] = net.eval()
    views = attacker_views(send, advs, split.adv_y.to(device), sched.alpha_bar, cfg.schedule.T, device)

    net, res = train_strong(spec, torch.cat([split.tr_x, split.adv_x]), torch.cat([split.tr_y, split.adv_y]),
                            split.tr_x.shape[0], views, cfg.strong, seed + 1, device, f"{system} strong",
                            val_score=strong_validation(cfg, val_send, advs, split, device))
    write_curve(paths.curve(f"strong_{system}"), res.curve)
    meta = attack_config(cfg, paths.dataset, system)
    save_checkpoint(paths.baseline_attack(system), {"adversaries": models, "strong": net.state_dict()},
                    f"{system}_attack", {"dataset": paths.dataset}, meta)


def stage_strong_permutation(cfg: Config, paths: Paths, device) -> None:
    """Strong classifier (same architecture) on clean and permuted, directly noised images."""
    spec = cfg.spec
    split = load_split(paths.split)
    ab = schedule_of(cfg).alpha_bar.to(device=device, dtype=torch.float32)

    def views(x, idx_d, adv_rows, g, gd):
        t = torch.randint(0, cfg.schedule.T + 1, (x.shape[0],), generator=gd, device=device)
        return [(direct_noise(permute_quadrants(x), ab[t], gd), None)]

    n = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    gv = generator(VAL_SEED, device)
    xv = to_float(split.adv_val_x[:n]).to(device)
    tv = torch.randint(0, cfg.schedule.T + 1, (n,), generator=gv, device=device)
    seen = {"permuted_noised": direct_noise(permute_quadrants(xv), ab[tv], gv)}
    net, res = train_strong(spec, torch.cat([split.tr_x, split.adv_x]), torch.cat([split.tr_y, split.adv_y]),
                            split.tr_x.shape[0], views, cfg.strong, cfg.seed + BSEED["permutation"], device,
                            "permutation strong",
                            val_score=lambda m: strong_val_score(m, split.adv_val_x[:n], split.adv_val_y[:n], device, seen))
    write_curve(paths.curve("strong_permutation"), res.curve)
    save_checkpoint(paths.baseline_attack("permutation"), {"strong": net.state_dict()}, "permutation_attack",
                    {"dataset": paths.dataset}, {"strong": cfg.section("strong"), "seed": cfg.seed})


# ----------------------------------------------------------------------------- evaluation


def ibal_pair(tx, x: torch.Tensor, sched, t: int, snr: float, g) -> tuple[torch.Tensor, torch.Tensor]:
    """(z_rx, z_eve): the receiver's and the eavesdropper's independent channel draws of one IBAL
    transmission at grid point (t, snr), the receiver's first — one definition, so that the inversion
    attacker (``ibal_observer``) and the semantic attacker (``ibal_eavesdropped``) hear the same z_eve."""
    s_eff = effective_snr_db(sched, t, snr)
    return ibal_send(tx, x, s_eff, g), ibal_send(tx, x, s_eff, g)


def ibal_observer(tx, clf, adversaries: dict, sched, system: str, variant: str):
    """observe(x, t, snr, g) -> (receiver logits, attacker's reconstruction) for an IBAL system
    (``adversaries`` maps point_key(t, snr) to that point's inversion network)."""
    def observe(x, t, snr, g):
        z_rx, z_eve = ibal_pair(tx, x, sched, t, snr, g)
        s_eff = effective_snr_db(sched, t, snr)
        tt = theta_snr_input(system, variant, s_eff, x.shape[0], x)
        return clf(z_rx, z_rx, tt), adversaries[point_key(t, snr)](z_eve).clamp(0, 1)
    return observe


def baseline_batches(images, t: int, snr: float, seed: int, batch_size: int, device):
    """A baseline grid point's evaluation batches: yields (x, y, g) with the point's one generator, so that
    anything replaying a point (``ibal_eavesdropped``) draws exactly what ``score_point`` drew."""
    g = torch.Generator(device=device).manual_seed(point_seed(seed, t, snr, BSEED["eval"]))
    for bidx in images.idx.split(batch_size):
        yield to_float(images.x[bidx]).to(device), images.y[bidx].to(device), g


@torch.no_grad()
def ibal_eavesdropped(images, tx, sched, t: int, snr: float, seed: int, batch_size: int, device):
    """Yields (y, z_eve) per batch: what the eavesdropper heard when the IBAL system was scored at
    (t, snr, seed) by ``stage_evaluate_baseline`` (same images, same draws: its rows pair with the receiver's)."""
    for x, y, g in baseline_batches(images, t, snr, seed, batch_size, device):
        yield y, ibal_pair(tx, x, sched, t, snr, g)[1]


@torch.no_grad()
def score_point(images, observe, strong, t: int, snr: float, seed: int, batch_size: int, device,
                samples: list | None = None, tags: dict | None = None) -> dict:
    """One grid point of a baseline over ``images`` (an ``ImageSet``: the test subset for `evaluate-baseline`,
    the validation slice for the IBAL sweep): receiver accuracy (NaN when ``observe`` gives no logits:
    Direct, Permutation), the strong classifier's accuracy on what the attacker sees, and SSIM/PSNR of
    that image against x (skimage, via evaluate.image_metrics).  With ``samples`` (a list) and ``tags``
    (dataset, system) the per-sample predictions are appended to it."""
    n = images.n
    rx_pred, att_pred, labels, ssims, psnrs = [], [], [], [], []
    for x, y, g in baseline_batches(images, t, snr, seed, batch_size, device):
        logits, seen = observe(x, t, snr, g)
        if logits is not None:
            rx_pred.append(logits.argmax(1).cpu())
        att_pred.append(strong(seen).argmax(1).cpu())
        labels.append(y.cpu())
        s, p = image_metrics(x.cpu().numpy(), seen.cpu().numpy())
        ssims.append(s)
        psnrs.append(p)
    y_all, att_all = torch.cat(labels), torch.cat(att_pred)
    rx_all = torch.cat(rx_pred) if rx_pred else None
    if samples is not None:
        index, lab = images.idx.tolist(), y_all.tolist()
        if rx_all is not None:
            samples += prediction_rows(tags["dataset"], tags["system"], "receiver", t, snr, seed, index, lab, rx_all.tolist())
        samples += prediction_rows(tags["dataset"], tags["system"], "attacker", t, snr, seed, index, lab, att_all.tolist())
    return {"receiver_acc": float((rx_all == y_all).float().mean()) if rx_all is not None else math.nan,
            **attacker_columns(y_all, att_all, ssims, psnrs), "n_eval": n}


# the attacker each baseline is scored against (evaluate.ATTACKS): Direct and Permutation send images
BASELINE_ATTACK = {"direct": "image", "permutation": "image", "ibal": "inversion", "ibal-d": "inversion"}


def load_image_attacker(cfg: Config, paths: Paths, system: str, device):
    """The strong classifier that reads what Direct (DiffSem's own, Alg. 1) or Permutation
    (``stage_strong_permutation``'s) sends."""
    if system == "direct":
        return load_strong(paths, cfg, device)
    state = load_checkpoint(paths.baseline_attack("permutation"), "permutation_attack", {"dataset": paths.dataset},
                            {"strong": cfg.section("strong"), "seed": cfg.seed})
    strong = cfg.spec.strong()
    load_module_state(strong, state["strong"], paths.baseline_attack("permutation"))
    return strong.to(device).eval()


@torch.no_grad()
def stage_evaluate_baseline(cfg: Config, paths: Paths, system: str, device) -> pd.DataFrame:
    """Rows of metrics.csv for one baseline over the same (t, snr, seed) grid as DiffSem."""
    if system not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {system!r}")
    split = load_split(paths.split, with_test=True)  # evaluation: reads the test subset
    sched = schedule_of(cfg)
    if system in ("direct", "permutation"):
        strong = load_image_attacker(cfg, paths, system, device)
    else:
        tx, clf = load_ibal(paths, cfg, system, device)
        strong, advs = load_ibal_attack(paths, cfg, system, device)

    if system == "direct":
        def observe(x, t, snr, g):
            return None, direct_point(x, sched, t, snr, g)
    elif system == "permutation":
        def observe(x, t, snr, g):
            return None, direct_point(permute_quadrants(x), sched, t, snr, g)
    else:
        observe = ibal_observer(tx, clf, advs, sched, system, cfg.baselines.ibal_variant)

    rows, samples = [], []
    points = [(seed, t, snr) for seed in cfg.eval.seeds for t, snr in cfg.eval.grid_points()]
    for seed, t, snr in tqdm(points, desc=f"evaluate {system}", mininterval=5):
        r = score_point(split.images(cfg.eval.test_part(t, snr)), observe, strong, t, snr, seed, cfg.eval.batch_size, device, samples,
                        {"dataset": paths.dataset, "system": system})
        rows.append({"dataset": paths.dataset, "system": system, "attack": BASELINE_ATTACK[system], "t": t, "snr_db": snr,
                     "seed": seed, **r,
                     "ediffsem_passes": math.nan})
    df = pd.DataFrame(rows, columns=COLUMNS)
    write_predictions(paths.predictions(system), samples)
    with atomic_path(paths.eval_part(system)) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    _baseline_samples(cfg, paths, system, split, observe, device)
    return df


def _baseline_samples(cfg, paths, system, split, observe, device) -> None:
    """What the attacker sees / reconstructs for the Fig. 6 and Fig. 7 images (one per class)."""
    x = to_float(split.test_x[sample_indices(split)]).to(device)
    recs = []
    for t in cfg.eval.fig6_t:
        g = torch.Generator(device=device).manual_seed(cfg.seed * 7919 + t)
        recs.append(observe(x, t, cfg.eval.snr_db, g)[1].clamp(0, 1).cpu())
    with atomic_path(paths.eval_samples(system)) as tmp:
        torch.save({"x": x.cpu(), "t": torch.tensor(list(cfg.eval.fig6_t)), "x_hat": torch.stack(recs)}, tmp)
