import pytest
import torch

from diffsem.models import family_spec, get_spec
from diffsem.models.unet import UNet


def test_mnist_table1_shapes():
    spec = family_spec("table1")
    assert spec.k == 64 and abs(spec.rho - 0.0816) < 1e-4
    x = torch.rand(5, 1, 28, 28)
    enc = spec.encoder()
    # intermediate sizes of Table I: 16x14x14, 32x8x8, 1x8x8
    h1 = enc.net[:2](x)
    h2 = enc.net[:4](x)
    assert h1.shape[1:] == (16, 14, 14) and h2.shape[1:] == (32, 8, 8)
    f = enc(x)
    assert f.shape == (5, 1, 8, 8)
    clf = spec.classifier()
    assert clf.net[0].in_features == 64 * 2 + 1
    assert clf(f, f, torch.zeros(5, 1)).shape == (5, 10)
    assert spec.strong()(x).shape == (5, 10)
    assert spec.adversary()(f).shape == (5, 1, 28, 28)


def test_unknown_dataset_and_family(repo):
    from diffsem.config import load_config

    catalog = load_config(repo / "params.yaml").catalog
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        get_spec("imagenet", catalog)
    assert get_spec("cifar10", catalog).family == "table2" and get_spec("mnist", catalog).n_classes == 10
    with pytest.raises(ValueError, match="unknown architecture family 'table9'"):
        family_spec("table9")


@pytest.mark.parametrize("family,image", [("table1", (1, 28, 28)), ("table2", (3, 32, 32))])
def test_a_family_serves_any_number_of_classes(family, image):
    spec = family_spec(family, n_classes=3, name="toy")
    x = torch.rand(2, *image)
    f = spec.encoder()(x)
    assert spec.classifier()(f, f, torch.zeros(2, 1)).shape == (2, 3) and spec.strong()(x).shape == (2, 3)
    assert spec.adversary()(f).shape == x.shape  # the inversion network maps features back to the image


@pytest.mark.parametrize("n_classes", [0, 10])
def test_unet_shapes_and_batch_independence(n_classes):
    torch.manual_seed(0)
    net = UNet(1, 16, n_classes).eval()
    x = torch.randn(6, 1, 8, 8)
    ctx = torch.softmax(torch.randn(6, 10), 1) if n_classes else None
    with torch.no_grad():
        out = net(x, 100, ctx)
        assert out.shape == x.shape
        # GroupNorm: a sample's output does not depend on the rest of the batch
        one = net(x[:1], 100, ctx[:1] if ctx is not None else None)
    assert torch.allclose(out[:1], one, atol=1e-5)


def test_unet_table3_widths():
    cond, uncond = UNet(1, 128, 10), UNet(1, 128, 0)
    assert cond.down2.net[0].conv1[0].out_channels == 256  # 256x2x2 (Table III)
    assert uncond.down2.net[0].conv1[0].out_channels == 128  # footnote 5
    assert not hasattr(uncond, "contextembed1")


def test_unet_null_embedding_and_time():
    torch.manual_seed(0)
    net = UNet(1, 16, 10).eval()
    with torch.no_grad():
        net.null1.add_(0.5)
        net.null2.add_(0.5)
        x = torch.randn(4, 1, 8, 8)
        ctx = torch.eye(10)[:4]
        dropped = net(x, 50, ctx, torch.ones(4, dtype=torch.bool))
        assert torch.allclose(dropped, net(x, 50, None), atol=1e-6)  # dropped label == null context
        assert not torch.allclose(dropped, net(x, 50, ctx), atol=1e-4)  # the label matters
        assert not torch.allclose(net(x, 50, ctx), net(x, 400, ctx), atol=1e-4)  # so does t
        per_sample_t = net(x, torch.tensor([50, 50, 400, 400]), ctx)
        assert torch.allclose(per_sample_t[:2], net(x, 50, ctx)[:2], atol=1e-6)


def test_cifar10_table2_shapes():
    spec = family_spec("table2")
    assert spec.k == 192 and spec.rho == 0.0625  # 3x8x8 of 3x32x32
    x = torch.rand(4, 3, 32, 32)
    enc = spec.encoder()
    # Table II: 16x32x32, 32x16x16, Residual 32x16x16, 3x8x8
    assert enc.net[:2](x).shape[1:] == (16, 32, 32)
    assert enc.net[:4](x).shape[1:] == (32, 16, 16)
    assert enc.net[:5](x).shape[1:] == (32, 16, 16)
    f = enc(x)
    assert f.shape == (4, 3, 8, 8)
    clf = spec.classifier()
    assert clf.net[0].in_channels == 6  # [z_hat, f_hat] with t as a ninth column: 6x8x9
    assert clf.net[:2](torch.zeros(1, 6, 8, 9)).shape[1:] == (64, 8, 8)
    assert clf(f, f, torch.zeros(4, 1)).shape == (4, 10)
    strong = spec.strong()
    assert strong.net[:4](x).shape[1:] == (256, 16, 16) and strong.net[:5](x).shape[1:] == (512, 8, 8)
    assert strong(x).shape == (4, 10)
    x_hat = spec.adversary()(f)
    assert x_hat.shape == (4, 3, 32, 32) and x_hat.min() >= 0 and x_hat.max() <= 1


