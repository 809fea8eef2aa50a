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
from .training import fit, make_optimizer

SendFn = Callable[[torch.Tensor, int, float, torch.Generator], torch.Tensor]
# views(x, rows_on_device, adversary_rows, g_cpu, g_device) -> [(images, labels or None = the batch's), ...]
ViewsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator, torch.Generator], list]


def point_key(t: int, snr: float) -> str:
    return f"{int(t)}@{float(snr):g}"


def train_attackers(spec, send: SendFn, x_adv: torch.Tensor, points, acfg, seed: int, device, label: str = "adversary",
                    resume_dir=None, meta=None):
    """One inversion network per (t, snr) point; returns ({key: state_dict}, {key: final loss}).

    With ``resume_dir``, each point's training resumes from its own per-epoch state there."""
    models, final = {}, {}
    for t, snr in points:
        key = point_key(t, snr)
        torch.manual_seed(seed)
        net = spec.adversary().to(device)
        g = generator(seed)
        gd = generator(seed, device)

        def step(idx, net=net, t=t, snr=snr, gd=gd):
            z_hat = send(idx.to(device), t, snr, gd)  # fresh queries every epoch
            return F.mse_loss(net(z_hat), to_float(x_adv[idx]).to(device))  # Eq. 5

        opt, lrs = make_optimizer(net.parameters(), acfg.lr)
        resume = None if resume_dir is None else resume_dir / f"{label.replace(' ', '_')}_{key}.pt"
        hist = fit(f"{label} {key}", {"model": net}, opt, lrs, acfg.epochs, x_adv.shape[0], acfg.batch_size, g, step,
                   resume, meta, (gd,), acfg.items_per_epoch)
        models[key] = net.state_dict()
        final[key] = hist[-1]
    return models, final


def attacker_views(send: SendFn, advs: dict, y_adv: torch.Tensor, alpha_bar: torch.Tensor, T: int, device) -> ViewsFn:
    """The strong classifier's distorted views (Alg. 1 lines 15-16): every image noised directly at a
    uniformly random level (x_tilde), plus, for adversary-split rows, an attacker's reconstruction at a
    random point (x_hat).  ``advs`` maps (t, snr) to that point's inversion network."""
    points = list(advs)
    ab = alpha_bar.to(device=device, dtype=torch.float32)

    def views(x, idx_d, adv_rows, g, gd):
        t = torch.randint(0, T + 1, (x.shape[0],), generator=gd, device=device)
        out = [(direct_noise(x, ab[t], gd), None)]
        if adv_rows.numel():
            t_, s_ = points[int(torch.randint(0, len(points), (1,), generator=g))]
            with torch.no_grad():
                out.append((advs[(t_, s_)](send(adv_rows, t_, s_, gd)).clamp(0, 1), y_adv[adv_rows]))
        return out

    return views


def train_strong(spec, x_all, y_all, n_tr: int, views: ViewsFn, scfg, seed: int, device, label: str,
                 resume_path=None, meta=None):
    """Strong classifier on clean x and the caller's views; x_all = [T-R split; adversary split]."""
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

    opt, lrs = make_optimizer(net.parameters(), scfg.lr)
    hist = fit(label, {"model": net}, opt, lrs, scfg.epochs, x_all.shape[0], scfg.batch_size, g, step,
               resume_path, meta, (gd,), scfg.items_per_epoch)
    return net, hist
