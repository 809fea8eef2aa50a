"""The pipeline's stages (Alg. 1 stages 1-3 and Alg. 2), each a function of (Config, dataset, paths).

Every stage: checks its inputs before any long work, derives all randomness from ``cfg.seed`` and a
per-stage offset, writes its outputs atomically, and saves per-epoch resume state under
``models/<ds>/seed<k>/resume/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from .attack import attacker_views, point_key, reconstructions, strong_val_score, train_attackers, train_strong
from .channel import power_normalize
from .config import Config
from .data import Split, load_raw_dataset, load_split, make_split, split_summary, to_float
from .io import atomic_path, load_checkpoint, load_module_state, save_checkpoint, write_json
from .models import get_spec
from .models.unet import UNet
from .pipeline import Link, Receivers, denoise
from .runtime import generator
from .schedule import linear_schedule
from .training import Validation, fit, make_optimizer
from .validation import capped, eps_mse, receiver_accuracy, write_curve

# per-stage seed offsets, so stages draw independent streams from one master seed (11-15: baseline_stages.BSEED)
SEED = {"jscc": 1, "diffusion": 2, "adversary": 3, "strong": 4, "finetune": 5, "eval": 6, "ceiling": 7, "semantic": 8, "study": 9, "protocol": 10, "prior": 16, "fading": 17, "fading_inversion": 18}
# receivers that Alg. 2 (or its control) fine-tunes; "classifier-ft" is the control without a denoiser
FINETUNED = ("classifier-ft", "diffsem", "e-diffsem")


@dataclass(frozen=True)
class Paths:
    """Where one run (dataset, training seed) keeps its artefacts: ``<root>/<kind>/<dataset>/seed<k>/``."""

    root: Path
    dataset: str
    seed: int

    @classmethod
    def of(cls, root: str | Path, cfg: Config) -> "Paths":
        """The run of a dataset-merged config (its dataset and training seed)."""
        if cfg.dataset is None:
            raise ValueError("Paths.of needs a config merged for one dataset")
        return cls(Path(root), cfg.dataset, cfg.seed)

    def dir(self, kind: str) -> Path:
        """The run's folder of one kind (data, models, reports, logs, benchmarks)."""
        return self.root / kind / self.dataset / f"seed{self.seed}"

    def _p(self, kind: str, name: str) -> Path:
        return self.dir(kind) / name

    @property
    def seeds_summary(self) -> Path:
        """Across-training-seed summary of the dataset (every seed's run; not inside one seed's folder)."""
        return self.root / "reports" / "seeds" / f"{self.dataset}.csv"

    @property
    def seeds_frontier(self) -> Path:
        """The privacy–utility frontier across training seeds (frontier.py), beside the seeds summary."""
        return self.root / "reports" / "seeds" / f"{self.dataset}_frontier.csv"

    @property
    def seeds_frontier_figure(self) -> Path:
        return self.root / "reports" / "seeds" / f"{self.dataset}_frontier.png"

    split = property(lambda s: s._p("data", "split.pt"))
    split_json = property(lambda s: s._p("data", "split.json"))
    jscc = property(lambda s: s._p("models", "jscc.pt"))
    adversary = property(lambda s: s._p("models", "adversary.pt"))
    ceiling = property(lambda s: s._p("models", "ceiling.pt"))
    semantic = property(lambda s: s._p("models", "semantic.pt"))  # the semantic attacker (decisions §29)
    strong = property(lambda s: s._p("models", "strong.pt"))
    metrics_csv = property(lambda s: s._p("reports", "metrics.csv"))
    metrics_json = property(lambda s: s._p("reports", "metrics.json"))
    comparisons = property(lambda s: s._p("reports", "comparisons.csv"))  # paired tests (stats.compare)
    eval_points = property(lambda s: s._p("reports", "eval_points"))
    figures = property(lambda s: s._p("reports", "figures"))
    plots = property(lambda s: s._p("reports", "plots"))  # plot data for `dvc plots` (evaluate.write_plot_data)
    receiver_search = property(lambda s: s._p("reports", "receiver_search.json"))
    ibal_sweep = property(lambda s: s._p("reports", "ibal_sweep.csv"))
    attack_study = property(lambda s: s._p("reports", "attack_study.csv"))  # attack_study.stage_attack_study
    attack_protocol = property(lambda s: s._p("reports", "attack_protocol.csv"))  # attack_study.stage_attack_protocol

    def model(self, name: str) -> Path:
        """models/<ds>/seed<k>/<name>.pt: a stage's own checkpoint (e.g. the fading attackers)."""
        return self._p("models", f"{name}.pt")

    def unet(self, variant: str) -> Path:
        return self._p("models", f"unet_{variant}.pt")

    def semantic_of(self, system: str) -> Path:
        """The semantic attacker on ``system``'s transmitter (decisions §29, §33): DiffSem's keeps its name."""
        return self.semantic if system == "diffsem" else self._p("models", f"semantic_{system}.pt")

    def receiver(self, system: str) -> Path:
        return self._p("models", f"receiver_{system}.pt")

    def curve(self, stage: str) -> Path:
        """A training stage's learning curve (per epoch: training loss, validation metrics, lr)."""
        return self._p("reports", f"curves/{stage}.csv")

    def predictions(self, system: str) -> Path:
        """Per-sample predictions of an evaluation rule (every grid point), for paired tests."""
        return self._p("reports", f"eval/{system}_predictions.csv.gz")

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
            "channel": cfg.section("channel"), "jscc": cfg.section("jscc"), "validation": cfg.section("validation")}


