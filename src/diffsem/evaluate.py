"""Evaluation grid (Sec. IV): receivers and the attacker at every (T', SNR) point, per seed.

For each point the transmitter sends the evaluation images once; the legitimate receiver and the
eavesdropper see independent channel realisations of the same transmission (Eq. 4: a separate
channel at the same SNR).  The attacker's reconstructions are scored by the strong classifier,
SSIM (Eq. 8) and PSNR (Eq. 7) with scikit-image, pixel range R = 1.

One row per (dataset, system, attack, t, snr_db, seed) goes into metrics.csv.  The attacker attacks
the transmitter, which the receivers share, so its columns are repeated on the receivers' rows.
``attack`` names the attacker (``ATTACKS``): the paper's protocol is ``inversion`` (DiffSem, IBAL,
IBAL-D) or ``image`` (Direct, Permutation: the strong classifier reads the received image); the
``semantic`` attacker's rows (a classifier on ẑ, decisions §29) and the ``diffusion``-prior attacker's
(decisions §32, headline points) come from their own rules with the receiver columns empty.
Each finished point is cached under reports/<ds>/seed<k>/eval_points/ (keyed by a fingerprint of the models
and settings), so an interrupted evaluation resumes per grid point.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from tqdm import tqdm

from .config import Config
from .data import load_split, to_float
from .io import atomic_path, write_json
from .pipeline import matched
from .stages import SEED, Paths, point_key

RECEIVERS = ("classifier", "classifier-ft", "diffsem", "e-diffsem")
# the receivers and the feature ceiling (an MLP trained on z_hat per point: what z_hat allows, decisions §26)
SYSTEMS = (*RECEIVERS, "ceiling")
# per-sample predictions (reports/<ds>/seed<k>/eval/<rule>_predictions.csv.gz): one row per image, system and point;
# role "receiver" or "attacker" (the strong classifier's label for the attacker's reconstruction)
PRED_COLUMNS = ["dataset", "system", "role", "t", "snr_db", "seed", "index", "label", "pred"]
COLUMNS = ["dataset", "system", "attack", "t", "snr_db", "seed", "receiver_acc", "attacker_acc", "attacker_ssim",
           "attacker_psnr", "n_eval", "ediffsem_passes"]
# the attackers of metrics.csv's `attack` column; PAPER_ATTACKS are the paper's evaluation protocol
ATTACKS = {"inversion": "inversion network per point, its reconstruction read by the strong classifier",
           "image": "the strong classifier reads the received image (Direct, Permutation: no z_hat to invert)",
           "semantic": "a classifier trained with labels on the eavesdropped z_hat per point (decisions §29)",
           "diffusion": "the eavesdropper's own U-Net denoises z_hat, then inversion and the strong classifier (decisions §32)"}
PAPER_ATTACKS = ("inversion", "image")
# metrics.csv adds the run's training seed (`seed` above is the evaluation-noise seed, eval.seeds)
METRICS_COLUMNS = ["dataset", "train_seed", *COLUMNS[1:]]


def image_metrics(x: np.ndarray, x_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and PSNR for NCHW arrays in [0, 1]."""
    ssim, psnr = np.empty(len(x)), np.empty(len(x))
    for i in range(len(x)):
        a, b = x[i].transpose(1, 2, 0), x_hat[i].transpose(1, 2, 0)
        ch = a.shape[2] > 1
        ssim[i] = structural_similarity(a if ch else a[..., 0], b if ch else b[..., 0], data_range=1.0,
                                        channel_axis=2 if ch else None)
        psnr[i] = peak_signal_noise_ratio(a, b, data_range=1.0)
    return ssim, psnr


def _fingerprint(cfg: Config, files: list[Path]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"eval": cfg.section("eval"), "sampler": cfg.section("sampler"),
                         "channel": cfg.section("channel"), "schedule": cfg.section("schedule")}, sort_keys=True).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def point_seed(seed: int, t: int, snr: float, offset: int = SEED["eval"]) -> int:
    """Seed of one evaluation point's noise draws (independent streams per seed, t, SNR and system)."""
    return (seed * 1_000_003 + t * 1009 + int(round((snr + 100) * 100))) % (2**62) + offset


