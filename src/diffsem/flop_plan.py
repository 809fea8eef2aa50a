"""The FLOP plan (issue #14): what each stage of one training seed's DAG costs, from the configuration.

Every count comes from params.yaml (split sizes, epoch caps, grids, sampler) and from the networks'
forward FLOPs measured with ``torch.utils.flop_counter`` (one image, or one U-Net step); a training step
costs 3× its forward (forward + backward).  Epoch caps are upper bounds: early stopping ends most stages
sooner.  The time column divides by a stated sustained rate (``--tflops``), so the plan says what a GPU
must sustain for the targets (docs/scales.md):

    python -m diffsem.flop_plan --scale paper --dataset mnist --tflops 60
"""

from __future__ import annotations

import argparse
import math

import pandas as pd
import torch

from .config import Config, load_config

TRAIN = 3.0  # forward + backward, in forwards


def network_gflops(cfg: Config, ds: str) -> dict[str, float]:
    """Forward GFLOP per image (per step for the U-Nets) of every network of the dataset's run."""
    from .bench import count_flops
    from .ceiling import FeatureMLP, n_params, width_for
    from .stages import build_unet, unet_arch

    spec = cfg.spec
    x = torch.zeros(1, *spec.image_shape)
    f = torch.zeros(1, *spec.feature_shape)
    tt = torch.zeros(1, 1)
    nets = {"encoder": spec.encoder(), "classifier": spec.classifier(), "strong": spec.strong(), "adversary": spec.adversary()}
    unets = {v: build_unet(unet_arch(cfg, ds, v)) for v in ("uncond", "cond")}
    hidden = width_for(n_params(unets["uncond"]), spec.k, spec.n_classes)
    mlp = FeatureMLP(spec.k, hidden, spec.n_classes)
    out = {}
    with torch.no_grad():
        out["encoder"] = count_flops(lambda: nets["encoder"](x))
        out["classifier"] = count_flops(lambda: nets["classifier"](f, f, tt))
        out["strong"] = count_flops(lambda: nets["strong"](x))
        out["adversary"] = count_flops(lambda: nets["adversary"](f))
        out["unet_uncond"] = count_flops(lambda: unets["uncond"](f, torch.tensor([1])))
        out["unet_cond"] = count_flops(lambda: unets["cond"](f, torch.tensor([1]), torch.full((1, spec.n_classes), 0.1)))
        out["mlp"] = count_flops(lambda: mlp(f))
    return {k: v / 1e9 for k, v in out.items()}


def split_sizes(cfg: Config, n_train: int, n_test: int) -> dict[str, int]:
    """T-R training, its validation slice, adversary training, its validation slice, test images."""
    n = cfg.data.train_subset or n_train
    adv = round(cfg.data.adversary_fraction * n)
    tr = n - adv
    tr_val, adv_val = round(cfg.data.val_fraction * tr), round(cfg.data.val_fraction * adv)
    cap = cfg.validation.max_images or 10**9
    return {"tr": tr - tr_val, "val": min(tr_val, cap), "adv": adv - adv_val, "adv_val": min(adv_val, cap),
            "test": cfg.data.n_eval or n_test, "test_full": n_test}


def _steps(cfg: Config, t: int) -> int:
    """DDIM steps from T' (N = min(T', max_steps); decisions: stride grid)."""
    return min(int(t), cfg.sampler.max_steps) if t > 0 else 0


