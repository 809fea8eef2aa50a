"""The eavesdropper and its judge, for any transmitter (Alg. 1 stage 3, Fig. 2).

``send(rows, t, snr_db, g) -> z_hat`` is what the eavesdropper observes for adversary-split rows at
an operating point.  ``train_attackers`` fits one inversion network per point by MSE (Eq. 5) on
fresh chosen-plaintext queries each epoch; ``train_strong`` fits the strong classifier on clean
images plus whatever distorted views the caller supplies (attacker reconstructions, directly
noised or permuted images).  DiffSem and every baseline use these same two functions, so all
attackers are equally strong and judged by the same architecture (Sec. IV-B).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .channel import direct_noise
from .data import to_float
from .runtime import generator
from .training import Validation, fit, make_optimizer
from .validation import VAL_SEED

SendFn = Callable[[torch.Tensor, int, float, torch.Generator], torch.Tensor]
# views(x, rows_on_device, adversary_rows, g_cpu, g_device) -> [(images, labels or None = the batch's), ...]
ViewsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator, torch.Generator], list]


def point_key(t: int, snr: float) -> str:
    return f"{int(t)}@{float(snr):g}"


def train_attackers(spec, send: SendFn, x_adv: torch.Tensor, points, acfg, seed: int, device, label: str = "adversary",
                    resume_dir=None, meta=None, val_send: SendFn | None = None, x_val: torch.Tensor | None = None,
                    extendable: str | None = "adversary", warmup: int = 0):
    """One inversion network per (t, snr) point; returns ({key: state_dict}, {key: final loss},
    {key: learning curve}).

    With ``resume_dir``, each point's training resumes from its own per-epoch state there.  With
    ``val_send``/``x_val`` (the adversary's own validation slice: its choices never see the defender's
    data) each point keeps its best-validation-MSE epoch and stops early after ``acfg.patience``.
    ``extendable`` names the section of ``meta`` holding the epoch cap: a larger cap continues each
    point's saved state (points that had early-stopped stay stopped; training.fit).  ``warmup`` epochs are
    recorded but neither selected nor counted towards patience or learning-rate decay (Validation.start_epoch)."""
    models, final, curves = {}, {}, {}
    for t, snr in points:
        key = point_key(t, snr)
        torch.manual_seed(seed)
        net = spec.adversary().to(device)
        g = generator(seed)
        gd = generator(seed, device)

        def step(idx, net=net, t=t, snr=snr, gd=gd):
            z_hat = send(idx.to(device), t, snr, gd)  # fresh queries every epoch
            return F.mse_loss(net(z_hat), to_float(x_adv[idx]).to(device))  # Eq. 5

        validation = None
        if val_send is not None:
            def score(net=net, t=t, snr=snr):
                gv = generator(VAL_SEED + t, device)
                rows = torch.arange(x_val.shape[0], device=device)
                err = 0.0
                for b in rows.split(512):
                    err += float(F.mse_loss(net(val_send(b, t, snr, gv)), to_float(x_val[b.cpu()]).to(device),
                                            reduction="sum"))
                return {"mse": err / (x_val[0].numel() * x_val.shape[0])}
            validation = Validation(score, "mse", "min", acfg.patience, start_epoch=warmup)

        opt, lrs = make_optimizer(net.parameters(), acfg.lr)
        resume = None if resume_dir is None else resume_dir / f"{label.replace(' ', '_')}_{key}.pt"
        res = fit(f"{label} {key}", {"model": net}, opt, lrs, acfg.epochs, x_adv.shape[0], acfg.batch_size, g, step,
                  resume, meta, (gd,), acfg.items_per_epoch, validation,
                  extendable=extendable if meta is not None and extendable in meta else None)
        models[key] = net.state_dict()
        final[key] = res.final_loss
        curves[key] = res.curve
    return models, final, curves


def attacker_views(send: SendFn, advs: dict, y_adv: torch.Tensor, alpha_bar: torch.Tensor, T: int, device) -> ViewsFn:
    """The strong classifier's distorted views (Alg. 1 lines 15-16): every image noised directly at a
    uniformly random level (x_tilde), plus, for adversary-split rows, an attacker's reconstruction at a
    random point (x_hat).  ``advs`` maps (t, snr) to that point's inversion network."""
    points = list(advs)
    ab = alpha_bar.to(device=device, dtype=torch.float32)

    def views(x, idx_d, adv_rows, g, gd):
        t = torch.randint(0, T + 1, (x.shape[0],), generator=gd, device=device)
        out = [(direct_noise(x, ab[t], gd), None)]
        if adv_rows.numel() and points:  # no attackers given: the directly noised view only
            t_, s_ = points[int(torch.randint(0, len(points), (1,), generator=g))]
            with torch.no_grad():
                out.append((advs[(t_, s_)](send(adv_rows, t_, s_, gd)).clamp(0, 1), y_adv[adv_rows]))
        return out

    return views


