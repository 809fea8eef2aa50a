import pytest
import torch

from diffsem.io import CheckpointError, atomic_path, load_checkpoint, load_module_state, read_checkpoint, save_checkpoint


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "x.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_checkpoint_round_trip_and_errors(tmp_path):
    net = torch.nn.Linear(3, 2)
    p = tmp_path / "m.pt"
    save_checkpoint(p, {"model": net.state_dict()}, "strong", {"dataset": "mnist"}, {"lr": 1e-3})
    state = load_checkpoint(p, "strong", {"dataset": "mnist"}, {"lr": 1e-3})
    other = torch.nn.Linear(3, 2)
    load_module_state(other, state["model"], p)
    assert torch.equal(other.weight, net.weight)

    with pytest.raises(CheckpointError, match="expected 'adversary'"):
        load_checkpoint(p, "adversary")
    with pytest.raises(CheckpointError, match="architecture"):
        load_checkpoint(p, "strong", {"dataset": "cifar10"})
    with pytest.raises(CheckpointError, match="different config .*lr"):
        load_checkpoint(p, "strong", None, {"lr": 1e-4})
    with pytest.raises(CheckpointError, match="do not fit Linear"):
        load_module_state(torch.nn.Linear(4, 2), state["model"], p)

    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="unreadable or corrupt"):
        load_checkpoint(trunc, "strong")
    with pytest.raises(CheckpointError, match="file not found"):
        load_checkpoint(tmp_path / "none.pt", "strong")


def test_read_checkpoint_returns_the_meta_it_checked_and_the_state(tmp_path):
    net = torch.nn.Linear(3, 2)
    p = tmp_path / "m.pt"
    save_checkpoint(p, {"model": net.state_dict()}, "unet_uncond", {"n_feat": 32}, {"diffusion": {"epochs": 7}})
    meta, state = read_checkpoint(p, "unet_uncond")
    assert meta["kind"] == "unet_uncond" and meta["arch"] == {"n_feat": 32}
    assert meta["config"]["diffusion"]["epochs"] == 7
    assert torch.equal(state["model"]["weight"], net.weight)
    with pytest.raises(CheckpointError, match="expected 'unet_cond'"):
        read_checkpoint(p, "unet_cond")


class Evil:
    """Any non-tensor object: unpickling it could run code, so weights_only loading refuses it."""


def test_checkpoint_refuses_pickled_objects(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"meta": {}, "state": Evil()}, p)
    with pytest.raises(CheckpointError, match="refused: it holds pickled Python objects"):
        load_checkpoint(p, "strong")


def test_items_per_epoch_draws_a_fresh_subset():
    from diffsem.training import batches

    g = torch.Generator().manual_seed(0)
    a = torch.cat(batches(100, 8, g, limit=20))
    b = torch.cat(batches(100, 8, g, limit=20))
    assert a.numel() == 20 and a.unique().numel() == 20 and not torch.equal(a, b)
    assert torch.cat(batches(100, 8, g)).sort().values.equal(torch.arange(100))


def test_a_key_added_later_at_its_legacy_value_keeps_old_checkpoints(tmp_path):
    """config.LEGACY_DEFAULTS: a model trained before `diffusion.cond_labels` existed is the one-hot
    model; it still loads under `onehot`, and is refused under `soft`."""
    p = tmp_path / "unet.pt"
    before = {"jscc": {"lr": 1e-3}, "diffusion": {"epochs": 3, "p_uncond": 0.1}}
    save_checkpoint(p, {}, "unet_cond", {}, before)
    now = {"jscc": {"lr": 1e-3}, "diffusion": {"epochs": 3, "p_uncond": 0.1, "cond_labels": "onehot"}}
    load_checkpoint(p, "unet_cond", {}, now)
    with pytest.raises(CheckpointError, match="different config .*diffusion"):
        load_checkpoint(p, "unet_cond", {}, {**now, "diffusion": {**now["diffusion"], "cond_labels": "soft"}})
    with pytest.raises(CheckpointError, match="different config"):  # only listed keys are forgiven
        load_checkpoint(p, "unet_cond", {}, {**now, "diffusion": {**now["diffusion"], "new_key": 1}})
    save_checkpoint(p, {}, "unet_cond", {}, now)  # recorded with the key: it must match exactly
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(p, "unet_cond", {}, before)


def test_receivers_from_before_sampler_precision_load_as_fp32(tmp_path):
    """`sampler.precision` (decisions §35) was added after receivers were trained: those were fp32."""
    p = tmp_path / "receiver.pt"
    before = {"sampler": {"max_steps": 1, "guidance_w": 0.0}}
    save_checkpoint(p, {}, "receiver_diffsem", {}, before)
    load_checkpoint(p, "receiver_diffsem", {}, {"sampler": {**before["sampler"], "precision": "fp32"}})
    with pytest.raises(CheckpointError, match="different config .*sampler"):
        load_checkpoint(p, "receiver_diffsem", {}, {"sampler": {**before["sampler"], "precision": "bf16"}})


def test_a_moved_dataset_mirror_does_not_void_a_checkpoint(tmp_path):
    p = tmp_path / "jscc.pt"
    save_checkpoint(p, {}, "jscc", {}, {"data": {"mirror": "../shared/datasets", "n_eval": 500}})
    load_checkpoint(p, "jscc", {}, {"data": {"mirror": "/elsewhere/datasets", "n_eval": 500}})
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(p, "jscc", {}, {"data": {"mirror": "../shared/datasets", "n_eval": 100}})
    with pytest.raises(CheckpointError, match="different config"):  # mirror (JPEG for CIFAR-10) vs download
        load_checkpoint(p, "jscc", {}, {"data": {"mirror": "", "n_eval": 500}})


def test_stage1_models_from_before_encoder_kernel_load_as_kernel_3(tmp_path):
    """`jscc.encoder_kernel` (decisions §40) was added after stage 1 was trained with 3x3 kernels."""
    p = tmp_path / "jscc.pt"
    before = {"jscc": {"epochs": 60, "t_per_sample": True}}
    save_checkpoint(p, {}, "jscc", {}, before)
    load_checkpoint(p, "jscc", {}, {"jscc": {**before["jscc"], "encoder_kernel": 3}})
    with pytest.raises(CheckpointError, match="different config .*jscc"):
        load_checkpoint(p, "jscc", {}, {"jscc": {**before["jscc"], "encoder_kernel": 15}})


def test_stage1_models_from_before_ema_decay_load_as_the_weights_themselves(tmp_path):
    """`jscc.ema_decay` (decisions §48) was added after stage 1 was trained on its raw weights: a checkpoint
    without the key is one trained at 0, and only 0 matches it."""
    p = tmp_path / "jscc.pt"
    before = {"jscc": {"epochs": 60, "encoder_kernel": 15}}
    save_checkpoint(p, {}, "jscc", {}, before)
    load_checkpoint(p, "jscc", {}, {"jscc": {**before["jscc"], "ema_decay": 0.0}})
    with pytest.raises(CheckpointError, match="different config .*jscc"):
        load_checkpoint(p, "jscc", {}, {"jscc": {**before["jscc"], "ema_decay": 0.999}})
