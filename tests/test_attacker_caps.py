"""Every inversion attacker continues its saved state under a larger `adversary` cap, as stage 3's does
(training.fit's ``extendable``; decisions §43), and the diffusion-prior attacker's U-Net, which does not depend
on the adversary's recipe, stays trained (decisions §32)."""

from dataclasses import replace
from pathlib import Path

from diffsem.config import load_config
from diffsem.attack_study import study_config
from diffsem.prior_attack import prior_config, prior_unet_config
from diffsem.training import _without_cap
from script_modules import load_script


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


def test_convergence_table_flags_networks_stopped_by_their_cap_while_improving(tmp_path):
    """scripts/attacker_convergence.py: a network whose best epoch is within `patience` of its cap is still
    improving; one that stopped on its own patience is not; the headline table reads each run's eval/*.csv."""
    import pandas as pd

    conv = load_script("attacker_convergence")

    def curve(points):  # point -> (epochs run, best epoch, cap)
        rows = []
        for p, (n, best, cap) in points.items():
            rows += [{"point": p, "epoch": e, "max_epochs": cap, "val_mse": 1.0, "selected": int(e == best)}
                     for e in range(1, n + 1)]
        return pd.DataFrame(rows)

    runs = {}
    for label, pts in (("short", {"150@15": (60, 59, 60), "300@15": (40, 36, 60)}),
                       ("long", {"150@15": (75, 71, 200), "300@15": (40, 36, 200)})):
        root = tmp_path / label
        (root / "reports/mnist/seed1/curves").mkdir(parents=True)
        (root / "reports/mnist/seed1/eval").mkdir(parents=True)
        curve(pts).to_csv(root / "reports/mnist/seed1/curves/adversary.csv", index=False)
        pd.DataFrame([{"attack": "inversion", "t": t, "snr_db": 15.0, "attacker_acc": acc}
                      for t, acc in ((150, 0.97), (300, 0.87 if label == "short" else 0.88))]).to_csv(
            root / "reports/mnist/seed1/eval/diffsem.csv", index=False)
        runs[label] = root
    table = conv.curve_table(runs, "mnist", 1, patience=4).set_index("run")
    assert table.loc["short", "still improving at the cap"] == 1 and table.loc["long", "still improving at the cap"] == 0
    assert table.loc["long", "latest stop"] == 75
    head = conv.headline_table(runs, "mnist", 1, [(150, 15.0), (300, 15.0)]).set_index("t")
    assert head.loc[300, "short"] == 0.87 and head.loc[300, "long"] == 0.88
    assert conv.main(["--seed", "1", "--run", f"bad={tmp_path / 'missing'}"]) == 2


def test_recipe_probe_augment_shifts_and_mirrors_each_image_on_its_own():
    """scripts/jscc_recipe_probe.py's --augment (decisions §45): every output image is a 32x32 window of its
    own reflect-padded input, mirrored or not, with windows and mirrors drawn per image."""
    import torch
    import torch.nn.functional as F

    augment = load_script("jscc_recipe_probe").augment
    x = torch.rand(64, 3, 32, 32)
    out = augment(x, torch.Generator().manual_seed(0))
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    found = []
    for i in range(x.shape[0]):
        hits = [(dy, dx, m) for dy in range(9) for dx in range(9) for m in (False, True)
                if torch.equal(out[i], padded[i, :, dy:dy + 32, dx:dx + 32].flip(2) if m else padded[i, :, dy:dy + 32, dx:dx + 32])]
        assert hits, f"image {i} is not a shifted or mirrored window of its input"
        found.append(hits[0])
    assert len({(dy, dx) for dy, dx, _ in found}) > 10 and {m for *_, m in found} == {False, True}
    assert torch.equal(augment(x, torch.Generator().manual_seed(0)), out)


def test_recipe_probe_augments_digits_by_two_pixel_shifts_never_mirrored():
    """The probe's MNIST augmentation (decisions §46, AUGMENTATION["table1"]): each 28x28 digit is a window of
    its 2-pixel padded copy, shifted per image, and never mirrored (a mirrored digit is another digit)."""
    import torch
    import torch.nn.functional as F

    probe = load_script("jscc_recipe_probe")
    x = torch.rand(64, 1, 28, 28)
    out = probe.augment(x, torch.Generator().manual_seed(0), **probe.AUGMENTATION["table1"])
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    shifts = []
    for i in range(x.shape[0]):
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(out[i], padded[i, :, dy:dy + 28, dx:dx + 28])]
        assert hits, f"image {i} is not a shifted window of its input"
        shifts.append(hits[0])
    assert len(set(shifts)) > 10 and any(s != (2, 2) for s in shifts)