def sample_indices(split, n_show: int = 8) -> torch.Tensor:
    """Test-set indices of the figure images: the first evaluation image of each class."""
    y = split.test_y[split.eval_idx]
    pick = [int(split.eval_idx[torch.nonzero(y == c).flatten()[0]]) for c in range(int(y.max()) + 1) if (y == c).any()]
    return torch.tensor(pick[:n_show])


def receivers_predict(rx, z_hat, t_start, scale) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Predicted labels of the four receivers on one received batch, and E-DiffSem's passes.

    Every receiver's Theta reads the received signal on the step it matches (t_start, scale from
    ``Link.receive_step``): T' and 1 whenever the compensation works (docs/decisions.md §23)."""
    z_in = matched(z_hat, scale)
    out = {"classifier": rx.bypass_logits(z_in, t_start).argmax(1)}
    if rx.classifier_ft is not None:  # the control (absent in the receiver search, which tunes the denoiser side)
        out["classifier-ft"] = rx.classifier_ft_logits(z_in, t_start).argmax(1)
    out["diffsem"] = rx.diffsem_logits(z_hat, t_start, scale).argmax(1)
    logits, passes = rx.ediffsem_logits(z_hat, t_start, scale)
    out["e-diffsem"] = logits.argmax(1)
    return out, passes


def receivers_correct(rx, z_hat, y, t_start, scale) -> tuple[dict[str, int], torch.Tensor]:
    """Correct predictions of the four receivers on one received batch, and E-DiffSem's passes."""
    preds, passes = receivers_predict(rx, z_hat, t_start, scale)
    return {s: int((p == y).sum()) for s, p in preds.items()}, passes


def prediction_rows(ds, system, role, t, snr, seed, index, label, pred) -> list[dict]:
    return [{"dataset": ds, "system": system, "role": role, "t": int(t), "snr_db": float(snr), "seed": int(seed),
             "index": int(i), "label": int(y), "pred": int(p)} for i, y, p in zip(index, label, pred)]


def transmissions(cfg, split, link, t: int, snr: float, seed: int, device, eve_snr: float | None = None):
    """The evaluation images of one grid point, sent once: yields (x, y, z_rx, z_eve) per batch, where the
    receiver and the eavesdropper see independent channel draws of the same transmission (Eq. 4).
    ``eve_snr`` (default: ``snr``) puts the eavesdropper on a channel of its own SNR; its draw is the
    same standard-normal draw scaled to that noise level, so the receivers' draws do not change.

    One definition of the point's draws: the receivers, the inversion attacker and the semantic
    attacker (scored by a separate rule) all see the same ẑ per image, so they pair image by image."""
    g = torch.Generator(device=device).manual_seed(point_seed(seed, t, snr))
    for b in split.images(cfg.eval.test_part(t, snr)).idx.split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        z = link.transmit(link.features(x), t, snr, g)
        z_rx = link.channel(z, snr, g)
        yield x, split.test_y[b].to(device), z_rx, link.channel(z, snr if eve_snr is None else eve_snr, g)