def test_cifar10_classifier_reads_t():
    """The padded t column reaches the output (T' is an input of Theta, Alg. 2)."""
    torch.manual_seed(0)
    clf = family_spec("table2").classifier().eval()
    z = torch.randn(2, 3, 8, 8)
    a = clf(z, z, torch.zeros(2, 1))
    b = clf(z, z, torch.ones(2, 1))
    assert not torch.allclose(a, b)


def test_unet_handles_three_channels():
    net = UNet(3, 16, 10).eval()
    x = torch.randn(2, 3, 8, 8)
    assert net(x, 5, torch.softmax(torch.randn(2, 10), 1)).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("ds", ["mnist", "cifar10"])
def test_fold_fhat_into_zhat_preserves_the_bypass(ds):
    """Alg. 2 starts exactly at the bypass classifier: after the fold Theta(z, z, t) is unchanged (to
    float rounding) for any z and t, and Theta(z, f, t) no longer depends on f (docs/decisions.md §20)."""
    torch.manual_seed(0)
    spec = family_spec({"mnist": "table1", "cifar10": "table2"}[ds])
    clf = spec.classifier().eval()
    z = torch.randn(16, *spec.feature_shape)
    f = torch.randn(16, *spec.feature_shape)
    t = torch.rand(16, 1)
    with torch.no_grad():
        before = clf(z, z, t)
        clf.fold_fhat_into_zhat()
        after = clf(z, z, t)
        assert torch.allclose(before, after, atol=1e-5)
        assert torch.allclose(clf(z, f, t), after, atol=1e-5)  # f's weights are zero
        assert not torch.allclose(clf(z, z, 1 - t), after, atol=1e-3)  # t is still read (through z's weights)
    # the f slot is trainable again: a gradient step on [z, f] moves the output with f
    out = clf(z, f, t).pow(2).sum()
    out.backward()
    first = clf.net[0].weight.grad
    k = first.shape[1] // 2
    assert first[:, k : 2 * k].abs().sum() > 0


@pytest.mark.parametrize("kernel", [5, 15])
def test_map_conv_is_the_convolution_it_replaces(kernel):
    """MapConv2d (decisions §40) computes nn.Conv2d's function, gradients and state dict as one matmul."""
    import torch.nn.functional as F

    from diffsem.models.mnist import MapConv2d

    torch.manual_seed(0)
    m = MapConv2d(32, 2, kernel, (8, 8))
    x = torch.randn(4, 32, 8, 8, requires_grad=True)
    ref_x = x.detach().clone().requires_grad_(True)
    y, ref = m(x), F.conv2d(ref_x, m.weight, m.bias, padding=kernel // 2)
    assert torch.allclose(y, ref, atol=1e-5)
    (y * ref.detach()).sum().backward()
    gw = m.weight.grad.clone()
    m.weight.grad = None
    (F.conv2d(ref_x, m.weight, m.bias, padding=kernel // 2) * ref.detach()).sum().backward()
    assert torch.allclose(gw, m.weight.grad, atol=1e-3) and torch.allclose(x.grad, ref_x.grad, atol=1e-5)
    assert set(m.state_dict()) == {"weight", "bias"} and m.weight.shape == (2, 32, kernel, kernel)


@pytest.mark.parametrize("kernel,sees_all", [(3, False), (15, True)])
def test_encoder_kernel_sets_what_a_feature_sees(kernel, sees_all):
    """Table I's last convolution (``jscc.encoder_kernel``): at 3 the bottom-right feature does not see the
    top-left image corner (a 15x15 receptive field); at 15 every feature sees the whole image.  Checked
    before the LayerNorm, which couples all features anyway."""
    torch.manual_seed(0)
    enc = family_spec("table1", encoder_kernel=kernel).encoder()
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    enc.net[:5](x)[0, 0, 7, 7].backward()
    assert (x.grad[0, 0, :4, :4].abs().sum() > 0) == sees_all
    assert enc(x).shape == (1, 1, 8, 8)
    assert family_spec("table2", encoder_kernel=kernel).encoder()(torch.rand(2, 3, 32, 32)).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("kernel,rows", [(3, 9), (15, 21)])
def test_cifar10_encoder_kernel_widens_what_a_corner_feature_sees(kernel, rows):
    """Table II's last (stride-2, 16x16 -> 8x8) convolution (decisions §45): the top-left feature sees image
    rows 0..8 at kernel 3 and rows 0..20 at kernel 15 (its 15x15 window covers map rows 0..7 of 16, each
    map row 2 image rows plus the 3x3 layers' reach).  Checked before the LayerNorm."""
    torch.manual_seed(0)
    enc = family_spec("table2", encoder_kernel=kernel).encoder()
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    enc.net[:7](x)[0, 0, 0, 0].backward()
    seen = x.grad[0].abs().sum(dim=(0, 2)) > 0
    assert seen[:rows].all() and not seen[rows:].any()