def unet_config(cfg: Config, ds: str, variant: str) -> dict:
    diffusion = cfg.section("diffusion")
    if variant == "uncond":  # no labels: E-DiffSem's label choice does not touch DiffSem's U-Net
        diffusion.pop("cond_labels")
    return {"arch": unet_arch(cfg, ds, variant), "jscc": jscc_config(cfg, ds), "diffusion": diffusion}


def adversary_config(cfg: Config, ds: str) -> dict:
    return {"jscc": jscc_config(cfg, ds), "adversary": cfg.section("adversary"),
            "points": [point_key(*p) for p in cfg.eval.attacker_points()]}


def ceiling_config(cfg: Config, ds: str) -> dict:
    from .ceiling import ceiling_points

    return {"jscc": jscc_config(cfg, ds), "ceiling": cfg.section("ceiling"), "n_feat": cfg.diffusion.n_feat,
            "points": [point_key(*p) for p in ceiling_points(cfg)]}


def semantic_config(cfg: Config, ds: str) -> dict:
    """The semantic attacker: the ceiling's network and recipe on the adversary's split, per attacker point."""
    return {"jscc": jscc_config(cfg, ds), "ceiling": cfg.section("ceiling"), "n_feat": cfg.diffusion.n_feat,
            "points": [point_key(*p) for p in cfg.eval.attacker_points()]}


def strong_config(cfg: Config, ds: str) -> dict:
    return {"attackers": adversary_config(cfg, ds), "strong": cfg.section("strong")}


def receiver_config(cfg: Config, ds: str, system: str) -> dict:
    if system == "classifier-ft":  # no denoiser, no sampler: only stage 1 and the fine-tune settings
        return {"system": system, "jscc": jscc_config(cfg, ds), "finetune": cfg.section("finetune")}
    variant = "uncond" if system == "diffsem" else "cond"
    return {"system": system, "unet": unet_config(cfg, ds, variant), "finetune": cfg.section("finetune"),
            "sampler": cfg.section("sampler")}


def unet_arch(cfg: Config, ds: str, variant: str) -> dict:
    spec = get_spec(ds, cfg.catalog)
    return {"dataset": ds, "in_ch": spec.feature_shape[0], "n_feat": cfg.diffusion.n_feat,
            "n_classes": spec.n_classes if variant == "cond" else 0, "T": cfg.schedule.T}


def build_unet(arch: dict) -> UNet:
    return UNet(arch["in_ch"], arch["n_feat"], arch["n_classes"], arch["T"])


