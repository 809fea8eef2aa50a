"""The pipeline's stages (Alg. 1 stages 1-3 and Alg. 2), each a function of (Config, dataset, paths).

Every stage: checks its inputs before any long work, derives all randomness from ``cfg.seed`` and a
per-stage offset, writes its outputs atomically, and saves per-epoch resume state under
``models/<ds>/resume/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .attack import attacker_views, point_key, train_attackers, train_strong
from .channel import power_normalize
from .config import Config
from .data import Split, load_raw_dataset, load_split, make_split, split_summary, to_float
from .io import atomic_path, load_checkpoint, load_module_state, save_checkpoint, write_json
from .models import get_spec
from .models.unet import UNet
from .pipeline import Link, Receivers, denoise
from .runtime import generator
from .schedule import linear_schedule
from .training import fit, make_optimizer

# per-stage seed offsets, so stages draw independent streams from one master seed
SEED = {"jscc": 1, "diffusion": 2, "adversary": 3, "strong": 4, "finetune": 5, "eval": 6}


@dataclass(frozen=True)
class Paths:
    root: Path
    dataset: str

    def _p(self, kind: str, name: str) -> Path:
        return self.root / kind / self.dataset / name

    split = property(lambda s: s._p("data", "split.pt"))
    split_json = property(lambda s: s._p("data", "split.json"))
    jscc = property(lambda s: s._p("models", "jscc.pt"))
    adversary = property(lambda s: s._p("models", "adversary.pt"))
    strong = property(lambda s: s._p("models", "strong.pt"))
    metrics_csv = property(lambda s: s._p("reports", "metrics.csv"))
    metrics_json = property(lambda s: s._p("reports", "metrics.json"))
    eval_points = property(lambda s: s._p("reports", "eval_points"))
    figures = property(lambda s: s._p("reports", "figures"))
    receiver_search = property(lambda s: s._p("reports", "receiver_search.json"))
    ibal_sweep = property(lambda s: s._p("reports", "ibal_sweep.csv"))

    def unet(self, variant: str) -> Path:
        return self._p("models", f"unet_{variant}.pt")

    def receiver(self, system: str) -> Path:
        return self._p("models", f"receiver_{system}.pt")

    def eval_part(self, system: str) -> Path:
        """Rows of metrics.csv from one evaluation rule (`diffsem` covers classifier/diffsem/e-diffsem)."""
        return self._p("reports", f"eval/{system}.csv")

    def eval_noiseless(self, system: str) -> Path:
        """The receivers' noiseless upper bound (t = 0, no channel noise)."""
        return self._p("reports", f"eval/{system}_noiseless.json")

    def eval_samples(self, system: str) -> Path:
        """Originals and what the attacker reconstructs/sees at the Fig. 6 t values."""
        return self._p("reports", f"eval/{system}_samples.pt")

    def baseline(self, system: str) -> Path:
        return self._p("models", f"{system}.pt")

    def baseline_attack(self, system: str) -> Path:
        return self._p("models", f"attack_{system}.pt")

    @property
    def resume_dir(self) -> Path:
        return self._p("models", "resume")

    def resume(self, stage: str) -> Path:
        return self._p("models", f"resume/{stage}.pt")


# ----------------------------------------------------------------------------- helpers


def schedule_of(cfg: Config):
    return linear_schedule(cfg.schedule.T, cfg.schedule.beta_start, cfg.schedule.beta_end)


def jscc_config(cfg: Config, ds: str) -> dict:
    return {"dataset": ds, "seed": cfg.seed, "data": cfg.section("data"), "schedule": cfg.section("schedule"),
            "channel": cfg.section("channel"), "jscc": cfg.section("jscc")}


def unet_config(cfg: Config, ds: str, variant: str) -> dict:
    return {"arch": unet_arch(cfg, ds, variant), "jscc": jscc_config(cfg, ds), "diffusion": cfg.section("diffusion")}


def adversary_config(cfg: Config, ds: str) -> dict:
    return {"jscc": jscc_config(cfg, ds), "adversary": cfg.section("adversary"),
            "points": [point_key(*p) for p in cfg.eval.attacker_points()]}


def strong_config(cfg: Config, ds: str) -> dict:
    return {"attackers": adversary_config(cfg, ds), "strong": cfg.section("strong")}


def receiver_config(cfg: Config, ds: str, system: str) -> dict:
    variant = "uncond" if system == "diffsem" else "cond"
    return {"system": system, "unet": unet_config(cfg, ds, variant), "finetune": cfg.section("finetune"),
            "sampler": cfg.section("sampler")}


