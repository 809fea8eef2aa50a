"""Precision and execution variants of the receiver's DDIM loop and of the training steps (issue #14).

`python -m diffsem.bench_variants --out reports/bench_variants.json` times the Table III U-Net's DDIM
reverse pass (Eq. 16, N = min(T', 50) from T' = 150, batch 256; `--t-start`, `--max-steps` and `--batch` move
that point, e.g. to the fast receiver's step cap) under each variant and measures how far its
f_hat lies from a float64 reference on fresh random inputs (relative L2 error), so a speed-up is only taken
where the output stays within tolerance:

    fp32            TF32 off: the reference precision of the code as it runs on CPU
    tf32            TF32 matrix units for matmuls and convolutions
    bf16            U-Net under bf16 autocast, DDIM update in fp32 (``sampler.precision: bf16``)
    bf16+cl         bf16 with channels_last tensors
    bf16+graph      bf16, the whole N-step loop captured once as a CUDA graph and replayed (the receivers'
                    own ``cuda_graph.GraphCache``, its capture checked against the eager loop)
    tf32+graph      TF32, captured likewise
    bf16+compile    bf16 with ``torch.compile`` of the U-Net (compile time reported separately)

The graph and compile variants run on CUDA only.  The training-step part reports samples/s of one Adam
step per stage network under fp32 / TF32 / bf16 autocast.  Random weights: the timings do not depend on
training, and the tolerance is checked on the same untrained network for every variant.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .bench import time_call
from .config import build_config, load_raw
from .cuda_graph import GraphCache
from .models import get_spec
from .models.unet import UNet
from .pipeline import denoise
from .sampler import ddim_timesteps
from .schedule import linear_schedule


ALL_VARIANTS = ["fp32", "tf32", "bf16", "bf16+cl", "bf16+graph", "tf32+graph", "bf16+compile"]


@contextlib.contextmanager
def tf32(enabled: bool):
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    a, ref = a.double(), ref.double()
    if not torch.isfinite(a).all():
        return float("inf")
    return float((a - ref).norm() / ref.norm())


def _spec(ds: str, params: str = "params.yaml"):
    cfg = build_config(load_raw(params), "paper", ds)
    return get_spec(ds, cfg.catalog)


def receiver_variants(ds: str, n_feat: int, device: torch.device, batch: int = 256, t_start: int = 150,
                      max_steps: int = 50, T: int = 500, repeats: int = 10, variants: list[str] | None = None,
                      cond: bool = False) -> dict:
    """Samples/s and relative error to float64 of each variant's DDIM pass (module docstring), each run
    through the receivers' own ``pipeline.denoise`` (the graph variants through ``cuda_graph.GraphCache``)."""
    spec = _spec(ds)
    torch.manual_seed(0)
    net = UNet(spec.feature_shape[0], n_feat, spec.n_classes if cond else 0, T).to(device).eval()
    sched = linear_schedule(T, 1e-4, 2e-2)
    g = torch.Generator(device="cpu").manual_seed(1)
    x_time = torch.randn(batch, *spec.feature_shape, generator=g).to(device)
    ctx = torch.softmax(torch.randn(batch, spec.n_classes, generator=g), 1).to(device) if cond else None
    # the tolerance input: fresh, unlike the timing one
    x_chk = torch.randn(batch, *spec.feature_shape, generator=g).to(device)
    with torch.inference_mode():
        ref = denoise(copy.deepcopy(net).double(), x_chk.double(), sched, t_start, 1.0, max_steps,
                      ctx.double() if ctx is not None else None)
    names = variants or ALL_VARIANTS
    out = {"dataset": ds, "n_feat": n_feat, "batch": batch, "t_start": t_start,
           "steps": len(ddim_timesteps(t_start, max_steps)) - 1, "conditional": cond, "device": str(device), "variants": {}}
    for name in names:
        if ("graph" in name or "compile" in name) and device.type != "cuda":
            continue
        precision = "bf16" if name.startswith("bf16") else "fp32"
        m, prep, res = net, (lambda x: x), {}
        if name == "bf16+cl":
            m = copy.deepcopy(net).to(memory_format=torch.channels_last)
            prep = lambda x: x.contiguous(memory_format=torch.channels_last)  # noqa: E731
        graphs = GraphCache(min_uses=1) if "graph" in name else None
        with tf32(name.startswith("tf32")), torch.inference_mode():
            if "compile" in name:
                m = torch.compile(net)
                t0 = time.perf_counter()
                denoise(m, x_time, sched, t_start, 1.0, max_steps, ctx, 0.0, precision)
                torch.cuda.synchronize()
                res["compile_s"] = time.perf_counter() - t0
            xt, xc = prep(x_time), prep(x_chk)
            # with graphs, the first call captures (checked against the eager loop) and later ones replay
            f_chk = denoise(m, xc, sched, t_start, 1.0, max_steps, ctx, 0.0, precision, graphs)
            res["rel_err_vs_fp64"] = rel_err(f_chk, ref)
            sec = time_call(lambda: denoise(m, xt, sched, t_start, 1.0, max_steps, ctx, 0.0, precision, graphs), device, repeats,
                                "median")
        res["samples_per_s"] = batch / sec
        res["ms_per_pass"] = 1e3 * sec
        out["variants"][name] = res
    base = out["variants"].get("fp32", {}).get("samples_per_s")
    for r in out["variants"].values():
        r["speedup_vs_fp32"] = r["samples_per_s"] / base if base else None
    return out


