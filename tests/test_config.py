import copy

import pytest
import yaml

from diffsem.config import ConfigError, build_config, load_config, load_raw


@pytest.fixture
def raw(repo):
    return load_raw(repo / "params.yaml")


def _err(raw, scale=None) -> str:
    with pytest.raises(ConfigError) as e:
        build_config(raw, scale)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_all_scales_load(repo):
    for scale in ("smoke", "cpu", "paper"):
        cfg = load_config(repo / "params.yaml", scale)
        assert cfg.scale == scale
    paper = load_config(repo / "params.yaml", "paper")
    assert paper.sampler.max_steps == 50 and paper.diffusion.n_feat == 128 and paper.data.n_eval == 0
    assert paper.schedule.T == 500 and paper.data.adversary_fraction == 0.4


def test_presets_only_change_values(repo):
    smoke = load_config(repo / "params.yaml", "smoke")
    paper = load_config(repo / "params.yaml", "paper")
    assert type(smoke) is type(paper)
    assert smoke.diffusion.lr == paper.diffusion.lr  # untouched keys come from the base


def test_unknown_key(raw):
    raw["jscc"]["epoch"] = 3
    assert "unknown key under 'jscc'" in _err(raw) and "epoch" in _err(raw)


def test_unknown_top_level(raw):
    raw["sheduler"] = {}
    assert "sheduler" in _err(raw)


def test_t_prime_above_T(raw):
    raw["eval"]["t_grid"] = [0, 100, 600]
    msg = _err(raw, "paper")
    assert "eval.t_grid[2]" in msg and "600" in msg and "<= schedule.T = 500" in msg


def test_t_prime_above_T_in_preset(raw):
    raw["scales"]["smoke"]["eval"]["t_grid"] = [0, 501]
    assert "eval.t_grid[1]" in _err(raw, "smoke")


def test_invalid_snr(raw):
    raw["eval"]["snr_db"] = "high"
    msg = _err(raw)
    assert "eval.snr_db" in msg and "'high'" in msg and "number" in msg
    raw = copy.deepcopy(raw)
    raw["eval"]["snr_db"] = 15.0
    raw["eval"]["fig8_snrs"] = [-5.0, 1000.0]
    assert "eval.fig8_snrs[1]" in _err(raw)


def test_unknown_dataset_and_scale(raw):
    raw["datasets"] = ["imagenet"]
    msg = _err(raw)
    assert "datasets[0]" in msg and "imagenet" in msg and "mnist" in msg
    raw["datasets"] = ["mnist"]
    raw["scale"] = "huge"
    assert "'scale' = 'huge'" in _err(raw)


def test_bad_scale_argument(raw):
    assert "scale 'huge'" in _err(raw, "huge")


def test_beta_order(raw):
    raw["schedule"]["beta_start"] = 0.05
    assert "beta_start" in _err(raw)


def test_shell_injection_rejected(raw):
    raw["data"]["mirror"] = "x; rm -rf /"
    assert "data.mirror" in _err(raw)


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("jscc: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)


def test_per_dataset_merge_order(raw):
    """base <- per_dataset[ds] <- scales[scale] <- scales[scale].per_dataset[ds]."""
    raw["per_dataset"] = {"cifar10": {"jscc": {"epochs": 7, "lr": 5e-4}, "eval": {"fig6_t": [60, 150, 300]}}}
    raw["scales"]["cpu"]["jscc"] = {"epochs": 3}
    raw["scales"]["cpu"]["per_dataset"] = {"cifar10": {"adversary": {"items_per_epoch": 99}}}
    paper, cpu = build_config(raw, "paper", "cifar10"), build_config(raw, "cpu", "cifar10")
    assert paper.jscc.epochs == 7 and paper.jscc.lr == 5e-4 and paper.eval.fig6_t == (60, 150, 300)
    assert cpu.jscc.epochs == 3 and cpu.jscc.lr == 5e-4  # the preset cuts the dataset's value down
    assert cpu.adversary.items_per_epoch == 99 and build_config(raw, "cpu", "mnist").adversary.items_per_epoch == 0
    assert build_config(raw, "cpu", "mnist").jscc.lr == raw["jscc"]["lr"]  # other datasets untouched
    assert cpu.dataset == "cifar10"


def test_per_dataset_values_are_checked(raw):
    raw["per_dataset"] = {"svhn": {}}
    assert "svhn" in _err(raw)
    raw["per_dataset"] = {"cifar10": {"eval": {"t_grid": [600]}}}
    msg = _err(raw)
    assert "eval.t_grid[0]" in msg and "600" in msg and "dataset 'cifar10'" in msg
    raw["per_dataset"] = {"cifar10": {"jscc": {"epoch": 2}}}
    assert "unknown key under 'per_dataset.cifar10.jscc'" in _err(raw)


def test_learning_rates_stay_in_the_papers_range(repo):
    """Sec. IV: "learning rate varying from 1e-3 to 1e-4". Every stage's starting rate, for every
    (scale, dataset), is in it (fine-tuning at its bottom); CIFAR-10's all-Tanh stages (JSCC,
    adversary, IBAL) start at 3e-4 (docs/decisions.md §18), MNIST's at 1e-3."""
    for scale in ("smoke", "cpu", "paper"):
        for ds in ("mnist", "cifar10"):
            cfg = load_config(repo / "params.yaml", scale, ds)
            lrs = [cfg.jscc.lr, cfg.diffusion.lr, cfg.adversary.lr, cfg.strong.lr, cfg.finetune.lr, cfg.baselines.ibal_lr]
            assert all(1e-4 <= lr <= 1e-3 for lr in lrs), (scale, ds, lrs)
    for ds, tanh_lr in (("cifar10", 3e-4), ("mnist", 1e-3)):
        cfg = load_config(repo / "params.yaml", "paper", ds)
        assert (cfg.jscc.lr, cfg.adversary.lr, cfg.baselines.ibal_lr) == (tanh_lr,) * 3, ds


def test_fading_inversion_warm_up_must_leave_epochs_to_select(raw):
    raw["fading"]["inversion_warmup"] = 60
    msg = _err(raw, "paper")  # the paper's adversary runs 30 epochs
    assert "'fading.inversion_warmup' = 60" in msg and "below adversary.epochs = 30" in msg
    raw["fading"]["inversion_t"] = []  # no fading inversion attacker: nothing to warm up
    build_config(raw, "paper", "mnist")


def test_fading_inversion_t_must_be_in_the_fading_grid(raw):
    raw["fading"]["inversion_t"] = [150, 250]
    msg = _err(raw, "cpu")
    assert "'fading.inversion_t'" in msg and "[250] not in fading.t_grid" in msg