def load_jscc(paths: Paths, cfg: Config, device):
    spec = cfg.spec
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
    spec = cfg.spec
    state = load_checkpoint(paths.receiver(system), f"receiver_{system}", {"dataset": paths.dataset},
                            receiver_config(cfg, paths.dataset, system))
    clf = spec.classifier()
    load_module_state(clf, state["model"], paths.receiver(system))
    return clf.to(device).eval()


def per_point_models(states: dict, build, path: Path, device) -> dict[tuple[int, float], torch.nn.Module]:
    """{point_key: state_dict} of a per-grid-point checkpoint -> {(t, snr): module in eval mode}."""
    out = {}
    for key, sd in states.items():
        t, snr = key.split("@")
        net = build()
        load_module_state(net, sd, path)
        out[(int(t), float(snr))] = net.to(device).eval()
    return out


def load_adversaries(paths: Paths, cfg: Config, device) -> dict[tuple[int, float], torch.nn.Module]:
    spec = cfg.spec
    state = load_checkpoint(paths.adversary, "adversary", {"dataset": paths.dataset}, adversary_config(cfg, paths.dataset))
    return per_point_models(state["models"], spec.adversary, paths.adversary, device)


def load_ceiling(paths: Paths, cfg: Config, device) -> dict[tuple[int, float], torch.nn.Module]:
    return _load_feature_classifiers(paths, cfg, paths.ceiling, "ceiling", ceiling_config(cfg, paths.dataset), device)


def semantic_kind(system: str) -> str:
    """The name of a transmitter's semantic attacker: its checkpoint kind, learning curve and evaluation part."""
    return "semantic" if system == "diffsem" else f"semantic_{system}"


def semantic_meta(cfg: Config, ds: str, system: str) -> dict:
    """What the semantic attacker on ``system``'s transmitter depends on (the IBAL systems': their own config)."""
    if system == "diffsem":
        return semantic_config(cfg, ds)
    from .baseline_stages import ibal_config

    return {**{k: v for k, v in semantic_config(cfg, ds).items() if k != "jscc"}, "system": ibal_config(cfg, ds, system)}


def load_semantic(paths: Paths, cfg: Config, device, system: str = "diffsem") -> dict[tuple[int, float], torch.nn.Module]:
    """The semantic attacker of each attacker point on ``system``'s transmitter (decisions §29, §33)."""
    return _load_feature_classifiers(paths, cfg, paths.semantic_of(system), semantic_kind(system),
                                     semantic_meta(cfg, paths.dataset, system), device)


def _load_feature_classifiers(paths: Paths, cfg: Config, path: Path, kind: str, meta: dict, device):
    from .ceiling import FeatureMLP

    spec = cfg.spec
    state = load_checkpoint(path, kind, {"dataset": paths.dataset}, meta)
    return per_point_models(state["models"], lambda: FeatureMLP(spec.k, int(state["hidden"]), spec.n_classes),
                            path, device)