@torch.no_grad()
def attack_batch(adversary, strong, x: torch.Tensor, z_eve: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The paper's attacker on one eavesdropped batch: the inversion network's reconstruction, read by
    the strong classifier (Alg. 1 stage 3) -> (its labels on the CPU, per-image SSIM, per-image PSNR)."""
    x_hat = adversary(z_eve).clamp(0, 1)
    s, p = image_metrics(x.cpu().numpy(), x_hat.cpu().numpy())
    return strong(x_hat).argmax(1).cpu(), s, p


def attacker_columns(y: torch.Tensor, pred: torch.Tensor, ssims: list, psnrs: list) -> dict:
    """metrics.csv's attacker columns from a point's labels, the attacker's labels and per-batch SSIM/PSNR."""
    return {"attacker_acc": float((pred == y).float().mean()), "attacker_ssim": float(np.concatenate(ssims).mean()),
            "attacker_psnr": float(np.concatenate(psnrs).mean())}


@torch.no_grad()
def evaluate_attacker_point(cfg, split, link, adversary, strong, t, snr, seed, device, bypass=None) -> dict:
    """The paper's attacker alone at one grid point, on exactly the images and eavesdropper draws that
    ``evaluate_point`` gives it (``transmissions``), so its columns equal that point's metrics.csv row.
    For a run whose receivers are not trained (the eavesdropper's side needs stage 1 and stage 3 only):
    scripts/attacker_curve.py, the attacker-vs-SSIM curve behind the matched-SSIM claim.  With
    ``bypass`` (a ``Receivers`` holding stage 1's Theta) the bypass classifier is scored on the
    receiver's draws too (``classifier_acc``, equal to the ``classifier`` row of ``evaluate_point``)."""
    t_start, scale = link.receive_step(t, snr)
    labels, preds, rx_preds, ssims, psnrs = [], [], [], [], []
    for x, y, z_rx, z_eve in transmissions(cfg, split, link, t, snr, seed, device):
        if bypass is not None:
            rx_preds.append(bypass.bypass_logits(matched(z_rx, scale), t_start).argmax(1).cpu())
        a, s, p = attack_batch(adversary, strong, x, z_eve)
        labels.append(y.cpu())
        preds.append(a)
        ssims.append(s)
        psnrs.append(p)
    y_all = torch.cat(labels)
    rx = {"classifier_acc": float((torch.cat(rx_preds) == y_all).float().mean())} if rx_preds else {}
    return {"t": t, "snr_db": snr, "seed": seed, **rx, **attacker_columns(y_all, torch.cat(preds), ssims, psnrs),
            "n_eval": int(y_all.numel())}


@torch.no_grad()
def evaluate_point(cfg, ds, split, link, rx, adversary, strong, t, snr, seed, device, ceiling=None) -> tuple[list[dict], list[dict]]:
    """All systems and the attacker at one (t, snr, seed); returns (metrics.csv rows, per-sample rows).

    Every receiver sees the same received batch (same images, same channel draw), so any two of them
    can be compared with a paired test on the per-sample rows."""
    t_start, scale = link.receive_step(t, snr)
    idx = split.images(cfg.eval.test_part(t, snr)).idx
    preds = {s: [] for s in SYSTEMS}
    att_pred, labels, ssims, psnrs, passes = [], [], [], [], []
    for x, y, z_rx, z_eve in transmissions(cfg, split, link, t, snr, seed, device):
        pr, p = receivers_predict(rx, z_rx, t_start, scale)
        pr["ceiling"] = ceiling(z_rx).argmax(1)
        for s in SYSTEMS:
            preds[s].append(pr[s].cpu())
        passes.append(p.float())
        a, s, p_ = attack_batch(adversary, strong, x, z_eve)
        att_pred.append(a)
        labels.append(y.cpu())
        ssims.append(s)
        psnrs.append(p_)
    n = int(idx.numel())
    y_all, att_all = torch.cat(labels), torch.cat(att_pred)
    att = attacker_columns(y_all, att_all, ssims, psnrs)
    mean_passes = float(torch.cat(passes).mean())
    rows = [{"dataset": ds, "system": s, "attack": "inversion", "t": t, "snr_db": snr, "seed": seed,
             "receiver_acc": float((torch.cat(preds[s]) == y_all).float().mean()), **att,
             "n_eval": n, "ediffsem_passes": mean_passes if s == "e-diffsem" else math.nan} for s in SYSTEMS]
    index = idx.tolist()
    samples = [r for s in SYSTEMS for r in prediction_rows(ds, s, "receiver", t, snr, seed, index, y_all.tolist(),
                                                          torch.cat(preds[s]).tolist())]
    samples += prediction_rows(ds, "diffsem", "attacker", t, snr, seed, index, y_all.tolist(), att_all.tolist())
    return rows, samples


def write_predictions(path, samples: list[dict]) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(samples, columns=PRED_COLUMNS).to_csv(tmp, index=False, compression="gzip")


@torch.no_grad()
def noiseless_accuracy(cfg, split, link, rx, device) -> dict:
    """The receivers' upper bound: no self-noising (T' = 0) and a noiseless channel, so ẑ = f0 and
    only the training of Phi/Theta limits accuracy (separates training limits from the trade-off).
    Scored on the whole test set (``eval.noiseless_full_test``), not the grid's subset: no DDIM step runs
    at T' = 0, so it is cheap, and a bound near 98.5 % needs more than 500 images to be told from it
    (± 0.6 pt).  The smoke scale takes the subset: there Table II's encoder on 10,000 images is most of
    CIFAR-10's evaluation."""
    correct = {s: 0 for s in RECEIVERS}
    t_start, scale = link.receive_step(0, None)
    n = 0
    for y, z in noiseless_transmissions(cfg, split, link, device):
        c, _ = receivers_correct(rx, z, y, t_start, scale)
        n += int(y.numel())
        for s in RECEIVERS:
            correct[s] += c[s]
    return {"t": 0, "snr_db": None, "n_eval": n, **{f"{s}_acc": correct[s] / n for s in RECEIVERS}}


def noiseless_transmissions(cfg, split, link, device):
    """The noiseless bound's images, sent at T' = 0 over no channel: yields (y, z_hat = f0) per batch. Every
    test image (``eval.noiseless_full_test``) or the grid's subset; the one definition of the bound's input
    (``noiseless_accuracy``, scripts/stage1_bound.py)."""
    every = torch.arange(len(split.test_y)) if cfg.eval.noiseless_full_test else split.eval_idx
    for b in every.split(cfg.eval.batch_size):
        x = to_float(split.test_x[b]).to(device)
        yield split.test_y[b].to(device), link.channel(link.transmit(link.features(x), 0, None), None)


@torch.no_grad()
def adversary_samples(cfg, split, link, advs, device, n_show: int = 8) -> dict:
    """Originals and attacker reconstructions for Fig. 6: one test image per class, at each fig6_t."""
    pick = sample_indices(split, n_show)
    x = to_float(split.test_x[pick]).to(device)
    out = {"x": x.cpu(), "t": torch.tensor(list(cfg.eval.fig6_t)), "snr_db": torch.tensor(float(cfg.eval.snr_db))}
    recs = []
    for t in cfg.eval.fig6_t:
        g = torch.Generator(device=device).manual_seed(point_seed(cfg.seed, t, cfg.eval.snr_db) + 7)
        z = link.channel(link.transmit(link.features(x), t, cfg.eval.snr_db, g), cfg.eval.snr_db, g)
        recs.append(advs[(t, float(cfg.eval.snr_db))](z).clamp(0, 1).cpu())
    out["x_hat"] = torch.stack(recs)
    return out


def stage_evaluate(cfg: Config, paths: Paths, device) -> pd.DataFrame:
    ds = paths.dataset
    split = load_split(paths.split, with_test=True)  # evaluation: the one place (with the baselines') that reads test
    from .trained import TrainedRun

    run = TrainedRun(cfg, paths, device)  # the one loader of a run's models (diffsem.load)
    rx, advs, strong, ceiling, link = run.receivers, run.adversaries, run.strong, run.ceiling, run.link
    missing = [p for p in cfg.eval.attacker_points() if p not in advs]
    if missing:
        raise RuntimeError(f"evaluate: adversary checkpoint lacks points {missing[:3]}...; rerun train-adversary")
    model_files = [paths.jscc, paths.unet("uncond"), paths.unet("cond"), paths.receiver("diffsem"),
                   paths.receiver("e-diffsem"), paths.receiver("classifier-ft"), paths.adversary, paths.strong,
                   paths.ceiling, paths.split]
    fp = _fingerprint(cfg, model_files)
    rows, samples = [], []
    points = [(seed, t, snr) for seed in cfg.eval.seeds for t, snr in cfg.eval.grid_points()]
    for seed, t, snr in tqdm(points, desc=f"evaluate {ds}", mininterval=5):
        cache = paths.eval_points / f"{fp}_{seed}_{point_key(t, snr)}.json"
        if cache.is_file():
            blob = json.loads(cache.read_text())
            rows += blob["rows"]
            samples += blob["samples"]
            continue
        pr, ps = evaluate_point(cfg, ds, split, link, rx, advs[(t, float(snr))], strong, t, snr, seed, device,
                                ceiling[(t, float(snr))])
        write_json(cache, {"rows": pr, "samples": ps})
        rows += pr
        samples += ps
        print(f"evaluate {ds} t={t} snr={snr:g} seed={seed}: " +
              ", ".join(f"{r['system']} {r['receiver_acc']:.3f}" for r in pr) +
              f", attacker {pr[0]['attacker_acc']:.3f} (ssim {pr[0]['attacker_ssim']:.3f})", flush=True)
    df = pd.DataFrame(rows, columns=COLUMNS).sort_values(["system", "snr_db", "t", "seed"]).reset_index(drop=True)
    write_json(paths.eval_noiseless("diffsem"), noiseless_accuracy(cfg, split, link, rx, device))
    write_predictions(paths.predictions("diffsem"), samples)
    with atomic_path(paths.eval_part("diffsem")) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(paths.eval_samples("diffsem")) as tmp:
        torch.save(adversary_samples(cfg, split, link, advs, device), tmp)
    return df


@torch.no_grad()
def stage_evaluate_semantic(cfg: Config, paths: Paths, device, system: str = "diffsem") -> pd.DataFrame:
    """The semantic attacker on ``system``'s transmitter (DiffSem's, or an IBAL system's: decisions §33) at
    every attacker grid point: its accuracy on the eavesdropped ẑ of the same images and draws the
    receivers were scored on (``transmissions``; ``baseline_stages.ibal_eavesdropped`` for IBAL), as
    metrics.csv rows (attack ``semantic``, receiver columns empty) and per-sample predictions (role
    ``semantic``) for paired tests against the receivers."""
    from .stages import load_jscc, load_semantic, schedule_of, semantic_kind
    from .pipeline import Link

    split = load_split(paths.split, with_test=True)
    semantic = load_semantic(paths, cfg, device, system)
    missing = [p for p in cfg.eval.grid_points() if p not in semantic]
    if missing:
        raise ValueError(f"evaluate-semantic: the semantic attacker on {system} lacks points {missing[:3]}...; "
                         f"rerun train-semantic --system {system}")
    if system == "diffsem":
        enc, _ = load_jscc(paths, cfg, device)
        link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)

        def heard(t, snr, seed):
            return ((y, z_eve) for _, y, _, z_eve in transmissions(cfg, split, link, t, snr, seed, device))
    else:
        from .baseline_stages import ibal_eavesdropped, load_ibal

        tx, _ = load_ibal(paths, cfg, system, device)
        sched = schedule_of(cfg)

        def heard(t, snr, seed):
            return ibal_eavesdropped(split.images(cfg.eval.test_part(t, snr)), tx, sched, t, snr, seed,
                                     cfg.eval.batch_size, device)
    rows, samples = [], []
    for seed in cfg.eval.seeds:
        for t, snr in cfg.eval.grid_points():
            net = semantic[(t, float(snr))]
            pred, labels = [], []
            for y, z_eve in heard(t, snr, seed):
                pred.append(net(z_eve).argmax(1).cpu())
                labels.append(y.cpu())
            idx = split.images(cfg.eval.test_part(t, snr)).idx.tolist()
            row, per_sample = attacker_result(paths.dataset, "semantic", t, snr, seed, idx, torch.cat(labels),
                                              torch.cat(pred), system)
            rows.append(row)
            samples += per_sample
            print(f"evaluate-semantic {system} {paths.dataset} t={t} snr={snr:g} seed={seed}: {row['attacker_acc']:.3f}",
                  flush=True)
    return write_attacker_part(paths, semantic_kind(system), rows, samples)