def unet_arch(cfg: Config, ds: str, variant: str) -> dict:
    spec = get_spec(ds)
    return {"dataset": ds, "in_ch": spec.feature_shape[0], "n_feat": cfg.diffusion.n_feat,
            "n_classes": spec.n_classes if variant == "cond" else 0, "T": cfg.schedule.T}


def build_unet(arch: dict) -> UNet:
    return UNet(arch["in_ch"], arch["n_feat"], arch["n_classes"], arch["T"])


def load_jscc(paths: Paths, cfg: Config, device):
    spec = get_spec(paths.dataset)
    state = load_checkpoint(paths.jscc, "jscc", {"dataset": paths.dataset}, jscc_config(cfg, paths.dataset))
    enc, clf = spec.encoder(), spec.classifier()
    load_module_state(enc, state["encoder"], paths.jscc)
    load_module_state(clf, state["classifier"], paths.jscc)
    return enc.to(device).eval(), clf.to(device).eval()


def load_unet(paths: Paths, cfg: Config, variant: str, device) -> UNet:
    arch = unet_arch(cfg, paths.dataset, variant)
    state = load_checkpoint(paths.unet(variant), f"unet_{variant}", arch, unet_config(cfg, paths.dataset, variant))
    net = build_unet(arch)
    load_module_state(net, state["model"], paths.unet(variant))
    return net.to(device).eval()


def load_receiver(paths: Paths, cfg: Config, system: str, device):
    spec = get_spec(paths.dataset)
    state = load_checkpoint(paths.receiver(system), f"receiver_{system}", {"dataset": paths.dataset},
                            receiver_config(cfg, paths.dataset, system))
    clf = spec.classifier()
    load_module_state(clf, state["model"], paths.receiver(system))
    return clf.to(device).eval()


def load_adversaries(paths: Paths, cfg: Config, device) -> dict[tuple[int, float], torch.nn.Module]:
    spec = get_spec(paths.dataset)
    state = load_checkpoint(paths.adversary, "adversary", {"dataset": paths.dataset}, adversary_config(cfg, paths.dataset))
    out = {}
    for key, sd in state["models"].items():
        t, snr = key.split("@")
        net = spec.adversary()
        load_module_state(net, sd, paths.adversary)
        out[(int(t), float(snr))] = net.to(device).eval()
    return out


def load_strong(paths: Paths, cfg: Config, device):
    spec = get_spec(paths.dataset)
    state = load_checkpoint(paths.strong, "strong", {"dataset": paths.dataset}, strong_config(cfg, paths.dataset))
    net = spec.strong()
    load_module_state(net, state["model"], paths.strong)
    return net.to(device).eval()


@torch.no_grad()
def encode_all(enc, x_uint8: torch.Tensor, device, batch: int = 1024) -> torch.Tensor:
    """f0 for a whole image tensor, computed once (features are frozen after stage 1)."""
    out = [power_normalize(enc(to_float(x_uint8[i : i + batch]).to(device))) for i in range(0, x_uint8.shape[0], batch)]
    return torch.cat(out)


# ----------------------------------------------------------------------------- data


def stage_data(cfg: Config, paths: Paths) -> dict:
    spec = get_spec(paths.dataset)
    tx, ty, vx, vy = load_raw_dataset(paths.dataset, cfg.data)
    split = make_split(tx, ty, vx, vy, cfg.data, cfg.seed, spec.n_classes)
    summary = split_summary(split)
    summary.update({"dataset": paths.dataset, "source": cfg.data.mirror or "torchvision-download", "seed": cfg.seed,
                    "adversary_fraction": cfg.data.adversary_fraction})
    with atomic_path(paths.split) as tmp:
        torch.save(split.tensors(), tmp)
    write_json(paths.split_json, summary)
    return summary


# ----------------------------------------------------------------------------- stage 1


def stage_jscc(cfg: Config, paths: Paths, device) -> list[float]:
    """Alg. 1 stage 1: Phi and Theta trained with CE through Psi at random T' and the channel."""
    spec = get_spec(paths.dataset)
    split = load_split(paths.split)
    sched = schedule_of(cfg)
    torch.manual_seed(cfg.seed + SEED["jscc"])
    enc, clf = spec.encoder().to(device), spec.classifier().to(device)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    g = generator(cfg.seed + SEED["jscc"])
    gd = generator(cfg.seed + SEED["jscc"], device)
    x_all, y_all = split.tr_x, split.tr_y
    T = cfg.schedule.T

    def step(idx):
        x = to_float(x_all[idx]).to(device)
        y = y_all[idx].to(device)
        t = int(torch.randint(0, cfg.jscc.t_max + 1, (1,), generator=g))
        z_hat = link.channel(link.transmit(link.features(x), t, cfg.channel.train_snr_db, gd), cfg.channel.train_snr_db, gd)
        # stage 1 has no denoiser yet: f_hat := z_hat (the same input the "classifier" system uses)
        tt = torch.full((x.shape[0], 1), t / T, device=device)
        return F.cross_entropy(clf(z_hat, z_hat, tt), y)

    opt, lrs = make_optimizer(list(enc.parameters()) + list(clf.parameters()), cfg.jscc.lr)
    meta = jscc_config(cfg, paths.dataset)
    hist = fit("jscc", {"encoder": enc, "classifier": clf}, opt, lrs, cfg.jscc.epochs, x_all.shape[0], cfg.jscc.batch_size,
               g, step, paths.resume("jscc"), meta, (gd,))
    save_checkpoint(paths.jscc, {"encoder": enc.state_dict(), "classifier": clf.state_dict()}, "jscc",
                    {"dataset": paths.dataset}, meta)
    return hist


