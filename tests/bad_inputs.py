"""Catalogue of bad inputs and the one-line error each must produce.

Used by tests/test_bad_inputs.py (each case: exit 2, one line, the expected words, nothing written)
and by scripts/bad_input_table.py, which prints the table in docs/robustness.md.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import yaml

from diffsem.data import Split


@dataclass
class Case:
    name: str
    argv: list[str]  # CLI arguments after the stage-independent --params/--root
    expect: str  # substring the message must contain
    edits: dict = field(default_factory=dict)  # dotted params.yaml edits ("a.b": value)
    prepare: Callable[[Path, Path], None] | None = None  # (root, mirror) -> None: files to plant
    mirror: str = "mirror"  # "mirror" (real), "missing", or "copy" (a writable copy to corrupt)


def _set(raw: dict, dotted: str, value) -> None:
    node = raw
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def _split(root: Path, _mirror: Path) -> None:
    d = root / "data/mnist/seed0"
    d.mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.zeros(1) for k in Split.__dataclass_fields__},
               d / "split.pt")


def _jscc_ckpt(root: Path, cfg_edit: dict | None = None, kind: str = "jscc") -> None:
    from diffsem.config import load_config
    from diffsem.io import save_checkpoint
    from diffsem.models import family_spec
    from diffsem.stages import jscc_config

    raw = yaml.safe_load((root / "params.yaml").read_text())
    for k, v in (cfg_edit or {}).items():
        _set(raw, k, v)
    tmp = root / "other_params.yaml"
    tmp.write_text(yaml.safe_dump(raw))
    cfg = load_config(tmp, "smoke", "mnist")
    tmp.unlink()
    spec = family_spec("table1", encoder_kernel=cfg.jscc.encoder_kernel)
    save_checkpoint(root / "models/mnist/seed0/jscc.pt", {"encoder": spec.encoder().state_dict(),
                                                    "classifier": spec.classifier().state_dict()},
                    kind, {"dataset": "mnist"}, jscc_config(cfg, "mnist"))


def _truncated_ckpt(root, mirror):
    _split(root, mirror)
    _jscc_ckpt(root)
    p = root / "models/mnist/seed0/jscc.pt"
    p.write_bytes(p.read_bytes()[:1000])


def _wrong_kind_ckpt(root, mirror):
    _split(root, mirror)
    _jscc_ckpt(root, kind="strong")


def _other_config_ckpt(root, mirror):
    _split(root, mirror)
    _jscc_ckpt(root, {"scales.smoke.jscc.epochs": 7})


def _pickle_ckpt(root, mirror):
    _split(root, mirror)
    (root / "models/mnist/seed0").mkdir(parents=True, exist_ok=True)
    torch.save({"meta": {}, "state": Path("/etc/passwd")}, root / "models/mnist/seed0/jscc.pt")


def _arch_ckpt(root, mirror):
    from diffsem.io import save_checkpoint
    from diffsem.models.unet import UNet

    _split(root, mirror)
    _jscc_ckpt(root)
    arch = {"dataset": "mnist", "in_ch": 1, "n_feat": 32, "n_classes": 0, "T": 500}
    # the smoke config describes an n_feat = 16 U-Net; this checkpoint holds an n_feat = 32 one
    save_checkpoint(root / "models/mnist/seed0/unet_uncond.pt", {"model": UNet(1, 32, 0).state_dict()}, "unet_uncond", arch, {})


def _old_split(root, mirror):
    """A split.pt written by the first version (no validation slices)."""
    (root / "data/mnist/seed0").mkdir(parents=True, exist_ok=True)
    torch.save({k: torch.zeros(1) for k in ("tr_x", "tr_y", "adv_x", "adv_y", "test_x", "test_y", "eval_idx")},
               root / "data/mnist/seed0/split.pt")


def _truncate_mnist(root, mirror):
    p = root / "mirror/MNIST/raw/train-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes()[:-10])


def _delete_mnist(root, mirror):
    (root / "mirror/MNIST/raw/t10k-images-idx3-ubyte").unlink()


CASES = [
    Case("unknown key in a section", ["check-config"], "unknown key under 'jscc'", {"jscc.epoch": 3}),
    Case("unknown top-level key", ["check-config"], "unknown key under '<root>'", {"sheduler": {}}),
    Case("T' > T in the grid", ["check-config"], "'eval.t_grid[1]' = 600 is invalid: T' must be <= schedule.T = 500",
         {"eval.t_grid": [0, 600]}),
    Case("T' > T only in one preset", ["check-config", "--scale", "cpu"], "(with scale 'smoke')", {"scales.smoke.finetune.t_values": [0, 900]}),
    Case("SNR not a number", ["check-config"], "'eval.snr_db' = 'loud' is invalid", {"eval.snr_db": "loud"}),
    Case("SNR out of range", ["check-config"], "'eval.fig8_snrs[1]' = 1000", {"eval.fig8_snrs": [0.0, 1000]}),
    Case("unknown dataset in params", ["check-config"], "'datasets[0]' = 'imagenet'", {"datasets": ["imagenet"]}),
    Case("unknown dataset flag", ["data", "--dataset", "cifar100"], "unknown dataset 'cifar100'"),
    Case("unknown scale", ["check-config", "--scale", "huge"], "scale 'huge' is invalid"),
    Case("negative learning rate", ["check-config"], "'jscc.lr' = -1", {"jscc.lr": -1}),
    Case("zero DDIM steps", ["check-config"], "'sampler.max_steps' = 0", {"sampler.max_steps": 0}),
    Case("U-Net width not a multiple of 8", ["check-config"], "'diffusion.n_feat' = 100", {"diffusion.n_feat": 100}),
    Case("beta_start > beta_end", ["check-config"], "'schedule.beta_start' = 0.05", {"schedule.beta_start": 0.05}),
    Case("shell metacharacters in a path", ["check-config"], "'data.mirror'", {"data.mirror": "x; rm -rf ~"}),
    Case("adversary fraction outside (0,1)", ["check-config"], "'data.adversary_fraction' = 1.5",
         {"data.adversary_fraction": 1.5}),
    Case("fractional epochs", ["check-config"], "'jscc.epochs' = 2.5", {"jscc.epochs": 2.5}),
    Case("mirror folder missing", ["data"], "not found; set data.mirror", mirror="missing"),
    Case("MNIST file truncated", ["data"], "train-labels-idx1-ubyte is corrupt or truncated", prepare=_truncate_mnist,
         mirror="copy"),
    Case("MNIST file missing", ["data"], "MNIST file missing", prepare=_delete_mnist, mirror="copy"),
    Case("stage run before its input exists", ["train-jscc"], "run the data stage first"),
    Case("truncated checkpoint", ["train-diffusion", "--variant", "uncond"],
         "jscc.pt: unreadable or corrupt (truncated or not a torch file)",
         prepare=_truncated_ckpt),
    Case("checkpoint of another kind", ["train-diffusion", "--variant", "uncond"], "holds a 'strong' model",
         prepare=_wrong_kind_ckpt),
    Case("checkpoint from another config", ["train-diffusion", "--variant", "uncond"],
         "trained with a different config (differs in: jscc)", prepare=_other_config_ckpt),
    Case("checkpoint with pickled objects", ["train-diffusion", "--variant", "uncond"], "refused: it holds pickled",
         prepare=_pickle_ckpt),
    Case("checkpoint of another architecture", ["finetune", "--system", "diffsem"], "architecture", prepare=_arch_ckpt),
    Case("missing --variant", ["train-diffusion"], "needs --variant"),
    Case("CIFAR-10 mirror folder missing", ["data", "--dataset", "cifar10"], "CIFAR10-jpeg/train not found",
         mirror="missing"),
    Case("unknown dataset under per_dataset", ["check-config"], "'svhn'", {"per_dataset": {"svhn": {}}}),
    Case("T' > T in one dataset's overrides", ["check-config"], "dataset 'cifar10'",
         {"per_dataset.cifar10.eval": {"t_grid": [700]}}),
    Case("negative items per epoch", ["check-config"], "'adversary.items_per_epoch' = -1", {"adversary.items_per_epoch": -1}),
    Case("DDIM step cap below 1 in a search", ["receiver-search", "--steps", "4,0"], "--steps needs integers >= 1"),
    Case("IBAL sweep weight not a number", ["ibal-sweep", "--lambdas", "0.1,lots"], "--lambdas must be comma-separated numbers"),
    Case("validation share above one half", ["check-config"], "'data.val_fraction' = 0.7", {"data.val_fraction": 0.7}),
    Case("validation T' > T", ["check-config"], "'validation.t_values[1]' = 900 is invalid: T' must be <= schedule.T",
         {"validation.t_values": [0, 900]}),
    Case("negative guidance weight", ["check-config"], "'sampler.guidance_w' = -1", {"sampler.guidance_w": -1}),
    Case("guidance weight not a number", ["guidance-search", "--weights", "0,lots"], "--weights must be comma-separated numbers"),
    Case("split from the first version (no validation slices)", ["train-jscc"], "from an older version", prepare=_old_split),
    Case("negative training seed", ["data", "--seed", "-1"], "--seed -1 is invalid"),
    Case("training seed list not integers", ["check-config"], "'seeds[0]' = 'one'", {"seeds": ["one"]}),
    Case("unknown E-DiffSem label source", ["check-config"], "'diffusion.cond_labels' = 'fuzzy'", {"diffusion.cond_labels": "fuzzy"}),
    Case("unknown channel kind", ["check-config"], "'channel.kind' = 'rician'", {"channel.kind": "rician"}),
    Case("even encoder kernel", ["check-config"], "'jscc.encoder_kernel' = 4", {"jscc.encoder_kernel": 4}),
    Case("moving-average decay of one", ["check-config"], "'jscc.ema_decay' = 1", {"jscc.ema_decay": 1}),
    Case("summary of a seed never run", ["summarize-seeds", "--seeds", "0,7"], "no finished run for training seed(s) 0, 7"),
]


def materialise(case: Case, root: Path, repo: Path, mirror: Path) -> list[str]:
    """Write params.yaml (+ planted files) under ``root``; return the full CLI argv."""
    import shutil

    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw = copy.deepcopy(raw)
    if case.mirror == "missing":
        raw["data"]["mirror"] = str(root / "no-such-mirror")
    elif case.mirror == "copy":
        shutil.copytree(mirror / "MNIST", root / "mirror/MNIST")
        raw["data"]["mirror"] = str(root / "mirror")
    else:
        raw["data"]["mirror"] = str(mirror)
    for k, v in case.edits.items():
        _set(raw, k, v)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    if case.prepare is not None:
        case.prepare(root, mirror)
    argv = case.argv[:1] + ["--params", str(root / "params.yaml"), "--root", str(root)] + case.argv[1:]
    if "--scale" not in argv:
        argv += ["--scale", "smoke"]
    return argv