def load_strong(paths: Paths, cfg: Config, device):
    spec = cfg.spec
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
    spec = cfg.spec
    tx, ty, vx, vy = load_raw_dataset(paths.dataset, cfg.data, cfg.entry)
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
    """Alg. 1 stage 1: Phi and Theta trained with CE through Psi at random T' and the channel; the epoch
    is chosen by the bypass receiver's validation accuracy averaged over ``validation.t_values``."""
    spec = cfg.spec
    split = load_split(paths.split)
    sched = schedule_of(cfg)
    torch.manual_seed(cfg.seed + SEED["jscc"])
    enc, clf = spec.encoder().to(device), spec.classifier().to(device)
    link = Link(enc, sched, cfg.channel.quantize_t2, cfg.channel.kind)  # the defender trains on channel.kind
    g = generator(cfg.seed + SEED["jscc"])
    gd = generator(cfg.seed + SEED["jscc"], device)
    x_all, y_all = split.tr_x, split.tr_y
    T, snr = cfg.schedule.T, cfg.channel.train_snr_db

    def step(idx):
        x = to_float(x_all[idx]).to(device)
        y = y_all[idx].to(device)
        f0 = link.features(x)
        if cfg.jscc.t_per_sample:  # every sample its own T': each batch spans the whole noise range
            t = torch.randint(0, cfg.jscc.t_max + 1, (x.shape[0],), generator=gd, device=device)
        else:
            t = int(torch.randint(0, cfg.jscc.t_max + 1, (1,), generator=g))
        r = link.send(f0, t, snr, gd)  # on the step the received signal matches (decisions §23)
        # stage 1 has no denoiser yet: f_hat := z_hat (the same input the "classifier" system uses)
        return F.cross_entropy(clf(r.z_in, r.z_in, r.t_frac), y)

    n_val = capped(split.val_y.shape[0], cfg.validation.max_images)

    def score():
        def bypass(z, tt):
            return clf(z, z, tt)
        return receiver_accuracy(link, bypass, split.val_x[:n_val], split.val_y[:n_val], cfg.validation.t_values,
                                 snr, device)

    opt, lrs = make_optimizer(list(enc.parameters()) + list(clf.parameters()), cfg.jscc.lr, mode="max")
    meta = jscc_config(cfg, paths.dataset)
    res = fit("jscc", {"encoder": enc, "classifier": clf}, opt, lrs, cfg.jscc.epochs, x_all.shape[0], cfg.jscc.batch_size,
              g, step, paths.resume("jscc"), meta, (gd,),
              validation=Validation(score, "acc_mean", "max", cfg.jscc.patience), extendable="jscc",
              ema=cfg.jscc.ema_decay)
    write_curve(paths.curve("jscc"), res.curve)
    save_checkpoint(paths.jscc, {"encoder": enc.state_dict(), "classifier": clf.state_dict()}, "jscc",
                    {"dataset": paths.dataset}, meta)
    return res.losses


# ----------------------------------------------------------------------------- stage 2


@torch.no_grad()
def soft_labels(clf: torch.nn.Module, f_t: torch.Tensor, t: torch.Tensor, T: int) -> torch.Tensor:
    """Stage-1 Theta's soft label on the noisy features f_t at step t (E-DiffSem trained on soft labels,
    ``diffusion.cond_labels: soft``): what the receiver's first pass feeds the U-Net when T' = t, since a
    received z_hat at T' is distributed as f_t at t = T' (Eq. 24)."""
    tt = (t.to(f_t.dtype) / T).view(-1, 1)
    return torch.softmax(clf(f_t, f_t, tt), dim=1)


def forward_noised(f0: torch.Tensor, alpha_bar: torch.Tensor, T: int, g: torch.Generator, t_min: int = 1):
    """A U-Net training sample (Eq. 11): t ~ U{t_min..T} per row (Eq. 15 draws from 1..T; scripts/unet_band_probe.py
    from one band), eps ~ N(0, I), f_t = sqrt(abar_t) f0 + sqrt(1 - abar_t) eps; returns (f_t, t, eps). Draws t, then
    eps, from ``g``."""
    t = torch.randint(t_min, T + 1, (f0.shape[0],), generator=g, device=f0.device)
    eps = torch.randn(f0.shape, generator=g, device=f0.device)
    a = alpha_bar[t].view(-1, *([1] * (f0.dim() - 1)))
    return a.sqrt() * f0 + (1 - a).sqrt() * eps, t, eps


