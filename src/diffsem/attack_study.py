"""Attackers under changed conditions, at the headline points (issue #13 items 4-6; decisions §30).

Each condition changes one thing about the eavesdropper and re-trains its attackers on the
adversary's split only (choices on the adversary's own validation slice, under the same condition):

- ``eve_snr``: its channel is ``offset`` dB worse than the receiver's (the transmitter still
  self-noises for the receiver's SNR, Eq. 24) — the physical-layer-security view of the system;
- ``queries``: it may query only a share of its split (chosen-plaintext budget);
- ``surrogate``: its images come from another distribution than the users' — ``classes``: it
  holds only the first half of the classes; ``shifted``: its images are affine- and
  contrast-shifted before it queries the transmitter.

The semantic attacker (a classifier on ẑ, decisions §29) is trained in every condition; the
inversion network (Eq. 5) in the studies listed in ``attack_study.inversion``, judged by the run's
strong classifier.  Both are scored on the receivers' test images and draws
(``evaluate.transmissions``, the eavesdropper's draw at its own SNR), so every row pairs with the
receivers' saved predictions: McNemar and a paired bootstrap interval for E-DiffSem − attacker,
Holm over the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .config import Config
from .data import Split, load_split, stratified_indices, to_float
from .stats import holm, mcnemar_exact, paired_bootstrap_ci

STUDIES = ("eve_snr", "queries", "surrogate")
COLUMNS = ["dataset", "train_seed", "study", "setting", "attack", "t", "snr_db", "eve_snr_db", "n_queries", "seed",
           "n_eval", "attacker_acc", "attacker_acc_unseen", "classifier_acc", "e-diffsem_acc", "gap_pts", "ci_lo_pts",
           "ci_hi_pts", "p", "p_holm"]


@dataclass(frozen=True)
class Condition:
    """One changed condition of the eavesdropper (the reference: offset 0, every query, same data)."""

    study: str
    setting: str
    eve_offset_db: float = 0.0
    fraction: float = 1.0
    surrogate: str | None = None

    @property
    def key(self) -> str:
        return f"{self.study}_{self.setting}".replace(" ", "").replace("/", "-")


def conditions(scfg) -> list[Condition]:
    """The study's conditions from params.yaml's ``attack_study`` section."""
    out = [Condition("eve_snr", f"{float(o):g} dB worse", eve_offset_db=float(o)) for o in scfg.eve_snr_offsets_db]
    out += [Condition("queries", f"{float(f):g}", fraction=float(f)) for f in scfg.query_fractions]
    out += [Condition("surrogate", s, surrogate=s) for s in scfg.surrogate]
    return out


def shift_images(x: torch.Tensor, seed: int, max_deg: float = 15.0, max_shift: float = 0.1,
                 scale: tuple[float, float] = (0.9, 1.1), contrast: tuple[float, float] = (0.6, 1.4)) -> torch.Tensor:
    """uint8 NCHW images under a random affine map (rotation, translation, scale) and a contrast change
    about each image's mean, one fixed draw per image (the surrogate ``shifted`` distribution)."""
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g)  # noqa: E731
    ang, s = u(-max_deg, max_deg) * math.pi / 180, u(*scale)
    tx, ty, c = u(-max_shift, max_shift) * 2, u(-max_shift, max_shift) * 2, u(*contrast)
    theta = torch.stack([torch.stack([torch.cos(ang) / s, -torch.sin(ang) / s, tx], 1),
                         torch.stack([torch.sin(ang) / s, torch.cos(ang) / s, ty], 1)], 1)
    out = []
    for i in range(0, n, 1024):
        xf = to_float(x[i : i + 1024])
        grid = F.affine_grid(theta[i : i + 1024], list(xf.shape), align_corners=False)
        xs = F.grid_sample(xf, grid, align_corners=False, padding_mode="zeros")
        mean = xs.mean(dim=(1, 2, 3), keepdim=True)
        xs = (mean + c[i : i + 1024].view(-1, 1, 1, 1) * (xs - mean)).clamp(0, 1)
        out.append((xs * 255).round().to(torch.uint8))
    return torch.cat(out)


