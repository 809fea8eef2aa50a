"""The FLOP plan (diffsem.flop_plan): stage costs follow from the configuration in closed form."""

import pytest

from diffsem.config import load_config
from diffsem.flop_plan import TRAIN, plan, split_sizes

GF = {"encoder": 1.0, "classifier": 2.0, "strong": 3.0, "adversary": 5.0, "unet_uncond": 7.0, "unet_cond": 11.0, "mlp": 13.0}


def test_plan_rows_are_the_closed_forms():
    cfg = load_config("params.yaml", "paper", "mnist")
    n = split_sizes(cfg, 60000, 10000)
    assert n["tr"] + n["val"] + n["adv"] + n["adv_val"] == 60000 and n["test"] == 10000
    df = plan(cfg, "mnist", 60000, 10000, GF).set_index("stage")
    j = cfg.jscc
    want = j.epochs * (n["tr"] * TRAIN * (1 + 2) + n["val"] * len(cfg.validation.t_values) * (1 + 2))
    assert df.loc["train_jscc", "tflop"] == pytest.approx(want / 1e3)
    d = cfg.diffusion
    assert df.loc["train_diffusion_cond", "tflop"] == pytest.approx((n["tr"] * 1 + d.epochs * (n["tr"] * TRAIN * 11 + n["val"] * 11)) / 1e3)
    # more DDIM steps cost more: the evaluation grows with the sampler's cap, the fine-tune control does not
    fewer = plan(load_config("params.yaml", "cpu", "mnist"), "mnist", 60000, 10000, GF).set_index("stage")
    assert fewer.loc["evaluate", "tflop"] < df.loc["evaluate", "tflop"]
    assert (df.tflop > 0).all()
    # the CIFAR-10 preset without IBAL (cpu) has no IBAL cost
    cif = plan(load_config("params.yaml", "cpu", "cifar10"), "cifar10", 50000, 10000, GF).set_index("stage")
    assert cif.loc["train_ibal", "tflop"] == 0 and cif.loc["attack_ibal", "tflop"] == 0
