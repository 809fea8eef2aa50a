"""Every inversion attacker continues its saved state under a larger `adversary` cap, as stage 3's does
(training.fit's ``extendable``; decisions §43), and the diffusion-prior attacker's U-Net, which does not depend
on the adversary's recipe, stays trained (decisions §32)."""

from dataclasses import replace
from pathlib import Path

from diffsem.config import load_config
from diffsem.attack_study import study_config
from diffsem.prior_attack import prior_config, prior_unet_config
from diffsem.training import _without_cap


def _with_adversary(cfg, **kw):
    return replace(cfg, adversary=replace(cfg.adversary, **kw))


def test_a_larger_adversary_cap_continues_the_inversion_nets_and_keeps_the_unet():
    cfg = load_config(Path(__file__).parents[1] / "params.yaml", "cpu")
    longer = _with_adversary(cfg, epochs=cfg.adversary.epochs + 100, patience=cfg.adversary.patience + 2)
    assert prior_unet_config(longer, "mnist") == prior_unet_config(cfg, "mnist")
    assert prior_config(longer, "mnist") != prior_config(cfg, "mnist")
    # what training._restore compares for an extendable state: equal, so the saved inversion nets continue
    assert _without_cap(prior_config(longer, "mnist"), "adversary") == _without_cap(prior_config(cfg, "mnist"), "adversary")
    # another recipe is another attacker: its inversion nets start over, its U-Net still does not
    faster = _with_adversary(cfg, lr=cfg.adversary.lr * 2)
    assert _without_cap(prior_config(faster, "mnist"), "adversary") != _without_cap(prior_config(cfg, "mnist"), "adversary")
    assert prior_unet_config(faster, "mnist") == prior_unet_config(cfg, "mnist")
    # the denoiser's recipe changes both
    wider = replace(cfg, diffusion=replace(cfg.diffusion, n_feat=cfg.diffusion.n_feat * 2))
    assert prior_unet_config(wider, "mnist") != prior_unet_config(cfg, "mnist")


def test_the_attack_study_continues_its_inversion_nets_under_a_larger_cap():
    cfg = load_config(Path(__file__).parents[1] / "params.yaml", "cpu")
    longer = _with_adversary(cfg, epochs=cfg.adversary.epochs * 2)
    assert study_config(longer, "mnist") != study_config(cfg, "mnist")
    assert _without_cap(study_config(longer, "mnist"), "adversary") == _without_cap(study_config(cfg, "mnist"), "adversary")


def test_a_new_judge_recipe_keeps_the_ibal_inversion_nets():
    """The inversion networks on an IBAL transmitter do not depend on the strong classifier that judges them:
    a new judge recipe re-trains the judge only (their resume record excludes it; the saved attack includes it)."""
    from diffsem.baseline_stages import attack_config, inversion_config

    cfg = load_config(Path(__file__).parents[1] / "params.yaml", "cpu")
    patient = replace(cfg, strong=replace(cfg.strong, patience=cfg.strong.patience + 4))
    assert inversion_config(patient, "mnist", "ibal-d") == inversion_config(cfg, "mnist", "ibal-d")
    assert attack_config(patient, "mnist", "ibal-d") != attack_config(cfg, "mnist", "ibal-d")
    longer = _with_adversary(cfg, epochs=cfg.adversary.epochs * 2)
    assert (_without_cap(inversion_config(longer, "mnist", "ibal-d"), "adversary")
            == _without_cap(inversion_config(cfg, "mnist", "ibal-d"), "adversary"))
