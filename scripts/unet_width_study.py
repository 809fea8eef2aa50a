"""U-Net width study on the validation slice (docs/decisions.md §24): how well does each trained
denoiser estimate f0, per t band, against the linear MMSE (Wiener) estimate?

    python scripts/unet_width_study.py --unet models/mnist/seed0/unet_uncond.pt --unet /other/root/models/mnist/seed0/unet_uncond.pt

For every validation feature f0 (the pipeline's encoder, models/<ds>/seed<k>/jscc.pt) and a fixed draw of
(t, eps), x_t = sqrt(abar_t) f0 + sqrt(1 - abar_t) eps (Eq. 11).  Each U-Net's one-shot estimate
f0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t) (one DDIM step, Eq. 16) is scored by its
per-element MSE to f0; so is the Wiener estimate mu + sqrt(abar) S (abar S + (1 - abar) I)^-1
(x_t - sqrt(abar) mu), with mean mu and covariance S of the training features.  A U-Net that does not
beat Wiener in a band has learned nothing beyond second-order statistics there.  Beside them, the posterior
mean under a Gaussian mixture with one component per class (fitted to the labelled training features): a
nonlinear estimate of known form, which shows how much room beyond Wiener a band leaves (decisions §24).
Prints a markdown table (rows: t bands; columns: each U-Net, Wiener, the mixture and the plain rescaled
x_t), then each estimate's paired difference to Wiener with its standard error.
"""

import argparse
import sys
from pathlib import Path

import torch

from diffsem.cli import add_run_arguments, run_of
from diffsem.config import ConfigError
from diffsem.data import DataError, load_split
from diffsem.io import CheckpointError, read_checkpoint
from diffsem.stages import build_unet, encode_all, load_jscc, schedule_of
from diffsem.validation import VAL_SEED, eps_bands


WIENER = "Wiener (linear MMSE)"


