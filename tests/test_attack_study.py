"""The attack study's conditions (diffsem.attack_study): what data the eavesdropper holds under each,
and the eavesdropper's own channel in the evaluation's draws."""

import torch

from diffsem.attack_study import Condition, adversary_data, conditions, shift_images
from diffsem.config import load_config
from diffsem.data import Split


def _split(n_adv=400, n_val=100, n_classes=10):
    g = torch.Generator().manual_seed(0)
    x = lambda n: torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)  # noqa: E731
    y = lambda n: torch.arange(n) % n_classes  # noqa: E731
    return Split(x(50), y(50), x(20), y(20), x(n_adv), y(n_adv), x(n_val), y(n_val), x(30), y(30), torch.arange(30))


def test_conditions_follow_params(repo):
    cfg = load_config(repo / "params.yaml", "cpu", "mnist")
    conds = conditions(cfg.attack_study)
    assert [c.eve_offset_db for c in conds if c.study == "eve_snr"] == [float(o) for o in cfg.attack_study.eve_snr_offsets_db]
    assert [c.fraction for c in conds if c.study == "queries"] == [float(f) for f in cfg.attack_study.query_fractions]
    assert {c.surrogate for c in conds if c.study == "surrogate"} == set(cfg.attack_study.surrogate)
    assert len({c.key for c in conds}) == len(conds)  # resume states never collide


def test_class_disjoint_surrogate_holds_only_the_first_half_of_the_classes():
    split = _split()
    x, y, xv, yv = adversary_data(split, Condition("surrogate", "classes", surrogate="classes"), 10, 0)
    assert set(y.tolist()) == set(range(5)) and set(yv.tolist()) == set(range(5))
    assert len(y) == 200 and len(x) == len(y) and len(xv) == len(yv) == 50
    # the images are the adversary's own rows with those labels, not the defender's
    assert torch.equal(x, split.adv_x[split.adv_y < 5])


def test_query_budget_is_stratified_and_validates_on_as_few():
    split = _split()
    x, y, xv, yv = adversary_data(split, Condition("queries", "0.25", fraction=0.25), 10, 0)
    assert len(y) == 100 and torch.bincount(y).tolist() == [10] * 10
    assert len(yv) == 25 and len(xv) == 25
    full = adversary_data(split, Condition("queries", "1", fraction=1.0), 10, 0)
    assert torch.equal(full[0], split.adv_x) and torch.equal(full[3], split.adv_val_y)


def test_shifted_surrogate_changes_every_image_reproducibly():
    split = _split()
    x, y, xv, _ = adversary_data(split, Condition("surrogate", "shifted", surrogate="shifted"), 10, 0)
    assert x.dtype == torch.uint8 and x.shape == split.adv_x.shape and torch.equal(y, split.adv_y)
    assert ((x != split.adv_x).flatten(1).any(1)).all() and torch.equal(x, shift_images(split.adv_x, 0))
    assert not torch.equal(shift_images(split.adv_x, 0), shift_images(split.adv_x, 1))
    # no rotation, shift, scale or contrast change: the image comes back as it was
    same = shift_images(split.adv_x[:8], 0, max_deg=0, max_shift=0, scale=(1, 1), contrast=(1, 1))
    assert (same.int() - split.adv_x[:8].int()).abs().max() <= 1


def test_eavesdropper_channel_scales_the_same_draw(repo):
    """transmissions(..., eve_snr=) leaves the receiver's draw alone and gives the eavesdropper the same
    standard-normal draw at its own noise level (so the study pairs with the receivers' predictions)."""
    from diffsem.evaluate import point_seed, transmissions
    from diffsem.pipeline import Link
    from diffsem.schedule import linear_schedule

    cfg = load_config(repo / "params.yaml", "smoke", "mnist")
    split = _split()
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16))
    link = Link(enc, linear_schedule(cfg.schedule.T, cfg.schedule.beta_start, cfg.schedule.beta_end), False)
    with torch.no_grad():
        same = next(transmissions(cfg, split, link, 150, 15.0, 0, "cpu"))
        worse = next(transmissions(cfg, split, link, 150, 15.0, 0, "cpu", eve_snr=5.0))
        x = same[0]
        z = link.transmit(link.features(x), 150, 15.0, torch.Generator().manual_seed(point_seed(0, 150, 15.0)))
    assert torch.equal(same[2], worse[2])  # the receiver's draw
    n15, n5 = same[3] - z, worse[3] - z  # the eavesdropper's noise at 15 dB and at 5 dB
    assert torch.allclose(n5, n15 * 10 ** 0.5, rtol=1e-4, atol=1e-6)  # 10 dB worse: the same draw, sqrt(10)x the std