def attacker_result(ds: str, attack: str, t: int, snr: float, seed: int, index: list[int], y: torch.Tensor,
                    pred: torch.Tensor, system: str = "diffsem") -> tuple[dict, list[dict]]:
    """The metrics.csv row (receiver columns empty) and the per-sample rows (role = ``attack``) of an extra
    attacker on ``system``'s transmitter scored on one point's images."""
    row = {"dataset": ds, "system": system, "attack": attack, "t": t, "snr_db": snr, "seed": seed,
           "receiver_acc": math.nan, "attacker_acc": float((pred == y).float().mean()), "attacker_ssim": math.nan,
           "attacker_psnr": math.nan, "n_eval": len(index), "ediffsem_passes": math.nan}
    return row, prediction_rows(ds, system, attack, t, snr, seed, index, y.tolist(), pred.tolist())


def write_attacker_part(paths: Paths, part: str, rows: list[dict], samples: list[dict]) -> pd.DataFrame:
    """An extra attacker's evaluation part (eval/<part>.csv) and its per-sample predictions."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    write_predictions(paths.predictions(part), samples)
    with atomic_path(paths.eval_part(part)) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df


def read_eval_part(path: Path, system: str) -> pd.DataFrame:
    """One evaluation rule's rows; parts written before the ``attack`` column get their paper-protocol name."""
    df = pd.read_csv(path)
    if "attack" not in df:
        df["attack"] = "image" if system in ("direct", "permutation") else "inversion"
    return df[COLUMNS]