def adversary_data(split: Split, cond: Condition, n_classes: int, seed: int):
    """(x, y, x_val, y_val) the eavesdropper holds under ``cond``: its split and its own validation
    slice, both cut or transformed the same way (a budget-limited attacker validates on as few)."""
    x, y, xv, yv = split.adv_x, split.adv_y, split.adv_val_x, split.adv_val_y
    if cond.fraction < 1.0:
        n = max(n_classes, int(round(cond.fraction * y.numel())))
        nv = max(n_classes, int(round(cond.fraction * yv.numel())))
        keep, keep_v = stratified_indices(y, n, n_classes, seed), stratified_indices(yv, nv, n_classes, seed + 1)
        x, y, xv, yv = x[keep], y[keep], xv[keep_v], yv[keep_v]
    if cond.surrogate == "classes":
        known, known_v = y < n_classes // 2, yv < n_classes // 2
        x, y, xv, yv = x[known], y[known], xv[known_v], yv[known_v]
    elif cond.surrogate == "shifted":
        x, xv = shift_images(x, seed), shift_images(xv, seed + 1)
    return x, y, xv, yv


def study_config(cfg: Config, ds: str) -> dict:
    """What a study's attacker states depend on (their resume states are kept per condition and point)."""
    from .stages import jscc_config

    return {"jscc": jscc_config(cfg, ds), "ceiling": cfg.section("ceiling"), "adversary": cfg.section("adversary"),
            "attack_study": {k: v for k, v in cfg.section("attack_study").items() if k != "prior_queries"},
            "n_feat": cfg.diffusion.n_feat}


def _paired(rx: np.ndarray, att: np.ndarray, seed: int) -> dict:
    m = mcnemar_exact(rx, att)
    lo, hi = paired_bootstrap_ci(rx, att, 1000, seed=seed)
    return {"gap_pts": 100 * m.diff, "ci_lo_pts": 100 * lo, "ci_hi_pts": 100 * hi, "p": m.p}


def receiver_predictions(paths) -> pd.Series:
    """The receivers' saved per-sample predictions, indexed (system, t, snr_db, seed, index)."""
    pred_file = paths.predictions("diffsem")
    if not pred_file.is_file():
        raise FileNotFoundError(f"attack study: the receivers' predictions {pred_file} are missing; run evaluate first")
    rx_pred = pd.read_csv(pred_file)
    return rx_pred[rx_pred.role == "receiver"].set_index(["system", "t", "snr_db", "seed", "index"]).pred


@torch.no_grad()
def score_attackers(cfg: Config, paths, split, link, rx_pred: pd.Series, attackers: dict, t: int, snr: float, off: float,
                    cond: Condition, n_queries: int, device) -> list[dict]:
    """Rows of the study for ``attackers`` (name -> labels from z_eve) at (t, snr) with the eavesdropper
    ``off`` dB below, scored on the receivers' images and draws and paired with E-DiffSem's predictions."""
    from .evaluate import transmissions

    n_classes, rows = cfg.spec.n_classes, []
    for eval_seed in cfg.eval.seeds:
        idx = split.images(cfg.eval.test_part(t, snr)).idx
        labels, preds = [], {a: [] for a in attackers}
        for _, yb, _, z_eve in transmissions(cfg, split, link, t, snr, eval_seed, device, eve_snr=snr - off):
            labels.append(yb.cpu())
            for a, fn in attackers.items():
                preds[a].append(fn(z_eve).cpu())
        y_all = torch.cat(labels).numpy()
        rx = {s: rx_pred.loc[(s, t, float(snr), eval_seed)].loc[idx.tolist()].to_numpy() == y_all
              for s in ("classifier", "e-diffsem")}
        unseen = y_all >= n_classes // 2
        for a in attackers:
            ok = torch.cat(preds[a]).numpy() == y_all
            rows.append({"dataset": paths.dataset, "train_seed": cfg.seed, "study": cond.study, "setting": cond.setting,
                         "attack": a, "t": t, "snr_db": snr, "eve_snr_db": snr - off, "n_queries": n_queries,
                         "seed": eval_seed, "n_eval": int(ok.size), "attacker_acc": float(ok.mean()),
                         "attacker_acc_unseen": float(ok[unseen].mean()) if cond.surrogate == "classes" else math.nan,
                         "classifier_acc": float(rx["classifier"].mean()), "e-diffsem_acc": float(rx["e-diffsem"].mean()),
                         **_paired(rx["e-diffsem"], ok, seed=int(t) + 7 * eval_seed)})
            print(f"{paths.dataset} {cond.study} {cond.setting} {a} t={t}: attacker "
                  f"{rows[-1]['attacker_acc']:.4f}, e-diffsem {rows[-1]['e-diffsem_acc']:.4f}", flush=True)
    return rows


