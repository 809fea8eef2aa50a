"""Datasets as configuration: two small synthetic datasets, written here in the catalog's two formats
(gzipped IDX files, and an ImageFolder tree of PNGs of another size than their family's, resized),
run through the smoke DAG by adding their catalog entries to params.yaml and nothing else: the IDX one
through every stage, the resized ImageFolder one (Table II family, three classes) through its data stage,
stage 1 and E-DiffSem's receiver.  The rest of a Table II dataset's DAG is CIFAR-10's in the shared smoke
run, and Table II's networks with another class count are unit-tested in test_models.py; one Table II
dataset through every stage here would cost ≈ 3 CPU-minutes of the suite's 15."""

import gzip
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from diffsem.config import load_config
from diffsem.data import DataError, load_raw_dataset
from diffsem.figure_names import GENERIC


def _idx(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.astype(np.uint8).tobytes()


def _pattern(label: int, n_classes: int, rng, size: int, channels: int) -> np.ndarray:
    """A noisy image whose bright band's position says its class (learnable, but not trivially)."""
    img = rng.integers(0, 60, (size, size, channels))
    band = size // n_classes
    img[label * band : (label + 1) * band] += 150
    return img.clip(0, 255).astype(np.uint8)


def write_idx_dataset(root, n_train=400, n_test=80, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % n_classes
        x = np.stack([_pattern(c, n_classes, rng, 28, 1)[..., 0] for c in y])
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(x)))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(y)))


def write_imagefolder(root, classes, n_train=240, n_test=60, size=24, seed=1):
    rng = np.random.default_rng(seed)
    for part, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            c = i % len(classes)
            d = root / part / classes[c]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(_pattern(c, len(classes), rng, size, 3)).save(d / f"{i}.png")


SHAPES = ["circle", "square", "triangle"]


def _entries():
    return {
        "digits4": {"title": "Synthetic digits", "family": "table1", "n_classes": 4, "class_names": ["a", "b", "c", "d"],
                    "source": {"format": "idx", "path": "synthetic/digits4"}},
        "shapes": {"title": "Synthetic shapes", "family": "table2", "n_classes": 3, "class_names": SHAPES,
                   "resize": True, "source": {"format": "imagefolder", "path": "synthetic/shapes",
                                              "images_per_class": {"train": 80, "test": 20}}},
    }


def test_formats_load_with_labels_in_catalog_order_and_sizes_checked(tmp_path):
    from diffsem.config import DataCfg
    from diffsem.config import dataset_entry as _entry

    write_idx_dataset(tmp_path / "synthetic/digits4")
    write_imagefolder(tmp_path / "synthetic/shapes", SHAPES)
    cfg = DataCfg(mirror=str(tmp_path), download_root="", adversary_fraction=0.4, train_subset=0, n_eval=0, val_fraction=0.1)
    tx, ty, vx, vy = load_raw_dataset("digits4", cfg, _entry(_entries()["digits4"]))
    assert tx.shape == (400, 1, 28, 28) and vx.shape == (80, 1, 28, 28) and set(ty.tolist()) == {0, 1, 2, 3}
    entry = _entries()["shapes"]
    entry["class_names"] = ["triangle", "circle", "square"]  # label order is the catalog's, not the folders'
    tx, ty, vx, vy = load_raw_dataset("shapes", cfg, _entry(entry))
    assert tx.shape == (240, 3, 32, 32) and vx.shape == (60, 3, 32, 32)  # 24x24 PNGs resized to Table II's 32x32
    first = tx.files.index(next(f for f in tx.files if f.parent.name == "triangle"))
    assert int(ty[first]) == 0 and int((ty == 1).sum()) == 80
    entry["resize"] = False  # refused when the data stage reads it, before any training
    with pytest.raises(DataError, match="is 24x24, expected 32x32 .*resize: true"):
        load_raw_dataset("shapes", cfg, _entry(entry))
    entry["class_names"] = ["circle", "square", "hexagon"]
    with pytest.raises(DataError, match="has classes"):
        load_raw_dataset("shapes", cfg, _entry(entry))
    bad = {**_entries()["digits4"], "family": "table2"}  # 1x28x28 IDX images under Table II, no resize
    with pytest.raises(DataError, match="digits4 images are 1x28x28, its architecture family needs 3x32x32"):
        load_raw_dataset("digits4", cfg, _entry(bad))
    x2, *_ = load_raw_dataset("digits4", cfg, _entry({**bad, "resize": True}))
    assert x2.shape == (400, 3, 32, 32) and x2.dtype == torch.uint8


