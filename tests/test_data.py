import shutil

import pytest
import torch

from diffsem.config import DataCfg
from diffsem.data import DataError, load_raw_dataset, make_split, stratified_indices


def _cfg(mirror, **kw):
    base = dict(mirror=str(mirror), download_root="data/raw", adversary_fraction=0.4, train_subset=0, n_eval=0)
    base.update(kw)
    return DataCfg(**base)


def test_stratified_indices():
    y = torch.arange(1000) % 10
    idx = stratified_indices(y, 100, 10, seed=0)
    assert idx.numel() == 100 and torch.equal(torch.bincount(y[idx]), torch.full((10,), 10))
    assert torch.equal(idx, stratified_indices(y, 100, 10, seed=0))
    assert idx.unique().numel() == 100
    assert stratified_indices(y, 0, 10, 0).numel() == 1000


def test_split_is_deterministic_and_disjoint():
    x = torch.arange(1000).view(-1, 1, 1, 1).to(torch.int64)
    y = torch.arange(1000) % 10
    cfg = _cfg("", n_eval=50)
    a = make_split(x, y, x[:200], y[:200], cfg, 0, 10)
    b = make_split(x, y, x[:200], y[:200], cfg, 0, 10)
    assert torch.equal(a.tr_x, b.tr_x) and torch.equal(a.adv_x, b.adv_x)
    assert a.tr_x.shape[0] == 600 and a.adv_x.shape[0] == 400
    assert set(a.tr_x.flatten().tolist()).isdisjoint(a.adv_x.flatten().tolist())
    assert a.eval_idx.numel() == 50


def test_mirror_loads_real_mnist(mirror):
    tx, ty, vx, vy = load_raw_dataset("mnist", _cfg(mirror))
    assert tx.shape == (60000, 1, 28, 28) and vx.shape == (10000, 1, 28, 28)
    assert tx.dtype == torch.uint8 and ty.dtype == torch.int64


def test_corrupt_mirror_named(mirror, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (mirror / "MNIST" / "raw").iterdir():
        shutil.copy(f, raw / f.name)
    bad = raw / "t10k-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is corrupt or truncated"):
        load_raw_dataset("mnist", _cfg(tmp_path))
    bad.unlink()
    with pytest.raises(DataError, match="missing"):
        load_raw_dataset("mnist", _cfg(tmp_path))


def test_missing_mirror(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_raw_dataset("mnist", _cfg(tmp_path / "nowhere"))


def test_mirror_loads_real_cifar10(mirror):
    """ImageFolder layout, CIFAR-10 label order; train images decoded lazily, only those indexed."""
    from diffsem.data import CIFAR10_CLASSES, JpegImages

    if not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("CIFAR-10 mirror not available")
    tx, ty, vx, vy = load_raw_dataset("cifar10", _cfg(mirror))
    assert isinstance(tx, JpegImages) and tx.shape == (50000, 3, 32, 32)
    assert vx.shape == (10000, 3, 32, 32) and vx.dtype == torch.uint8
    assert torch.equal(torch.bincount(ty), torch.full((10,), 5000)) and torch.equal(torch.bincount(vy), torch.full((10,), 1000))
    assert CIFAR10_CLASSES[3] == "cat" and tx.files[int(torch.nonzero(ty == 3)[0])].parent.name == "cat"
    some = tx[torch.tensor([0, 49999])]
    assert some.shape == (2, 3, 32, 32) and some.dtype == torch.uint8 and some.float().std() > 10
    split = make_split(tx, ty, vx, vy, _cfg(mirror, train_subset=200, n_eval=50), 0, 10)
    assert split.tr_x.shape == (120, 3, 32, 32) and split.adv_x.shape == (80, 3, 32, 32)
    assert torch.equal(torch.bincount(vy[split.eval_idx]), torch.full((10,), 5))


def test_cifar10_mirror_problems_named(mirror, tmp_path):
    if not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("CIFAR-10 mirror not available")
    with pytest.raises(DataError, match="CIFAR10-jpeg/train not found"):
        load_raw_dataset("cifar10", _cfg(tmp_path))
    base = tmp_path / "CIFAR10-jpeg" / "train"
    src = mirror / "CIFAR10-jpeg" / "train"
    for c in src.iterdir():  # a copy with one class short of images
        (base / c.name).mkdir(parents=True)
        for f in sorted(c.iterdir())[: 5000 if c.name != "dog" else 4999]:
            (base / c.name / f.name).symlink_to(f)
    with pytest.raises(DataError, match="dog has 4999 images, expected 5000"):
        load_raw_dataset("cifar10", _cfg(tmp_path))
    (base / "zebra").mkdir()
    (base / "zebra" / "0.jpg").symlink_to(next(src.glob("cat/*.jpg")))
    with pytest.raises(DataError, match="has classes"):
        load_raw_dataset("cifar10", _cfg(tmp_path))
    # a broken JPEG is named when the split decodes it
    from diffsem.data import JpegImages

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DataError, match="cannot decode .*bad.jpg"):
        JpegImages([bad], (3, 32, 32))[[0]]


def test_unknown_dataset_in_loader():
    with pytest.raises(DataError, match="unknown dataset 'svhn'"):
        load_raw_dataset("svhn", _cfg(""))