def write_study(rows: list[dict], path) -> pd.DataFrame:
    """A study's rows with Holm-adjusted p over the whole table, written atomically."""
    from .io import atomic_path

    df = pd.DataFrame(rows, columns=COLUMNS)
    df["p_holm"] = holm(df.p.to_numpy()) if len(df) else []
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df


def stage_attack_study(cfg: Config, paths, device) -> pd.DataFrame:
    """Every condition at every headline point: train the attackers, score them on the receivers'
    draws, pair with the receivers' predictions; writes ``reports/<ds>/seed<k>/attack_study.csv``."""
    from .attack import train_attackers
    from .ceiling import n_params, train_feature_classifier, width_for
    from .pipeline import Link
    from .stages import (SEED, build_unet, encode_all, headline_points, load_jscc, load_strong, schedule_of,
                         unet_arch, point_key)

    spec = cfg.spec
    rx_pred = receiver_predictions(paths)
    split = load_split(paths.split, with_test=True)
    enc, _ = load_jscc(paths, cfg, device)
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)
    strong = load_strong(paths, cfg, device) if cfg.attack_study.inversion else None
    hidden = width_for(n_params(build_unet(unet_arch(cfg, paths.dataset, "uncond"))), spec.k, spec.n_classes)
    meta = study_config(cfg, paths.dataset)
    seed = cfg.seed + SEED["study"]
    rows = []
    for cond in conditions(cfg.attack_study):
        x, y, xv, yv = adversary_data(split, cond, spec.n_classes, seed)
        f_tr, f_val = encode_all(enc, x, device), encode_all(enc, xv, device)
        off = cond.eve_offset_db

        def sender(f0, off=off):
            # the transmitter self-noises for the receiver's SNR; the eavesdropper hears it `off` dB worse
            return lambda r, t, snr, g: link.channel(link.transmit(f0[r], t, snr, g), snr - off, g)

        for t, snr in headline_points(cfg):
            key = f"{cond.key}_{point_key(t, snr)}"
            attackers = {}
            net, _ = train_feature_classifier(spec.k, hidden, spec.n_classes, sender(f_tr), y, t, snr, cfg.ceiling, seed,
                                              device, f"study semantic {key}", sender(f_val), yv,
                                              paths.resume_dir / f"study_semantic_{key}.pt", meta)
            attackers["semantic"] = lambda z, net=net: net(z).argmax(1)
            if cond.study in cfg.attack_study.inversion:
                states, _, _ = train_attackers(spec, sender(f_tr), x, [(t, snr)], cfg.adversary, seed, device,
                                               f"study_inversion_{cond.key}", paths.resume_dir, meta, sender(f_val), xv)
                adv = spec.adversary().to(device)
                adv.load_state_dict(states[point_key(t, snr)])
                adv.eval()
                attackers["inversion"] = lambda z, adv=adv: strong(adv(z).clamp(0, 1)).argmax(1)
            rows += score_attackers(cfg, paths, split, link, rx_pred, attackers, t, snr, off, cond, int(y.numel()), device)
    return write_study(rows, paths.attack_study)


PROTOCOL = ("reference", "one inversion net for all T'", "strong classifier without x_hat")