def wiener(f_train: torch.Tensor, x_t: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Per-sample linear MMSE estimate of f0 from x_t (each sample its own abar)."""
    f = f_train.flatten(1).double()
    mu, cov = f.mean(0), torch.cov(f.T)
    k = f.shape[1]
    out = torch.empty_like(x_t.flatten(1), dtype=torch.float64)
    for a in ab.unique():
        m = ab == a
        a = float(a)
        gain = a**0.5 * cov @ torch.linalg.inv(a * cov + (1 - a) * torch.eye(k, dtype=torch.float64))
        out[m] = mu + (x_t.flatten(1)[m].double() - a**0.5 * mu) @ gain.T
    return out.view_as(x_t).float()


def class_mixture(f_train: torch.Tensor, y_train: torch.Tensor, x_t: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Per-sample posterior mean of f0 from x_t under a Gaussian-mixture prior with one component per class
    (the training features' class means, covariances and shares).  Each component's posterior mean is its own
    Wiener estimate; they are weighted by the component's likelihood of x_t, N(sqrt(abar) mu_c,
    abar S_c + (1 - abar) I).  Not a denoiser the receiver could use (the classes fit the prior), but a
    nonlinear estimate of known form: where it beats Wiener, a network can too."""
    f = f_train.flatten(1).double()
    classes = y_train.unique()
    k = f.shape[1]
    eye = torch.eye(k, dtype=torch.float64)
    mus = torch.stack([f[y_train == c].mean(0) for c in classes])
    covs = torch.stack([torch.cov(f[y_train == c].T) for c in classes])
    log_prior = torch.log(torch.stack([(y_train == c).double().mean() for c in classes]))
    x = x_t.flatten(1).double()
    out = torch.empty_like(x)
    for a in ab.unique():
        m = ab == a
        a = float(a)
        s = a * covs + (1 - a) * eye  # (C, k, k): the covariance of x_t under each component
        chol = torch.linalg.cholesky(s)
        diff = x[m][None] - a**0.5 * mus[:, None]  # (C, n, k)
        white = torch.linalg.solve_triangular(chol, diff.transpose(1, 2), upper=False)  # (C, k, n)
        loglik = -0.5 * white.pow(2).sum(1) - torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)[:, None]
        resp = torch.softmax(log_prior[:, None] + loglik, 0)  # (C, n)
        sol = torch.cholesky_solve(diff.transpose(1, 2), chol)  # S_c^-1 (x - sqrt(a) mu_c)
        est = mus[:, None] + a**0.5 * (covs @ sol).transpose(1, 2)  # (C, n, k)
        out[m] = (resp[..., None] * est).sum(0)
    return out.view_as(x_t).float()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap)
    ap.add_argument("--unet", action="append", required=True, help="a U-Net checkpoint (repeat for several)")
    ap.add_argument("--bands", type=int, default=5)
    args = ap.parse_args()
    try:
        cfg, paths = run_of(args)
        split = load_split(paths.split)
        enc, _ = load_jscc(paths, cfg, "cpu")
        nets = {}
        for p in args.unet:
            meta, state = read_checkpoint(p, Path(p).stem)  # kind = file stem (unet_uncond / unet_cond)
            arch = meta["arch"]
            net = build_unet(arch)
            net.load_state_dict(state["model"])
            epochs = meta["config"]["diffusion"]["epochs"]
            nets[f"n_feat {arch['n_feat']} (≤{epochs} ep., {Path(p).stem})"] = (net.eval(), arch["n_classes"] > 0)
    except (ConfigError, DataError, CheckpointError, ValueError, KeyError) as exc:
        sys.exit(f"unet_width_study: {str(exc).splitlines()[0]}")
    sched, T = schedule_of(cfg), cfg.schedule.T
    with torch.no_grad():
        f_tr = encode_all(enc, split.tr_x, "cpu")
        f0 = encode_all(enc, split.val_x, "cpu")
    g = torch.Generator().manual_seed(VAL_SEED)
    t = torch.randint(1, T + 1, (f0.shape[0],), generator=g)
    eps = torch.randn(f0.shape, generator=g)
    ab = sched.alpha_bar.float()[t].view(-1, 1, 1, 1)
    x_t = ab.sqrt() * f0 + (1 - ab).sqrt() * eps
    est = {}
    with torch.no_grad():
        for name, (net, cond) in nets.items():
            outs = []
            for i in range(0, f0.shape[0], 512):
                sl = slice(i, i + 512)
                ctx = torch.nn.functional.one_hot(split.val_y[sl], net.n_classes).float() if cond else None
                e = net(x_t[sl], t[sl]) if ctx is None else net(x_t[sl], t[sl], ctx)
                outs.append((x_t[sl] - (1 - ab[sl]).sqrt() * e) / ab[sl].sqrt())
            est[name] = torch.cat(outs)
    est[WIENER] = wiener(f_tr, x_t, ab.flatten())
    est["class-Gaussian mixture (posterior mean)"] = class_mixture(f_tr, split.tr_y, x_t, ab.flatten())
    est["x_t / sqrt(abar) (no denoising)"] = x_t / ab.sqrt()
    err = {k: (v - f0).pow(2).flatten(1).mean(1) for k, v in est.items()}
    names = list(est)
    bands = [(f"{lo}–{hi}", (t >= lo) & (t <= hi)) for lo, hi in eps_bands(T, args.bands)]
    bands.append(("all", torch.ones_like(t, dtype=torch.bool)))
    print("| t band | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for band, m in bands:
        print(f"| {band} | " + " | ".join(f"{float(err[k][m].mean()):.4f}" for k in names) + " |")
    # the same features and draws for every estimator: each difference to Wiener is paired, per feature
    others = [k for k in names if k != WIENER and not k.startswith("x_t")]
    print(f"\nPaired difference to Wiener's MSE, per feature (mean ± SE; negative: better than Wiener)\n")
    print("| t band | n | " + " | ".join(others) + " |\n|---|---|" + "---|" * len(others))
    for band, m in bands:
        cells = []
        for k in others:
            d = (err[k] - err[WIENER])[m].double()
            cells.append(f"{float(d.mean()):+.4f} ± {float(d.std() / d.numel() ** 0.5):.4f}")
        print(f"| {band} | {int(m.sum())} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