def stage_diffusion(cfg: Config, paths: Paths, variant: str, device) -> list[float]:
    """Alg. 1 stage 2: the U-Net on frozen features with Eq. 15 (classifier-free when conditional)."""
    if variant not in ("uncond", "cond"):
        raise ValueError(f"diffusion variant must be 'uncond' or 'cond', got {variant!r}")
    spec = cfg.spec
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

    n_val = capped(split.val_y.shape[0], cfg.validation.max_images)
    f0_val = encode_all(enc, split.val_x[:n_val], device)
    soft = variant == "cond" and cfg.diffusion.cond_labels == "soft"
    if soft:
        clf = load_jscc(paths, cfg, device)[1]
        ctx_val = partial(soft_labels, clf, T=T)
    else:
        ctx_val = F.one_hot(split.val_y[:n_val].to(device), spec.n_classes).float() if variant == "cond" else None

    def score():
        return eps_mse(net, f0_val, ab, T, ctx_val)

    def step(idx):
        idx_d = idx.to(device)
        f0 = f0_all[idx_d]
        b = f0.shape[0]
        f_t, t, eps = forward_noised(f0, ab, T, gd)
        if variant == "cond":
            ctx = soft_labels(clf, f_t, t, T) if soft else F.one_hot(y_all[idx_d], spec.n_classes).float()
            drop = torch.rand(b, generator=gd, device=device) < cfg.diffusion.p_uncond
            pred = net(f_t, t, ctx, drop)
        else:
            pred = net(f_t, t)
        return F.mse_loss(pred, eps)  # Eq. 15

    opt, lrs = make_optimizer(net.parameters(), cfg.diffusion.lr)
    meta = unet_config(cfg, paths.dataset, variant)
    res = fit(f"diffusion-{variant}", {"model": net}, opt, lrs, cfg.diffusion.epochs, f0_all.shape[0],
              cfg.diffusion.batch_size, g, step, paths.resume(f"unet_{variant}"), meta, (gd,),
              validation=Validation(score, "eps_mse", "min", cfg.diffusion.patience), extendable="diffusion")
    write_curve(paths.curve(f"unet_{variant}"), res.curve)
    save_checkpoint(paths.unet(variant), {"model": net.state_dict()}, f"unet_{variant}", arch, meta)
    return res.losses


# ----------------------------------------------------------------------------- stage 3


def stage_adversary(cfg: Config, paths: Paths, device) -> dict[str, float]:
    """Alg. 1 stage 3 (attacker): one inversion network per (T', SNR) point, trained by chosen-plaintext
    queries of the frozen transmitter on the adversary's 40% split, through its own channel (Eq. 5)."""
    spec = cfg.spec
    split = load_split(paths.split)
    hear = listener(cfg, paths, "diffsem", device)
    send, val_send = hear(split.adv_x), hear(split.adv_val_x)
    models, final, curves = train_attackers(spec, send, split.adv_x, cfg.eval.attacker_points(), cfg.adversary,
                                            cfg.seed + SEED["adversary"], device, "adversary", paths.resume_dir,
                                            adversary_config(cfg, paths.dataset), val_send, split.adv_val_x)
    write_attacker_curves(paths.curve("adversary"), curves)
    save_checkpoint(paths.adversary, {"models": models}, "adversary", {"dataset": paths.dataset},
                    adversary_config(cfg, paths.dataset))
    return final


def train_judge(cfg: Config, paths: Paths, device, draw: int = 0):
    """The strong classifier of stage 3 on the run's attackers (``stage_strong``); ``draw`` > 0 trains another
    draw of the same recipe (its own initialisation and shuffling, no resume state), for the spread of the
    attack accuracy that is due to the judge alone (scripts/judge_spread.py).  Returns (net, FitResult)."""
    spec = cfg.spec
    split = load_split(paths.split)
    enc, _ = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    send = listener(cfg, paths, "diffsem", device)(split.adv_x)
    advs = load_adversaries(paths, cfg, device)
    views = attacker_views(send, advs, split.adv_y.to(device), sched.alpha_bar, cfg.schedule.T, device)
    val_score = strong_validation(cfg, link, advs, split, device)
    return train_strong(spec, torch.cat([split.tr_x, split.adv_x]), torch.cat([split.tr_y, split.adv_y]),
                        split.tr_x.shape[0], views, cfg.strong, cfg.seed + SEED["strong"] + 1000 * draw, device,
                        "strong" if draw == 0 else f"strong draw {draw}",
                        paths.resume("strong") if draw == 0 else None, strong_config(cfg, paths.dataset),
                        val_score)