def stage_attack_protocol(cfg: Config, paths, device) -> pd.DataFrame:
    """Which evaluation choices move the gap (issue #13 item 3), at the headline points: the paper's
    attacker (``reference``: one inversion network per T', judged by the strong classifier trained with
    the attackers' reconstructions x̂) against (a) one inversion network trained across every attacker
    T' at the training SNR (per-sample T', a weaker and cheaper attacker), judged by the same strong
    classifier, and (b) the reference inversion networks judged by a strong classifier trained without
    any x̂ (clean and directly noised images only; epoch chosen on clean validation accuracy).  Rows
    like the attack study's; writes ``reports/<ds>/seed<k>/attack_protocol.csv``."""
    from .attack import attacker_views, strong_val_score, train_attackers, train_strong
    from .pipeline import Link
    from .stages import (SEED, encode_all, headline_points, jscc_config, load_adversaries, load_jscc, load_strong,
                         point_key, schedule_of)
    from .validation import capped

    spec = cfg.spec
    rx_pred = receiver_predictions(paths)
    split = load_split(paths.split, with_test=True)
    enc, _ = load_jscc(paths, cfg, device)
    sched = schedule_of(cfg)
    link = Link(enc, sched, cfg.channel.quantize_t2)
    strong, advs = load_strong(paths, cfg, device), load_adversaries(paths, cfg, device)
    snr = float(cfg.eval.snr_db)
    ts = torch.tensor(sorted({t for t, s in cfg.eval.attacker_points() if s == snr}), device=device)
    meta = {"jscc": jscc_config(cfg, paths.dataset), "adversary": cfg.section("adversary"),
            "strong": cfg.section("strong"), "ts": ts.tolist()}
    seed = cfg.seed + SEED["protocol"]
    f_adv, f_val = encode_all(enc, split.adv_x, device), encode_all(enc, split.adv_val_x, device)

    def any_t(f0):  # one T' per sample, uniform over the attacker grid at the training SNR
        def send(rows, t, snr_, g):
            pick = ts[torch.randint(len(ts), (rows.numel(),), generator=g, device=ts.device)]
            return link.channel(link.transmit_each(f0[rows], pick, snr_, g), snr_, g)
        return send

    states, _, _ = train_attackers(spec, any_t(f_adv), split.adv_x, [(0, snr)], cfg.adversary, seed, device,
                                   "protocol_one_net", paths.resume_dir, meta, any_t(f_val), split.adv_val_x)
    one_net = spec.adversary().to(device)
    one_net.load_state_dict(states[point_key(0, snr)])
    one_net.eval()

    n = capped(split.adv_val_y.shape[0], cfg.validation.max_images)
    x_val, y_val = split.adv_val_x[:n], split.adv_val_y[:n]
    views = attacker_views(None, {}, split.adv_y.to(device), sched.alpha_bar, cfg.schedule.T, device)  # x_tilde only
    judge, _ = train_strong(spec, torch.cat([split.tr_x, split.adv_x]), torch.cat([split.tr_y, split.adv_y]),
                            split.tr_x.shape[0], views, cfg.strong, seed, device, "protocol strong without x_hat",
                            paths.resume_dir / "protocol_strong_without_xhat.pt", meta,
                            lambda net: strong_val_score(net, x_val, y_val, device))
    judge.eval()
    rows = []
    for t, snr_ in headline_points(cfg):
        adv = advs[(t, snr_)]
        attackers = {PROTOCOL[0]: lambda z, adv=adv: strong(adv(z).clamp(0, 1)).argmax(1),
                     PROTOCOL[1]: lambda z: strong(one_net(z).clamp(0, 1)).argmax(1),
                     PROTOCOL[2]: lambda z, adv=adv: judge(adv(z).clamp(0, 1)).argmax(1)}
        for setting, fn in attackers.items():
            rows += score_attackers(cfg, paths, split, link, rx_pred, {"inversion": fn}, t, snr_, 0.0,
                                    Condition("protocol", setting), int(split.adv_y.numel()), device)
    return write_study(rows, paths.attack_protocol)