def attack_rows(df: pd.DataFrame, attack: str, transmitter: str = "diffsem") -> pd.DataFrame:
    """metrics.csv rows of an extra attacker (``semantic``, ``diffusion``) on one transmitter's signal:
    DiffSem's by default (IBAL's semantic attacker has rows of its own, system ``ibal``/``ibal-d``)."""
    return df[(df.attack == attack) & (df.system == transmitter)] if "attack" in df else df.iloc[:0]


def paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    """metrics.csv rows of the paper's protocol (one attacker per system): no extra attackers."""
    return df[df.attack.isin(PAPER_ATTACKS)] if "attack" in df else df


def eval_parts(cfg: Config) -> list[str]:
    """The evaluation rules whose rows make up metrics.csv: DiffSem's, the semantic and diffusion-prior
    attackers' and each configured baseline's, and the semantic attacker's on each IBAL system."""
    from .baseline_stages import IBAL_SYSTEMS

    ibal = [s for s in cfg.baselines.systems if s in IBAL_SYSTEMS]
    return ["diffsem", "semantic", "diffusion", *cfg.baselines.systems, *(f"semantic_{s}" for s in ibal)]


def read_parts(paths: Paths, parts) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One seed's evaluation parts (eval/<part>.csv, each present) as one frame of rows, and the per-sample
    predictions of those that saved them as another (None if none did)."""
    rows = pd.concat([read_eval_part(paths.eval_part(p), p) for p in parts], ignore_index=True)
    preds = [paths.predictions(p) for p in parts if paths.predictions(p).is_file()]
    return rows, (pd.concat([pd.read_csv(p) for p in preds], ignore_index=True) if preds else None)


def stage_collect(cfg: Config, paths: Paths) -> pd.DataFrame:
    """metrics.csv = every evaluation rule's rows (DiffSem's and each configured baseline's); metrics.json."""
    parts = eval_parts(cfg)
    missing = [p for p in parts if not paths.eval_part(p).is_file()]
    if missing:
        raise FileNotFoundError(f"collect: evaluation results missing for {missing}; run their evaluate rules")
    df, pred = read_parts(paths, parts)
    df = df.assign(train_seed=cfg.seed)[METRICS_COLUMNS]
    with atomic_path(paths.metrics_csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    if pred is not None:
        from .stats import compare

        cmp = compare(pred)
        with atomic_path(paths.comparisons) as tmp:
            cmp.to_csv(tmp, index=False, float_format="%.6g")
    write_plot_data(paths.plots, df, cfg)
    head = headline(df, cfg)
    if paths.eval_noiseless("diffsem").is_file():
        head["noiseless"] = json.loads(paths.eval_noiseless("diffsem").read_text())
    write_json(paths.metrics_json, head)
    return df


def write_plot_data(folder: Path, df: pd.DataFrame, cfg: Config) -> None:
    """Plot data for `dvc plots show/diff` at the Fig. 4 SNR (mean over evaluation-noise seeds):
    ``accuracy_vs_t.csv`` (t, one receiver-accuracy column per system, ``attacker`` and ``semantic``:
    the inversion and semantic attackers on DiffSem's transmitter) and one ``<system>.csv`` per system (t, receiver and attacker accuracy, the attacker's
    SSIM and PSNR: the privacy-utility frontier and Figs. 5/7 for that system)."""
    at_snr = df[df.snr_db == float(cfg.eval.snr_db)]
    main = paper_rows(at_snr).groupby(["system", "t"], sort=False).mean(numeric_only=True).reset_index()
    wide = main.pivot(index="t", columns="system", values="receiver_acc").dropna(axis=1, how="all")
    wide["attacker"] = main[main.system == "classifier"].set_index("t").attacker_acc
    sem = attack_rows(at_snr, "semantic").groupby("t").attacker_acc.mean()
    if not sem.empty:
        wide["semantic"] = sem
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "accuracy_vs_t.csv") as tmp:
        wide.reset_index().to_csv(tmp, index=False, float_format="%.6g")
    for system, g in main.groupby("system", sort=False):
        cols = ["t", "receiver_acc", "attacker_acc", "attacker_ssim", "attacker_psnr"]
        with atomic_path(folder / f"{system}.csv") as tmp:
            g[cols].sort_values("t").to_csv(tmp, index=False, float_format="%.6g")


