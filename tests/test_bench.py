import pytest
import torch

from diffsem.bench import count_flops, ddim_vs_diffusers, matmul_gflops
from diffsem.config import load_config
from diffsem.models.unet import UNet


def test_our_ddim_equals_diffusers(repo):
    """Cross-check of the sampler against diffusers' DDIMScheduler driving the same U-Net."""
    pytest.importorskip("diffusers")
    cfg = load_config(repo / "params.yaml", "smoke")
    # one timed pair: the speed itself is measured by `make bench`; here only that the loops agree
    out = ddim_vs_diffusers(cfg, "mnist", torch.device("cpu"), t_start=150, n_steps=50, batch=8, repeats=1)
    assert out["steps"] == 50
    assert out["max_abs_diff"] < 1e-4
    assert out["speed_ratio"] > 0 and out["repeats"] == 1


def test_flop_count_and_gemm():
    net = UNet(1, 16, 0).eval()
    x = torch.randn(4, 1, 8, 8)
    with torch.inference_mode():
        f1 = count_flops(lambda: net(x, 10))
        f2 = count_flops(lambda: net(torch.randn(8, 1, 8, 8), 10))
    assert f1 > 0 and abs(f2 / f1 - 2) < 0.01  # linear in batch
    assert matmul_gflops(torch.device("cpu")) > 0.1


def test_interleaved_ratio_alternates_and_measures():
    """interleaved_ratio: time_b / time_a per pair, in alternating order; a twice-as-slow `a` reads ≈ 0.5."""
    import time

    from diffsem.bench import interleaved_ratio

    calls = []
    fa = lambda: (calls.append("a"), time.sleep(0.02))  # noqa: E731
    fb = lambda: (calls.append("b"), time.sleep(0.01))  # noqa: E731
    r = interleaved_ratio(fa, fb, torch.device("cpu"), repeats=4)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]  # warm-up, then alternating order
    assert 0.3 < r["min"] <= r["median"] <= r["max"] < 0.75 and r["repeats"] == 4
