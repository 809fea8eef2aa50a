"""The CUDA-graph receiver (diffsem.cuda_graph; decisions §36): the loop it captures is the eager DDIM loop
given its steps as device tensors; on CPU the cache runs that loop eagerly; on a GPU (skipped here) a
replay equals the eager loop, the first use of a shape stays eager, and receivers use it when switched on."""

import pytest
import torch

from diffsem.cuda_graph import GraphCache, step_tensors
from diffsem.models.unet import UNet
from diffsem.pipeline import Receivers, denoise
from diffsem.runtime import cuda_graphs_enabled, set_cuda_graphs
from diffsem.sampler import ddim_reverse
from diffsem.schedule import linear_schedule


def _unet(n_classes=0, device="cpu"):
    torch.manual_seed(0)
    return UNet(1, 8, n_classes, 500).to(device).eval()


@pytest.mark.parametrize("t_start,n", [(150, 50), (37, 5), (1, 50)])
def test_tensor_steps_give_the_int_loop(t_start, n):
    sched, net = linear_schedule(), _unet()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        a = ddim_reverse(lambda v, t: net(v, t), x, sched, t_start, n)
        b = ddim_reverse(lambda v, t: net(v, t), x, sched, t_start, n, step_values=step_tensors(t_start, n, x.device, x.dtype))
    assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_cache_on_cpu_is_the_eager_loop():
    sched, net = linear_schedule(), _unet(10)
    x, ctx = torch.randn(4, 1, 8, 8), torch.softmax(torch.randn(4, 10), 1)
    cache = GraphCache()
    with torch.no_grad():
        for w in (0.0, 1.5):
            ref = denoise(net, x, sched, 120, 1.1, 20, ctx, w)
            assert torch.allclose(denoise(net, x, sched, 120, 1.1, 20, ctx, w, graphs=cache), ref, atol=1e-6, rtol=0)
    assert cache.captures == 0


def test_the_switch_reaches_receivers():
    sched, clf = linear_schedule(), torch.nn.Identity()
    assert Receivers(sched, clf, cuda_graphs=False).graphs is None
    assert isinstance(Receivers(sched, clf, cuda_graphs=True).graphs, GraphCache)
    old = cuda_graphs_enabled()
    try:
        set_cuda_graphs(True)
        assert Receivers(sched, clf).graphs is not None
        set_cuda_graphs(False)
        assert Receivers(sched, clf).graphs is None
    finally:
        set_cuda_graphs(old)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_replay_equals_eager_on_a_gpu():
    sched, net = linear_schedule(), _unet(10, "cuda")
    cache = GraphCache()
    with torch.no_grad():
        for i in range(3):
            x = torch.randn(64, 1, 8, 8, device="cuda")
            ctx = torch.softmax(torch.randn(64, 10, device="cuda"), 1)
            ref = denoise(net, x, sched, 150, 1.0, 50, ctx, 0.0)
            got = denoise(net, x, sched, 150, 1.0, 50, ctx, 0.0, graphs=cache)
            assert float((got - ref).norm() / ref.norm()) < 1e-4
            assert cache.captures == (0 if i == 0 else 1)
