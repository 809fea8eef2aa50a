"""The feature ceiling's MLP (diffsem.ceiling) and the evaluation's choice of test images per point."""

import torch

from diffsem.ceiling import FeatureMLP, n_params, train_feature_classifier, width_for
from diffsem.config import load_config
from diffsem.models.unet import UNet


def test_width_matches_the_unet_parameter_count():
    for n_feat in (32, 128):
        target = n_params(UNet(1, n_feat, 0, 500))
        h = width_for(target, 64, 10)
        assert abs(n_params(FeatureMLP(64, h, 10)) - target) / target < 0.01


def test_semantic_classifier_learns_a_separable_toy_set():
    """On noiseless features of a linearly separable toy set the feature classifier (the ceiling, and
    the semantic attacker of the attackers issue) reaches near-perfect validation accuracy."""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 3
    y = torch.randint(0, 4, (800,), generator=g)
    f = centres[y] + 0.3 * torch.randn(800, 16, generator=g)
    yv = torch.randint(0, 4, (200,), generator=g)
    fv = centres[yv] + 0.3 * torch.randn(200, 16, generator=g)

    class Cfg:
        epochs, batch_size, lr, items_per_epoch, patience = 8, 64, 3e-3, 0, 3

    net, res = train_feature_classifier(16, 32, 4, lambda rows, t, snr, g_: f[rows], y, 0, 15.0, Cfg, 0, "cpu", "toy",
                                        lambda rows, t, snr, g_: fv[rows], yv)
    best = max(r["val_acc"] for r in res.curve)
    assert best > 0.97 and (net(fv).argmax(1) == yv).float().mean() == best


def test_headline_points_use_the_full_test_set(repo):
    cfg = load_config(repo / "params.yaml", "cpu", "mnist")
    assert cfg.eval.test_part(150, 15.0) == cfg.eval.test_part(300, 15.0) == "test_full"
    assert cfg.eval.test_part(150, -5.0) == cfg.eval.test_part(200, 15.0) == "test"
    assert load_config(repo / "params.yaml", "smoke", "mnist").eval.test_part(150, 15.0) == "test"