def stage_strong(cfg: Config, paths: Paths, device) -> list[float]:
    """Alg. 1 stage 3 (evaluator): the strong classifier on clean x, adversary reconstructions x_hat at
    every attacker point, and directly noised x_tilde (Eq. 11 in pixel space) at random t, with labels."""
    net, res = train_judge(cfg, paths, device)
    write_curve(paths.curve("strong"), res.curve)
    save_checkpoint(paths.strong, {"model": net.state_dict()}, "strong", {"dataset": paths.dataset},
                    strong_config(cfg, paths.dataset))
    return res.losses


def headline_points(cfg: Config) -> list[tuple[int, float]]:
    """The attacker points nearest T' = 150 and 300 at the Fig. 4 SNR (the paper's headline points)."""
    snr = float(cfg.eval.snr_db)
    ts = sorted({t for t, s in cfg.eval.attacker_points() if s == snr})
    return list(dict.fromkeys((min(ts, key=lambda v: abs(v - want)), snr) for want in (150, 300)))


def strong_validation(cfg: Config, link_or_send, advs: dict, split, device):
    """The strong classifier's validation score on the adversary's validation slice: clean images and
    the attackers' reconstructions at the headline points (``link_or_send``: a Link over the attacked
    transmitter's encoder, or a send(rows, t, snr, g) function over adv_val rows)."""
    n = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    x_val, y_val = split.adv_val_x[:n], split.adv_val_y[:n]
    if isinstance(link_or_send, Link):
        f0 = encode_all(link_or_send.encoder, x_val, device)

        def send(rows, t, snr, g):
            return link_or_send.channel(link_or_send.transmit(f0[rows], t, snr, g), snr, g)
    else:
        send = link_or_send
    recon = reconstructions(send, advs, n, headline_points(cfg), device)
    return lambda net: strong_val_score(net, x_val, y_val, device, recon)


def write_attacker_curves(path: Path, curves: dict[str, list[dict]]) -> None:
    """All inversion networks' learning curves in one CSV (a ``point`` column: "t@snr")."""
    rows = [{"point": key, **r} for key, rs in curves.items() for r in rs]
    write_curve(path, rows)


def stage_ceiling(cfg: Config, paths: Paths, device) -> dict[str, float]:
    """The feature ceiling (docs/decisions.md §26): per grid point, a FeatureMLP as large as the
    unconditional U-Net, trained on received z_hat from the T-R training split (fresh draws every
    batch), its epoch chosen on the validation slice."""
    from .ceiling import ceiling_points

    split = load_split(paths.split)
    n_val = capped(split.val_y.shape[0], cfg.validation.max_images)
    return _feature_classifiers(cfg, paths, device, "ceiling", ceiling_points(cfg), (split.tr_x, split.tr_y),
                                (split.val_x[:n_val], split.val_y[:n_val]), paths.ceiling, ceiling_config(cfg, paths.dataset),
                                listener(cfg, paths, "diffsem", device), cfg.seed + SEED["ceiling"])


def stage_semantic(cfg: Config, paths: Paths, device, system: str = "diffsem") -> dict[str, float]:
    """The semantic attacker (issue "Attackers strong enough...", decisions §29): the ceiling's
    network and recipe, trained with labels on the z_hat the eavesdropper overhears for its own
    chosen-plaintext queries (the adversary's split), its epoch chosen on the adversary's validation
    slice; one per attacker point, like the inversion networks.  ``system``: whose transmitter it
    attacks — DiffSem's, or an IBAL system's (decisions §33)."""
    split = load_split(paths.split)
    n_val = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    return _feature_classifiers(cfg, paths, device, semantic_kind(system), cfg.eval.attacker_points(),
                                (split.adv_x, split.adv_y), (split.adv_val_x[:n_val], split.adv_val_y[:n_val]),
                                paths.semantic_of(system), semantic_meta(cfg, paths.dataset, system),
                                listener(cfg, paths, system, device), cfg.seed + SEED["semantic"])


