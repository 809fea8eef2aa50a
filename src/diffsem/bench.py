"""Speed benchmark (`diffsem bench`): GEMM limit, receiver throughput and FLOP efficiency, training
throughput per stage, peak RSS per part, and a cross-check of our DDIM loop against diffusers'
DDIMScheduler driving the same U-Net.  Writes reports/bench.json and prints a table.

Each measured part runs in a fresh child process so that its peak RSS is its own.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import platform
import resource
import time
from pathlib import Path

import torch

from .config import Config
from .models import get_spec
from .io import write_json
from .models.unet import UNet
from .pipeline import Receivers
from .schedule import linear_schedule

PAPER_MAX_STEPS = 50  # the paper's N = min(T', 50) (Sec. III-D): what the receiver timings measure


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    model = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn, device: torch.device, repeats: int = 2, statistic: str = "best") -> float:
    """Seconds per call of ``fn`` after one warm-up: the best (``diffsem bench``, receiver search) or the
    median (``bench_variants``) of ``repeats`` runs; CUDA events on a GPU, the wall clock elsewhere."""
    if statistic not in ("best", "median"):
        raise ValueError(f"statistic must be best|median, got {statistic!r}")
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return min(times) if statistic == "best" else sorted(times)[len(times) // 2]


def matmul_gflops(device: torch.device) -> float:
    n = 8192 if device.type == "cuda" else 2048
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 / time_call(lambda: a @ b, device, 5) / 1e9


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    fc = FlopCounterMode(display=False)
    with fc:
        fn()
    return fc.get_total_flops()


def _receivers(cfg: Config, ds: str, device, root: str = ".") -> tuple[Receivers, bool]:
    """(receivers, trained?): trained models when present (realistic E-DiffSem pass counts), else
    fresh ones (the same cost per pass)."""
    from .stages import Paths, load_jscc, load_receiver, load_unet, schedule_of

    paths = Paths(Path(root), ds, cfg.seed)
    sched = schedule_of(cfg)
    try:
        _, clf = load_jscc(paths, cfg, device)
        return Receivers(sched, clf, load_unet(paths, cfg, "uncond", device), load_receiver(paths, cfg, "diffsem", device),
                         load_unet(paths, cfg, "cond", device), load_receiver(paths, cfg, "e-diffsem", device),
                         **cfg.sampler.receiver_options()), True
    except Exception:  # no (or stale) trained models for this dataset and config
        spec = get_spec(ds, cfg.catalog)
        c = spec.feature_shape[0]
        mk = lambda n: UNet(c, cfg.diffusion.n_feat, n, cfg.schedule.T).to(device).eval()  # noqa: E731
        clf = spec.classifier().to(device).eval()
        return Receivers(sched, clf, mk(0), clf, mk(spec.n_classes), clf, **cfg.sampler.receiver_options()), False


def _receiver_part(cfg: Config, ds: str, system: str, device_str: str, q, max_steps: int = PAPER_MAX_STEPS,
                   root: str = ".") -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = torch.device(device_str)
    rx, trained = _receivers(cfg, ds, device, root)
    rx.max_steps = max_steps
    spec = get_spec(ds, cfg.catalog)
    g = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(256, *spec.feature_shape, generator=g, device=device)
    t = 150

    def run():
        with torch.inference_mode():
            if system == "classifier":
                return rx.bypass_logits(z, t)
            if system == "diffsem":
                return rx.diffsem_logits(z, t, 1.0)
            return rx.ediffsem_logits(z, t, 1.0)[0]

    flops = count_flops(run)
    sec = time_call(run, device)
    q.put({"samples_per_s": 256 / sec, "gflops": flops / sec / 1e9, "flops_per_sample": flops / 256,
           "trained_models": trained,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _training_part(cfg: Config, ds: str, stage: str, device_str: str, q) -> None:
    """Samples/s of one optimisation step of a stage's network(s) at the stage's batch size."""
    import torch.nn.functional as F

    device = torch.device(device_str)
    spec = get_spec(ds, cfg.catalog)
    c, h, w = spec.image_shape
    if stage in ("diffusion-uncond", "diffusion-cond"):
        cond = stage.endswith("-cond")
        net = UNet(spec.feature_shape[0], cfg.diffusion.n_feat, spec.n_classes if cond else 0, cfg.schedule.T).to(device)
        bs = cfg.diffusion.batch_size
        f = torch.randn(bs, *spec.feature_shape, device=device)
        tt = torch.randint(1, cfg.schedule.T + 1, (bs,), device=device)
        ctx = F.one_hot(torch.randint(0, spec.n_classes, (bs,), device=device), spec.n_classes).float() if cond else None
        params, loss_fn = net.parameters(), lambda: F.mse_loss(net(f, tt, ctx), f)
    elif stage == "jscc":
        enc, clf = spec.encoder().to(device), spec.classifier().to(device)
        bs = cfg.jscc.batch_size
        x, y = torch.rand(bs, c, h, w, device=device), torch.randint(0, spec.n_classes, (bs,), device=device)
        params = list(enc.parameters()) + list(clf.parameters())
        loss_fn = lambda: F.cross_entropy(clf(enc(x), enc(x), torch.zeros(bs, 1, device=device)), y)  # noqa: E731
    elif stage == "adversary":
        net = spec.adversary().to(device)
        bs = cfg.adversary.batch_size
        z, x = torch.randn(bs, *spec.feature_shape, device=device), torch.rand(bs, c, h, w, device=device)
        params, loss_fn = net.parameters(), lambda: F.mse_loss(net(z), x)
    else:  # strong: clean + two distorted views per batch
        net = spec.strong().to(device)
        bs = 3 * cfg.strong.batch_size
        x, y = torch.rand(bs, c, h, w, device=device), torch.randint(0, spec.n_classes, (bs,), device=device)
        params, loss_fn = net.parameters(), lambda: F.cross_entropy(net(x), y)
    opt = torch.optim.Adam(params, lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()

    sec = time_call(step, device)
    q.put({"samples_per_s": bs / sec, "batch_size": bs,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _in_child(target, *args, **kwargs) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q), kwargs=kwargs)
    p.start()
    out = q.get()
    p.join()
    return out


def interleaved_ratio(fa, fb, device, repeats: int = 9) -> dict:
    """Speed of ``fa`` relative to ``fb`` (time_b / time_a), timed in alternating order so that any drift in
    the machine's load hits both alike: one ratio per (a, b) pair of runs; median, min and max."""
    fa(), fb()  # warm-up
    _sync(device)
    ratios, ta, tb = [], [], []
    for i in range(repeats):
        times = {}
        for name, fn in (("a", fa), ("b", fb)) if i % 2 == 0 else (("b", fb), ("a", fa)):
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[name] = time.perf_counter() - t0
        ratios.append(times["b"] / times["a"])
        ta.append(times["a"])
        tb.append(times["b"])
    r = sorted(ratios)
    return {"median": r[len(r) // 2], "min": r[0], "max": r[-1], "repeats": repeats,
            "a_median_s": sorted(ta)[len(ta) // 2], "b_median_s": sorted(tb)[len(tb) // 2]}


def ddim_vs_diffusers(cfg: Config, ds: str, device: torch.device, t_start: int = 150, n_steps: int = 50,
                      batch: int = 256, repeats: int = 9) -> dict:
    """Same U-Net, same start, same 50 steps: our loop vs diffusers' DDIMScheduler (eta = 0), timed
    interleaved (``interleaved_ratio``; a single best-of-two per side once read 0.80x on a loaded machine)."""
    from diffusers import DDIMScheduler

    from .sampler import ddim_reverse, ddim_timesteps

    spec = get_spec(ds, cfg.catalog)
    torch.manual_seed(0)
    net = UNet(spec.feature_shape[0], cfg.diffusion.n_feat, 0, cfg.schedule.T).to(device).eval()
    sched = linear_schedule(cfg.schedule.T, cfg.schedule.beta_start, cfg.schedule.beta_end)
    x0 = torch.randn(batch, *spec.feature_shape, device=device)
    steps = ddim_timesteps(t_start, n_steps)
    stride = steps[0] - steps[1]
    if any(a - b != stride for a, b in zip(steps, steps[1:])):
        raise ValueError("the diffusers comparison needs a uniform stride: pick t_start divisible by n_steps")
    # diffusers indexes alpha_bar from 0 (its t = our t - 1) and steps with a fixed stride over the
    # whole range: the offset puts its grid on ours, set_alpha_to_one makes the last step land on f0
    ds_sched = DDIMScheduler(num_train_timesteps=cfg.schedule.T, beta_start=cfg.schedule.beta_start,
                             beta_end=cfg.schedule.beta_end, beta_schedule="linear", clip_sample=False,
                             set_alpha_to_one=True, steps_offset=(t_start - 1) % stride, timestep_spacing="leading")
    ds_sched.set_timesteps(cfg.schedule.T // stride)
    their_steps = [int(s) for s in ds_sched.timesteps if int(s) <= t_start - 1]

    def ours():
        with torch.inference_mode():
            return ddim_reverse(lambda x, t: net(x, t), x0, sched, t_start, n_steps)

    def theirs():
        with torch.inference_mode():
            x = x0
            for s in their_steps:
                x = ds_sched.step(net(x, s + 1), s, x, eta=0.0).prev_sample
            return x

    a, b = ours(), theirs()
    r = interleaved_ratio(ours, theirs, device, repeats)
    return {"max_abs_diff": float((a - b).abs().max()), "speed_ratio": r["median"], "speed_ratio_min": r["min"],
            "speed_ratio_max": r["max"], "repeats": repeats, "ours_samples_per_s": batch / r["a_median_s"],
            "diffusers_samples_per_s": batch / r["b_median_s"], "steps": len(their_steps)}


def fast_receiver(cfg: Config, ds: str, device: torch.device, paper: dict, root: str = ".") -> dict | None:
    """Time the configuration `diffsem receiver-search` found against the paper's (same run, same
    models); the accuracy drop comes from the search, which measured it on the validation slice."""
    from .stages import Paths

    found = Paths(Path(root), ds, cfg.seed).receiver_search
    if not found.is_file():
        return None
    search = json.loads(found.read_text())
    n = int(search["fast_receiver"]["config"]["sampler.max_steps"])
    fast = {s: _in_child(_receiver_part, cfg, ds, s, str(device), max_steps=n, root=root) for s in ("diffsem", "e-diffsem")}
    speedups = {s: fast[s]["samples_per_s"] / paper[s]["samples_per_s"] for s in fast}
    return {"dataset": ds, "config": search["fast_receiver"]["config"], "speedup": min(speedups.values()),
            "speedup_per_system": speedups, "samples_per_s": {s: r["samples_per_s"] for s, r in fast.items()},
            "max_accuracy_drop": search["fast_receiver"]["max_accuracy_drop"], "search_n_eval": search["n_eval"],
            "search_file": str(found)}


def run_bench(cfgs: dict[str, Config], device: torch.device, out: Path, root: str = ".") -> dict:
    """Every measurement for every dataset in ``cfgs`` (each dataset with its own merged config; trained
    models of the run under ``root`` at each config's seed when present)."""
    res: dict = {"device": device_name(device), "torch": torch.__version__, "threads": torch.get_num_threads()}
    res["matmul_gflops"] = matmul_gflops(device)
    res["receiver"], res["training"], fast = {}, {}, {}
    for ds, cfg in cfgs.items():
        res["receiver"][ds] = {}
        for system in ("classifier", "diffsem", "e-diffsem"):
            r = _in_child(_receiver_part, cfg, ds, system, str(device), root=str(root))
            r["flops_fraction"] = r["gflops"] / res["matmul_gflops"]
            r["max_steps"] = PAPER_MAX_STEPS
            res["receiver"][ds][system] = r
        res["training"][ds] = {s: _in_child(_training_part, cfg, ds, s, str(device))
                               for s in ("jscc", "diffusion-uncond", "diffusion-cond", "adversary", "strong")}
        f = fast_receiver(cfg, ds, device, res["receiver"][ds], str(root))
        if f is not None:
            fast[ds] = f
    if fast:  # top level: the first dataset searched (MNIST in the default config); all under per_dataset
        res["fast_receiver"] = {**next(iter(fast.values())), "per_dataset": fast}
    first = next(iter(cfgs))
    try:
        res["ddim_vs_diffusers"] = ddim_vs_diffusers(cfgs[first], first, device, batch=256 if device.type == "cuda" else 64)
    except ImportError:  # a GPU box without diffusers (the lent one has none): the rest of the bench stands
        res["ddim_vs_diffusers"] = {"skipped": "diffusers is not installed"}
    write_json(out, res)
    return res


def print_table(res: dict) -> None:
    print(f"device: {res['device']}   fp32 GEMM: {res['matmul_gflops']:.1f} GFLOP/s")
    print(f"{'receiver (batch 256, T=150)':<36}{'samples/s':>12}{'GFLOP/s':>10}{'of GEMM':>9}{'peak RSS MB':>13}")
    for ds, systems in res["receiver"].items():
        for s, r in systems.items():
            print(f"{ds + ' ' + s:<36}{r['samples_per_s']:>12.1f}{r['gflops']:>10.1f}{r['flops_fraction']:>9.0%}"
                  f"{r['peak_rss_mb']:>13.0f}")
    print(f"{'training step':<36}{'samples/s':>12}{'':>19}{'peak RSS MB':>13}")
    for ds, stages in res["training"].items():
        for s, r in stages.items():
            print(f"{ds + ' ' + s:<36}{r['samples_per_s']:>12.1f}{'':>19}{r['peak_rss_mb']:>13.0f}")
    if "fast_receiver" in res:
        for ds, f in res["fast_receiver"]["per_dataset"].items():
            print(f"fast receiver {ds} {f['config']}: {f['speedup']:.1f}x the paper's N={PAPER_MAX_STEPS} "
                  f"(diffsem {f['samples_per_s']['diffsem']:.1f}/s, e-diffsem {f['samples_per_s']['e-diffsem']:.1f}/s), "
                  f"max accuracy drop {100 * f['max_accuracy_drop']:.2f} pts (n={f['search_n_eval']})")
    d = res["ddim_vs_diffusers"]
    if "skipped" in d:
        print(f"DDIM vs diffusers DDIMScheduler: skipped ({d['skipped']})")
        print(json.dumps({"bench": "written"}))
        return
    print(f"DDIM vs diffusers DDIMScheduler: max |diff| {d['max_abs_diff']:.2e}, ours/theirs speed {d['speed_ratio']:.2f}x "
          f"(median of {d['repeats']} interleaved pairs, range {d['speed_ratio_min']:.2f}-{d['speed_ratio_max']:.2f})")
    print(json.dumps({"bench": "written"}))