def headline(df: pd.DataFrame, cfg: Config) -> dict:
    """Numbers for `dvc metrics show`: accuracies at the Fig. 4 SNR at T' = 150 and 300 (nearest grid t)
    and averaged over the grid, with binomial standard errors; ``attacker_*`` is the paper's (inversion)
    attacker, ``semantic_attacker_*`` and ``diffusion_attacker_*`` the extra ones."""
    at_snr = df[df.snr_db == float(cfg.eval.snr_db)]
    main, sem = paper_rows(at_snr), attack_rows(at_snr, "semantic")
    prior = attack_rows(at_snr, "diffusion")
    out: dict = {"n_eval": int(df.n_eval.iloc[0]), "snr_db": float(cfg.eval.snr_db)}
    ts = sorted(main.t.unique())
    others = [s for s in main.system.unique() if s not in SYSTEMS]
    for want in (150, 300):
        t = min(ts, key=lambda v: abs(v - want))
        at = main[main.t == t].groupby("system").mean(numeric_only=True)
        n = int(at.loc["classifier", "n_eval"]) * len(cfg.eval.seeds)  # the full test set at headline points
        d = {"t": int(t), "n_eval": int(at.loc["classifier", "n_eval"])}
        for s in SYSTEMS:
            p = float(at.loc[s, "receiver_acc"])
            d[f"{s}_acc"] = round(p, 4)
            d[f"{s}_se"] = round(math.sqrt(p * (1 - p) / n), 4)
        p = float(at.loc["classifier", "attacker_acc"])
        d.update(attacker_acc=round(p, 4), attacker_se=round(math.sqrt(p * (1 - p) / n), 4),
                 attacker_ssim=round(float(at.loc["classifier", "attacker_ssim"]), 4))
        for name, rows in (("semantic", sem), ("diffusion", prior)):  # the extra attackers (decisions §29, §32)
            if (rows.t == t).any():
                p = float(rows[rows.t == t].attacker_acc.mean())
                d.update({f"{name}_attacker_acc": round(p, 4), f"{name}_attacker_se": round(math.sqrt(p * (1 - p) / n), 4)})
        for s in others:  # baselines: their receiver (IBAL) and attacker accuracy at the same point
            if not math.isnan(at.loc[s, "receiver_acc"]):
                d[f"{s}_acc"] = round(float(at.loc[s, "receiver_acc"]), 4)
            d[f"{s}_attacker_acc"] = round(float(at.loc[s, "attacker_acc"]), 4)
        out[f"t{want}"] = d
    mean = main.groupby("system").receiver_acc.mean()
    out["grid_mean"] = {f"{s}_acc": round(float(mean[s]), 4) for s in SYSTEMS}
    out["grid_mean"]["attacker_acc"] = round(float(main[main.system == "classifier"].attacker_acc.mean()), 4)
    if not sem.empty:
        out["grid_mean"]["semantic_attacker_acc"] = round(float(sem.attacker_acc.mean()), 4)
    return out