def listener(cfg: Config, paths: Paths, system: str, device):
    """sender(x_uint8) -> send(rows, t, snr, g): what a listener at the grid point's SNR (the receiver, or an
    eavesdropper on an equally good channel) gets when ``system``'s transmitter sends images ``rows`` of
    ``x_uint8`` (features computed once, fresh channel and self-noise draws on every call)."""
    if system != "diffsem":
        from .baseline_stages import ibal_sender

        return ibal_sender(cfg, paths, system, device)
    enc, _ = load_jscc(paths, cfg, device)
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)

    def sender(x_uint8):
        f0 = encode_all(enc, x_uint8, device)
        return lambda rows, t, snr, g: link.channel(link.transmit(f0[rows], t, snr, g), snr, g)
    return sender


def _feature_classifiers(cfg: Config, paths: Paths, device, kind: str, points, train, val, out: Path, meta: dict,
                         sender, seed: int) -> dict[str, float]:
    """One FeatureMLP per point on ẑ of the ``train`` images (x, y), epoch chosen on ``val``; saves the
    checkpoint ``out`` and the learning curve ``curves/<kind>.csv``; returns each point's best accuracy.
    ``sender``: what the classifier hears (``listener``)."""
    from .ceiling import n_params, train_feature_classifier, width_for

    spec = cfg.spec
    send_tr, send_val = sender(train[0]), sender(val[0])
    hidden = width_for(n_params(build_unet(unet_arch(cfg, paths.dataset, "uncond"))), spec.k, spec.n_classes)
    models, best, rows = {}, {}, []
    for t, snr in points:
        key = point_key(t, snr)
        net, res = train_feature_classifier(spec.k, hidden, spec.n_classes, send_tr, train[1], t, snr, cfg.ceiling,
                                            seed, device,
                                            f"{kind} {key}", send_val, val[1], paths.resume_dir / f"{kind}_{key}.pt", meta)
        models[key] = net.state_dict()
        best[key] = next(r["val_acc"] for r in res.curve if r["selected"])
        rows += [{"point": key, **r} for r in res.curve]
    write_curve(paths.curve(kind), rows)
    save_checkpoint(out, {"models": models, "hidden": hidden}, kind, {"dataset": paths.dataset}, meta)
    return best


# ----------------------------------------------------------------------------- Alg. 2


def stage_finetune(cfg: Config, paths: Paths, system: str, device) -> list[float]:
    """Alg. 2 (or its control) as a stage: fine-tune (resumable, best validation epoch) and save Theta."""
    clf, res = finetune_receiver(cfg, paths, system, device, resume=True)
    write_curve(paths.curve(f"finetune_{system}"), res.curve)
    meta = receiver_config(cfg, paths.dataset, system)
    save_checkpoint(paths.receiver(system), {"model": clf.state_dict()}, f"receiver_{system}", {"dataset": paths.dataset}, meta)
    return res.losses


@torch.no_grad()
def receiver_bank(cfg: Config, system: str, link: Link, rx: Receivers, unet, x_uint8, y, ts, n_per_t: int,
                  g: torch.Generator, gd: torch.Generator, device) -> tuple[torch.Tensor, ...]:
    """Alg. 2's inputs, computed once: for each T' in ``ts``, ``n_per_t`` images (drawn with ``g``) sent
    at the training SNR, with what the system's denoiser makes of them: (z_hat, f_hat, T'/T, y).

    ``classifier-ft`` (the control) has no denoiser: f_hat := z_hat, as in stage 1.  E-DiffSem's f_hat
    is one conditional pass guided by the bypass soft label (the first pass of its inference loop)."""
    from tqdm import tqdm

    sched, snr = link.schedule, cfg.channel.train_snr_db
    n = min(n_per_t, x_uint8.shape[0])
    zs, fs, ts_, ys = [], [], [], []
    for t in tqdm(ts, desc=f"bank {system}", mininterval=5):
        idx = torch.randperm(x_uint8.shape[0], generator=g)[:n]
        for b in idx.split(cfg.eval.batch_size):
            x = to_float(x_uint8[b]).to(device)
            r = link.send(link.features(x), t, snr, gd)  # what Theta reads (decisions §23; per sample on fading)
            if system == "classifier-ft":
                f_hat = r.z_in
            else:
                f_hat = torch.empty_like(r.z_hat)
                for t_start, scale, m in r.groups():  # the denoiser runs per matched step
                    ctx = torch.softmax(rx.bypass_logits(r.z_in[m], t_start), 1) if system == "e-diffsem" else None
                    f_hat[m] = denoise(unet, r.z_hat[m], sched, t_start, scale, cfg.sampler.max_steps, ctx,
                                       cfg.sampler.guidance_w if system == "e-diffsem" else 0.0, cfg.sampler.precision,
                                       rx.graphs)
            zs.append(r.z_in)
            fs.append(f_hat)
            ts_.append(r.t_frac)
            ys.append(y[b].to(device))
    return tuple(map(torch.cat, (zs, fs, ts_, ys)))