def test_catalog_errors_are_one_line(repo, tmp_path):
    from diffsem.config import ConfigError

    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["catalog"]["digits4"] = {**_entries()["digits4"], "class_names": ["a", "b"]}
    raw["datasets"] = ["digits4"]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="catalog.digits4.class_names' has 2 names for n_classes = 4"):
        load_config(tmp_path / "p.yaml")
    raw["catalog"]["digits4"] = {**_entries()["digits4"], "family": "resnet"}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="family"):
        load_config(tmp_path / "p.yaml")


@pytest.fixture(scope="module")
def catalog_run(tmp_path_factory, request):
    repo = request.config.rootpath
    work = tmp_path_factory.mktemp("catalog")
    mirror = work / "mirror"
    write_idx_dataset(mirror / "synthetic/digits4")
    write_imagefolder(mirror / "synthetic/shapes", SHAPES)
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["data"]["mirror"] = str(mirror)
    raw["catalog"].update(_entries())  # the only change: two catalog entries, listed in `datasets`
    raw["datasets"] = ["digits4", "shapes"]
    small = {"data": {"train_subset": 0, "n_eval": 40}, "eval": {"t_grid": [0, 150, 300], "fig8_snrs": [], "fig6_t": [150, 300]},
             "baselines": {"systems": ["direct"]}, "adversary": {"epochs": 1, "items_per_epoch": 64},
             "strong": {"epochs": 1, "items_per_epoch": 128},
             "attack_study": {"eve_snr_offsets_db": [10], "query_fractions": [0.5], "surrogate": ["classes"], "inversion": []}}
    raw["scales"]["smoke"]["per_dataset"].update({"digits4": small, "shapes": small})
    (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    # what `snakemake` (rule all) builds for digits4, and the shapes prefix (module docstring)
    targets = [f"reports/digits4/seed0/figures/{stem}.png" for stem in GENERIC.values()] + [
        "reports/digits4/seed0/attack_protocol.csv", "reports/seeds/digits4.csv", "models/shapes/seed0/receiver_e-diffsem.pt"]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(work), *targets, "--cores", "2",
           "--max-threads", "1", "--config", "scale=smoke"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stderr[-3000:]
    return work


def _split_holds(work, ds, n_classes, shape):
    from diffsem.data import load_split

    split = load_split(work / f"data/{ds}/seed0/split.pt", with_test=True)
    assert split.tr_x.shape[1:] == shape and int(split.tr_y.max()) == n_classes - 1


def test_a_catalog_entry_runs_the_whole_dag(catalog_run):
    work, ds = catalog_run, "digits4"
    _split_holds(work, ds, 4, (1, 28, 28))
    df = pd.read_csv(work / f"reports/{ds}/seed0/metrics.csv")
    assert set(df.dataset) == {ds} and {"e-diffsem", "ceiling", "direct"} <= set(df.system)
    assert df.attacker_acc.between(0, 1).all() and (df.n_eval == 40).all()
    study = pd.read_csv(work / f"reports/{ds}/seed0/attack_study.csv")
    assert set(study.study) == {"eve_snr", "queries", "surrogate"}
    figs = work / f"reports/{ds}/seed0/figures"
    # generic figures under descriptive names (the paper's numbers are MNIST's and CIFAR-10's)
    for stem in GENERIC.values():
        p = figs / f"{stem}.png"
        assert p.is_file() and p.read_bytes()[:4] == b"\x89PNG", stem
    assert not list(figs.glob("fig*.png"))
    assert (work / "reports/seeds/digits4.csv").is_file() and (work / "reports/digits4/seed0/attack_protocol.csv").is_file()


def test_a_resized_imagefolder_entry_trains_its_receiver(catalog_run):
    """shapes: 24x24 PNGs resized to Table II's 3x32x32, three classes, through stage 1, the conditional
    U-Net and E-DiffSem's Alg. 2 fine-tune, each selected on its three-class validation slice."""
    work = catalog_run
    _split_holds(work, "shapes", 3, (3, 32, 32))
    assert (work / "models/shapes/seed0/receiver_e-diffsem.pt").is_file()
    for stage in ("jscc", "unet_cond", "finetune_e-diffsem"):
        curve = pd.read_csv(work / f"reports/shapes/seed0/curves/{stage}.csv")
        assert curve.selected.sum() == 1, stage
    ft = pd.read_csv(work / "reports/shapes/seed0/curves/finetune_e-diffsem.csv")
    assert ft.val_acc_mean.between(0, 1).all()
    assert not (work / "models/shapes/seed0/adversary.pt").exists()  # only the prefix ran