def plan(cfg: Config, ds: str, n_train: int, n_test: int, gf: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per stage: items, forward-equivalents per item, total TFLOP (epoch caps: an upper bound)."""
    gf = gf or network_gflops(cfg, ds)
    n = split_sizes(cfg, n_train, n_test)
    E, C, S, A, M = gf["encoder"], gf["classifier"], gf["strong"], gf["adversary"], gf["mlp"]
    Uu, Uc = gf["unet_uncond"], gf["unet_cond"]
    guide = 2 if cfg.sampler.guidance_w else 1  # classifier-free guidance: two U-Net evaluations per step
    passes = cfg.sampler.ediffsem_max_iters
    vt = len(cfg.validation.t_values)
    apoints, gpoints = cfg.eval.attacker_points(), cfg.eval.grid_points()
    rows = []

    def add(stage, gflop, note):
        rows.append({"stage": stage, "tflop": gflop / 1e3, "note": note})

    j = cfg.jscc
    add("train_jscc", j.epochs * (n["tr"] * TRAIN * (E + C) + n["val"] * vt * (E + C)),
        f"{j.epochs} epochs × {n['tr']} images × 3 (E + Θ)")
    d = cfg.diffusion
    for v, U in (("uncond", Uu), ("cond", Uc)):
        add(f"train_diffusion_{v}", n["tr"] * E + d.epochs * (n["tr"] * TRAIN * U + n["val"] * U),
            f"{d.epochs} epochs × {n['tr']} features × 3 U-Net")
    a = cfg.adversary
    add("train_adversary", n["adv"] * E + len(apoints) * a.epochs * ((a.items_per_epoch or n["adv"]) * TRAIN * A + n["adv_val"] * A),
        f"{len(apoints)} points × {a.epochs} epochs × {a.items_per_epoch or n['adv']} × 3 A")
    s = cfg.strong
    per_epoch = s.items_per_epoch or (n["tr"] + n["adv"])
    adv_share = n["adv"] / (n["tr"] + n["adv"])
    add("train_strong", s.epochs * per_epoch * (2 * TRAIN * S + adv_share * (A + TRAIN * S)),
        f"{s.epochs} epochs × {per_epoch} images × (clean + noised + adversary's x̂) × 3 S")
    c = cfg.ceiling
    add("train_ceiling", len(gpoints) * c.epochs * n["tr"] * TRAIN * M, f"{len(gpoints)} points × {c.epochs} epochs × MLP")
    add("train_semantic", len(apoints) * c.epochs * n["adv"] * TRAIN * M, f"{len(apoints)} points × {c.epochs} epochs × MLP")
    ft = cfg.finetune
    bank_n = len(ft.t_values) * ft.n_per_t
    ddim = sum(_steps(cfg, t) for t in ft.t_values) * ft.n_per_t
    for system, U, extra in (("classifier-ft", 0.0, 0), ("diffsem", Uu, 0), ("e-diffsem", Uc * guide, C)):
        bank = (ddim * U + bank_n * extra) if U else 0.0
        add(f"finetune_{system}", bank_n * E + bank + ft.epochs * bank_n * TRAIN * C,
            f"bank {bank_n} ({ddim // max(ft.n_per_t, 1)} DDIM steps per image set) + {ft.epochs} epochs × 3 Θ")
    ev = 0.0
    for t, snr in gpoints:
        m = n["test_full"] if cfg.eval.test_part(t, snr) == "test_full" else n["test"]
        steps = _steps(cfg, t)
        per = E + 4 * C + steps * Uu + passes * (steps * Uc * guide + C) + M + A + S
        ev += len(cfg.eval.seeds) * m * per
    add("evaluate", ev, f"{len(gpoints)} points; E-DiffSem ≤ {passes} passes × N U-Net steps")
    b = cfg.baselines
    ibal = [x for x in b.systems if x in ("ibal", "ibal-d")]
    per_ibal = b.ibal_epochs * n["tr"] * (TRAIN * (E + C) + 2 * TRAIN * A)  # system step + decoder step
    add("train_ibal", len(ibal) * per_ibal, f"{len(ibal)} systems × {b.ibal_epochs} epochs × (E + Θ + 2 decoder steps)")
    atk = n["adv"] * E + len(apoints) * a.epochs * (a.items_per_epoch or n["adv"]) * TRAIN * A
    strong = s.epochs * per_epoch * (2 * TRAIN * S + adv_share * (A + TRAIN * S))
    add("attack_ibal", len(ibal) * (atk + strong), f"{len(ibal)} systems: inversion nets + strong classifier")
    add("semantic_ibal", len(ibal) * len(apoints) * c.epochs * n["adv"] * TRAIN * M, "semantic attacker per IBAL system")
    if "permutation" in b.systems:
        add("attack_permutation", s.epochs * per_epoch * 2 * TRAIN * S, "strong classifier on clean + permuted")
    st = cfg.attack_study
    from .stages import headline_points

    head_points = headline_points(cfg)  # the attack study's and the prior attacker's points
    heads = len(head_points)
    n_cond = len(st.eve_snr_offsets_db) + len(st.query_fractions) + len(st.surrogate)
    inv_cond = sum(len(x) for k, x in (("eve_snr", st.eve_snr_offsets_db), ("queries", st.query_fractions),
                                        ("surrogate", st.surrogate)) if k in st.inversion)
    add("attack_study", heads * (n_cond * c.epochs * n["adv"] * TRAIN * M + inv_cond * a.epochs * n["adv"] * TRAIN * A),
        f"{n_cond} conditions × {heads} points (semantic), {inv_cond} with inversion nets")
    head_steps = sum(_steps(cfg, t) for t, _ in head_points)
    add("attack_prior", n["adv"] * st.prior_queries * E + d.epochs * n["adv"] * TRAIN * Uu
        + heads * a.epochs * n["adv"] * (TRAIN * A) + n["adv"] * head_steps * Uu * a.epochs,
        f"its U-Net ({d.epochs} epochs) + 2 inversion nets on denoised queries")
    add("attack_protocol", a.epochs * n["adv"] * TRAIN * A + strong, "one net for all T' + a strong classifier without x̂")
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--scale", default="paper")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--tflops", type=float, default=60.0,
                   help="sustained TFLOP/s assumed for the time column (default 60: ≈ 12 %% of an H100's dense TF32/bf16 mix)")
    args = p.parse_args(argv)
    cfg = load_config(args.params, args.scale, args.dataset)
    e = cfg.entry
    n_train, n_test = (60000, 10000) if e.source.format == "idx" else (
        e.n_classes * e.source.images_per_class["train"], e.n_classes * e.source.images_per_class["test"])
    df = plan(cfg, args.dataset, n_train, n_test)
    df["minutes"] = df.tflop / args.tflops / 60
    gf = network_gflops(cfg, args.dataset)
    print(f"{args.dataset} at scale {args.scale}: forward GFLOP per image/step " +
          ", ".join(f"{k} {v:.4g}" for k, v in gf.items()))
    print(f"| stage | TFLOP (epoch caps) | minutes at {args.tflops:g} TFLOP/s | what |\n|---|---|---|---|")
    for r in df.itertuples():
        print(f"| {r.stage} | {r.tflop:,.1f} | {r.minutes:.1f} | {r.note} |")
    print(f"| **total** | **{df.tflop.sum():,.0f}** | **{df.minutes.sum():.0f}** | one training seed |")
    return 0 if math.isfinite(df.tflop.sum()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