def training_variants(ds: str, n_feat: int, device: torch.device, batch: int = 256, repeats: int = 10,
                      modes: tuple[str, ...] = ("fp32", "tf32", "bf16")) -> dict:
    """Samples/s of one Adam step per stage network (JSCC encoder + Theta, both U-Nets, the adversary,
    the strong classifier) under each precision mode."""
    spec = _spec(ds)
    c, h, w = spec.image_shape
    n = spec.n_classes
    out: dict = {}
    for stage in ("jscc", "unet-uncond", "unet-cond", "adversary", "strong"):
        torch.manual_seed(0)
        x = torch.rand(batch, c, h, w, device=device)
        y = torch.randint(0, n, (batch,), device=device)
        if stage == "jscc":
            enc, clf = spec.encoder().to(device), spec.classifier().to(device)
            params = list(enc.parameters()) + list(clf.parameters())
            t0 = torch.zeros(batch, 1, device=device)
            loss_fn = lambda: F.cross_entropy(clf(enc(x), enc(x), t0), y)  # noqa: E731
        elif stage.startswith("unet"):
            cond = stage.endswith("-cond")
            net = UNet(spec.feature_shape[0], n_feat, n if cond else 0).to(device)
            f = torch.randn(batch, *spec.feature_shape, device=device)
            tt = torch.randint(1, 501, (batch,), device=device)
            ctx = F.one_hot(y, n).float() if cond else None
            params = list(net.parameters())
            loss_fn = lambda: F.mse_loss(net(f, tt, ctx), f)  # noqa: E731
        elif stage == "adversary":
            net = spec.adversary().to(device)
            z = torch.randn(batch, *spec.feature_shape, device=device)
            params = list(net.parameters())
            loss_fn = lambda: F.mse_loss(net(z), x)  # noqa: E731
        else:
            net = spec.strong().to(device)
            params = list(net.parameters())
            loss_fn = lambda: F.cross_entropy(net(x), y)  # noqa: E731
        opt = torch.optim.Adam(params, lr=1e-4)
        out[stage] = {}
        for mode in modes:
            if mode != "fp32" and device.type != "cuda":
                continue

            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
                    loss = loss_fn()
                loss.backward()
                opt.step()

            with tf32(mode == "tf32"):
                sec = time_call(step, device, repeats, "median")
            out[stage][mode] = batch / sec
    return out


def peaks(device: torch.device) -> dict:
    """Measured dense matmul rates (8192^3 on a GPU) in fp32, TF32 and bf16, TFLOP/s."""
    n = 8192 if device.type == "cuda" else 1024
    res = {}
    for name, dtype, t32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
        if name != "fp32" and device.type != "cuda":
            continue
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        with tf32(t32):
            sec = time_call(lambda: a @ b, device, 5, "median")
        res[name] = 2 * n**3 / sec / 1e12
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/bench_variants.json")
    ap.add_argument("--datasets", default="mnist,cifar10")
    ap.add_argument("--n-feat", type=int, default=128, help="U-Net width (Table III: 128)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--t-start", type=int, default=150, help="T' the reverse pass starts from")
    ap.add_argument("--max-steps", type=int, default=50,
                    help="DDIM step cap N (the paper's 50; the fast receiver's cap from `diffsem receiver-search`)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--variants", default="", help="comma list (default: all that the device runs)")
    args = ap.parse_args(argv)
    if not 1 <= args.t_start <= 500 or args.max_steps < 1:
        ap.error(f"--t-start must lie in [1, 500] and --max-steps be >= 1 (got {args.t_start}, {args.max_steps})")
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    names = [v for v in args.variants.split(",") if v] or None
    res: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                 "torch": torch.__version__, "peak_tflops": peaks(device), "receiver": [], "training": {}}
    print(f"device {res['device']}  torch {res['torch']}  peaks TFLOP/s {json.dumps({k: round(v, 1) for k, v in res['peak_tflops'].items()})}",
          flush=True)
    for ds in args.datasets.split(","):
        for cond in (False, True):
            # torch.compile once per dataset (its compile time dominates the sitting otherwise)
            want = names or [v for v in ALL_VARIANTS if not (cond and "compile" in v)]
            r = receiver_variants(ds, args.n_feat, device, args.batch, args.t_start, args.max_steps, repeats=args.repeats,
                                  variants=want, cond=cond)
            res["receiver"].append(r)
            for name, v in r["variants"].items():
                print(f"{ds:8s} {'cond' if cond else 'uncond':6s} {name:13s} {v['samples_per_s']:10.0f} samples/s "
                      f"({v['speedup_vs_fp32']:.2f}x)  rel err vs fp64 {v['rel_err_vs_fp64']:.1e}"
                      + (f"  compile {v['compile_s']:.0f} s" if "compile_s" in v else ""), flush=True)
        res["training"][ds] = training_variants(ds, args.n_feat, device, args.batch, repeats=args.repeats)
        for stage, modes in res["training"][ds].items():
            print(f"{ds:8s} train {stage:12s} " + "  ".join(f"{m} {v:9.0f}/s" for m, v in modes.items()), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