# ----------------------------------------------------------------------------- stage 2


def stage_diffusion(cfg: Config, paths: Paths, variant: str, device) -> list[float]:
    """Alg. 1 stage 2: the U-Net on frozen features with Eq. 15 (classifier-free when conditional)."""
    if variant not in ("uncond", "cond"):
        raise ValueError(f"diffusion variant must be 'uncond' or 'cond', got {variant!r}")
    spec = get_spec(paths.dataset)
    split = load_split(paths.split)
    enc, _ = load_jscc(paths, cfg, device)
    f0_all = encode_all(enc, split.tr_x, device)
    y_all = split.tr_y.to(device)
    sched = schedule_of(cfg)
    ab = sched.alpha_bar.to(device=device, dtype=torch.float32)
    arch = unet_arch(cfg, paths.dataset, variant)
    torch.manual_seed(cfg.seed + SEED["diffusion"])
    net = build_unet(arch).to(device)
    g = generator(cfg.seed + SEED["diffusion"])
    gd = generator(cfg.seed + SEED["diffusion"], device)
    T = cfg.schedule.T

    def step(idx):
        idx_d = idx.to(device)
        f0 = f0_all[idx_d]
        b = f0.shape[0]
        t = torch.randint(1, T + 1, (b,), generator=gd, device=device)
        eps = torch.randn(f0.shape, generator=gd, device=device)
        a = ab[t].view(-1, 1, 1, 1)
        f_t = a.sqrt() * f0 + (1 - a).sqrt() * eps  # Eq. 11
        if variant == "cond":
            ctx = F.one_hot(y_all[idx_d], spec.n_classes).float()
            drop = torch.rand(b, generator=gd, device=device) < cfg.diffusion.p_uncond
            pred = net(f_t, t, ctx, drop)
        else:
            pred = net(f_t, t)
        return F.mse_loss(pred, eps)  # Eq. 15

    opt, lrs = make_optimizer(net.parameters(), cfg.diffusion.lr)
    meta = unet_config(cfg, paths.dataset, variant)
    hist = fit(f"diffusion-{variant}", {"model": net}, opt, lrs, cfg.diffusion.epochs, f0_all.shape[0],
               cfg.diffusion.batch_size, g, step, paths.resume(f"unet_{variant}"), meta, (gd,))
    save_checkpoint(paths.unet(variant), {"model": net.state_dict()}, f"unet_{variant}", arch, meta)
    return hist


# ----------------------------------------------------------------------------- stage 3


def stage_adversary(cfg: Config, paths: Paths, device) -> dict[str, float]:
    """Alg. 1 stage 3 (attacker): one inversion network per (T', SNR) point, trained by chosen-plaintext
    queries of the frozen transmitter on the adversary's 40% split, through its own channel (Eq. 5)."""
    spec = get_spec(paths.dataset)
    split = load_split(paths.split)
    enc, _ = load_jscc(paths, cfg, device)
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)
    f0_all = encode_all(enc, split.adv_x, device)

    def send(rows, t, snr, g):
        return link.channel(link.transmit(f0_all[rows], t, snr, g), snr, g)

    models, final = train_attackers(spec, send, split.adv_x, cfg.eval.attacker_points(), cfg.adversary,
                                    cfg.seed + SEED["adversary"], device, "adversary", paths.resume_dir,
                                    adversary_config(cfg, paths.dataset))
    save_checkpoint(paths.adversary, {"models": models}, "adversary", {"dataset": paths.dataset},
                    adversary_config(cfg, paths.dataset))
    return final