def finetune_receiver(cfg: Config, paths: Paths, system: str, device, resume: bool = True):
    """Alg. 2: fine-tune a copy of Theta on [z_hat, f_hat, T'] over ``finetune.t_values``; returns (Theta, FitResult).

    f_hat does not depend on theta, so it is computed once per (image, T') into a bank and Theta is
    trained on the bank for several epochs.  Theta starts from the bypass classifier with its f_hat
    slot folded into the z_hat slot (``fold_fhat_into_zhat``), so fine-tuning starts exactly at the
    bypass accuracy.  The epoch is chosen on a validation bank (validation images at
    ``validation.t_values``).  ``classifier-ft`` is the control: the same Theta, bank size and budget
    on [z_hat, z_hat, T'] (docs/decisions.md §20).
    """
    if system not in FINETUNED:
        raise ValueError(f"finetune system must be one of {', '.join(FINETUNED)}, got {system!r}")
    split = load_split(paths.split)
    enc, clf0 = load_jscc(paths, cfg, device)
    unet = None if system == "classifier-ft" else load_unet(paths, cfg, "uncond" if system == "diffsem" else "cond", device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2, cfg.channel.kind)  # the defender trains on channel.kind
    g = generator(cfg.seed + SEED["finetune"])
    gd = generator(cfg.seed + SEED["finetune"], device)
    rx = Receivers(sched, clf0, **cfg.sampler.receiver_options())
    bank = receiver_bank(cfg, system, link, rx, unet, split.tr_x, split.tr_y, cfg.finetune.t_values,
                         cfg.finetune.n_per_t, g, gd, device)
    n_val = capped(split.val_y.shape[0], cfg.validation.max_images)
    gv, gvd = generator(SEED["finetune"] + 99), generator(SEED["finetune"] + 99, device)
    vbank = receiver_bank(cfg, system, link, rx, unet, split.val_x[:n_val], split.val_y[:n_val],
                          cfg.validation.t_values, n_val, gv, gvd, device)
    clf = cfg.spec.classifier().to(device)
    clf.load_state_dict(clf0.state_dict())
    clf.fold_fhat_into_zhat()

    def step(idx):
        i = idx.to(device)
        return F.cross_entropy(clf(bank[0][i], bank[1][i], bank[2][i]), bank[3][i])

    def score():
        z, f, tt, y = vbank
        hit = (clf(z, f, tt).argmax(1) == y).float()
        out = {f"acc_t{t}": float(hit[i * n_val : (i + 1) * n_val].mean()) for i, t in enumerate(cfg.validation.t_values)}
        out["acc_mean"] = float(hit.mean())
        return out

    opt, lrs = make_optimizer(clf.parameters(), cfg.finetune.lr, mode="max")
    meta = receiver_config(cfg, paths.dataset, system)
    res = fit(f"finetune-{system}", {"model": clf}, opt, lrs, cfg.finetune.epochs, bank[3].shape[0],
              cfg.finetune.batch_size, g, step, paths.resume(f"finetune_{system}") if resume else None, meta,
              validation=Validation(score, "acc_mean", "max", cfg.finetune.patience))
    return clf.eval(), res


__all__ = ["Paths", "FINETUNED", "stage_data", "stage_jscc", "stage_diffusion", "stage_adversary", "stage_strong", "train_judge", "stage_finetune",
           "load_jscc", "load_unet", "load_receiver", "load_adversaries", "load_strong", "schedule_of", "point_key",
           "Split"]