def train_strong(spec, x_all, y_all, n_tr: int, views: ViewsFn, scfg, seed: int, device, label: str,
                 resume_path=None, meta=None, val_score: Callable | None = None):
    """Strong classifier on clean x and the caller's views; x_all = [T-R split; adversary split]
    (training rows only: it trains on neither validation slice).  ``val_score(net) -> {"acc_mean": ...}``
    selects the epoch; returns (net, FitResult)."""
    torch.manual_seed(seed)
    net = spec.strong().to(device)
    g = generator(seed)
    gd = generator(seed, device)
    y_dev = y_all.to(device)

    def step(idx):
        idx_d = idx.to(device)
        x = to_float(x_all[idx]).to(device)
        y = y_dev[idx_d]
        adv_rows = idx_d[idx_d >= n_tr] - n_tr
        parts, labels = [x], [y]
        for xv, yv in views(x, idx_d, adv_rows, g, gd):
            parts.append(xv)
            labels.append(y if yv is None else yv)
        return F.cross_entropy(net(torch.cat(parts)), torch.cat(labels))

    validation = None if val_score is None else Validation(lambda: val_score(net), "acc_mean", "max", scfg.patience)
    opt, lrs = make_optimizer(net.parameters(), scfg.lr, mode="max" if validation else "min")
    res = fit(label, {"model": net}, opt, lrs, scfg.epochs, x_all.shape[0], scfg.batch_size, g, step,
              resume_path, meta, (gd,), scfg.items_per_epoch, validation)
    return net, res


@torch.no_grad()
def strong_val_score(net, x_val: torch.Tensor, y_val: torch.Tensor, device, recon: dict | None = None) -> dict:
    """The strong classifier's validation accuracy on the adversary's validation slice: clean images
    and, when given, what the attackers reconstruct there (``recon``: name -> images), and their mean."""
    def acc(x):
        correct = 0
        for i in range(0, x.shape[0], 512):
            correct += int((net(x[i : i + 512]).argmax(1) == y_val[i : i + 512].to(device)).sum())
        return correct / max(int(x.shape[0]), 1)

    out = {"acc_clean": acc(to_float(x_val).to(device))}
    for name, xr in (recon or {}).items():
        out[f"acc_{name}"] = acc(xr)
    out["acc_mean"] = sum(out.values()) / len(out)
    return out


@torch.no_grad()
def reconstructions(send: SendFn, advs: dict, n: int, points, device) -> dict:
    """Fixed reconstructions of the first ``n`` validation rows at ``points`` (for ``strong_val_score``)."""
    rows = torch.arange(n, device=device)
    out = {}
    for t, snr in points:
        gv = generator(VAL_SEED + 31 * t, device)
        out[f"xhat_{point_key(t, snr)}"] = torch.cat([advs[(t, snr)](send(b, t, snr, gv)).clamp(0, 1)
                                                      for b in rows.split(512)])
    return out