def stage_strong(cfg: Config, paths: Paths, device) -> list[float]:
    """Alg. 1 stage 3 (evaluator): the strong classifier on clean x, adversary reconstructions x_hat at
    every attacker point, and directly noised x_tilde (Eq. 11 in pixel space) at random t, with labels."""
    spec = get_spec(paths.dataset)
    split = load_split(paths.split)
    enc, _ = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    f0_adv = encode_all(enc, split.adv_x, device)

    def send(rows, t, snr, g):
        return link.channel(link.transmit(f0_adv[rows], t, snr, g), snr, g)

    views = attacker_views(send, load_adversaries(paths, cfg, device), split.adv_y.to(device), sched.alpha_bar,
                           cfg.schedule.T, device)
    meta = strong_config(cfg, paths.dataset)
    net, hist = train_strong(spec, torch.cat([split.tr_x, split.adv_x]), torch.cat([split.tr_y, split.adv_y]),
                             split.tr_x.shape[0], views, cfg.strong, cfg.seed + SEED["strong"], device, "strong",
                             paths.resume("strong"), meta)
    save_checkpoint(paths.strong, {"model": net.state_dict()}, "strong", {"dataset": paths.dataset}, meta)
    return hist


# ----------------------------------------------------------------------------- Alg. 2


def stage_finetune(cfg: Config, paths: Paths, system: str, device) -> list[float]:
    """Alg. 2 as a stage: fine-tune (resumable) and save the receiver classifier."""
    clf, hist = finetune_receiver(cfg, paths, system, device, resume=True)
    meta = receiver_config(cfg, paths.dataset, system)
    save_checkpoint(paths.receiver(system), {"model": clf.state_dict()}, f"receiver_{system}", {"dataset": paths.dataset}, meta)
    return hist


def finetune_receiver(cfg: Config, paths: Paths, system: str, device, resume: bool = True):
    """Alg. 2: fine-tune a copy of Theta on [z_hat, f_hat, T'] over ``finetune.t_values``; returns (Theta, losses).

    f_hat does not depend on theta, so it is computed once per (image, T') into a bank and Theta is
    trained on the bank for several epochs.  For E-DiffSem the bank holds one conditional pass guided
    by the bypass soft label (the first pass of the inference loop); see docs/decisions.md.
    """
    if system not in ("diffsem", "e-diffsem"):
        raise ValueError(f"finetune system must be 'diffsem' or 'e-diffsem', got {system!r}")
    split = load_split(paths.split)
    enc, clf0 = load_jscc(paths, cfg, device)
    unet = load_unet(paths, cfg, "uncond" if system == "diffsem" else "cond", device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    T, snr = cfg.schedule.T, cfg.channel.train_snr_db
    g = generator(cfg.seed + SEED["finetune"])
    gd = generator(cfg.seed + SEED["finetune"], device)
    rx = Receivers(sched, clf0, max_steps=cfg.sampler.max_steps)
    zs, fs, ts, ys = [], [], [], []
    n = min(cfg.finetune.n_per_t, split.tr_x.shape[0])
    from tqdm import tqdm

    with torch.no_grad():
        for t in tqdm(cfg.finetune.t_values, desc=f"finetune bank {system}", mininterval=5):
            idx = torch.randperm(split.tr_x.shape[0], generator=g)[:n]
            t_start, scale = link.receive_step(t, snr)
            for b in idx.split(cfg.eval.batch_size):
                x = to_float(split.tr_x[b]).to(device)
                z_hat = link.channel(link.transmit(link.features(x), t, snr, gd), snr, gd)
                ctx = torch.softmax(rx.bypass_logits(z_hat, t), 1) if system == "e-diffsem" else None
                fs.append(denoise(unet, z_hat, sched, t_start, scale, cfg.sampler.max_steps, ctx))
                zs.append(z_hat)
                ts.append(torch.full((b.numel(), 1), t / T, device=device))
                ys.append(split.tr_y[b].to(device))
    z_bank, f_bank, t_bank, y_bank = map(torch.cat, (zs, fs, ts, ys))
    clf = get_spec(paths.dataset).classifier().to(device)
    clf.load_state_dict(clf0.state_dict())

    def step(idx):
        i = idx.to(device)
        return F.cross_entropy(clf(z_bank[i], f_bank[i], t_bank[i]), y_bank[i])

    opt, lrs = make_optimizer(clf.parameters(), cfg.finetune.lr)
    meta = receiver_config(cfg, paths.dataset, system)
    hist = fit(f"finetune-{system}", {"model": clf}, opt, lrs, cfg.finetune.epochs, y_bank.shape[0],
               cfg.finetune.batch_size, g, step, paths.resume(f"finetune_{system}") if resume else None, meta)
    return clf.eval(), hist


__all__ = ["Paths", "stage_data", "stage_jscc", "stage_diffusion", "stage_adversary", "stage_strong", "stage_finetune",
           "load_jscc", "load_unet", "load_receiver", "load_adversaries", "load_strong", "schedule_of", "point_key",
           "Split"]
