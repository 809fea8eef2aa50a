"""Data stage: read a dataset (local mirror or torchvision download), split it, write data/<ds>/.

The split (Sec. IV-A): a seeded permutation of the training set; the first (1 - adversary_fraction)
goes to the transmitter-receiver pair, the rest to the adversary.  The test set is held out; the
evaluation uses either all of it or a fixed stratified subset of ``n_eval`` images (equal count per
class, seeded), so that smaller scales measure the same distribution.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import DataCfg

# MD5 of the uncompressed IDX files (the originals from LeCun's site; also shared/datasets/README.md)
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class DataError(RuntimeError):
    """Missing or corrupt input data (one-line message)."""


@dataclass
class Split:
    """uint8 images (N, C, H, W) and int64 labels; decoded once, reused by every stage."""

    tr_x: torch.Tensor
    tr_y: torch.Tensor
    adv_x: torch.Tensor
    adv_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    eval_idx: torch.Tensor  # indices into test_* that the evaluation uses

    def tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.__dict__)


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tensor_sha256(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def _verify_mnist_mirror(raw_dir: Path) -> None:
    for name, want in MNIST_MD5.items():
        p = raw_dir / name
        if not p.is_file():
            raise DataError(f"data: MNIST file missing: {p}")
        got = md5(p)
        if got != want:
            raise DataError(f"data: MNIST file {p} is corrupt or truncated (md5 {got}, expected {want})")


def load_raw_dataset(name: str, cfg: DataCfg) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (train_x, train_y, test_x, test_y) as uint8 NCHW / int64 tensors."""
    import torchvision

    if name != "mnist":
        raise DataError(f"data: unknown dataset {name!r}; known: mnist")
    if cfg.mirror:
        root = Path(cfg.mirror).expanduser()
        raw_dir = root / "MNIST" / "raw"
        if not raw_dir.is_dir():
            raise DataError(f"data: mirror {raw_dir} not found; set data.mirror to the mirror root, or to \"\" to download")
        _verify_mnist_mirror(raw_dir)
        download = False
    else:
        root = Path(cfg.download_root)
        download = True
    try:
        tr = torchvision.datasets.MNIST(root=str(root), train=True, download=download)
        te = torchvision.datasets.MNIST(root=str(root), train=False, download=download)
    except Exception as exc:  # network down, partial download ...
        raise DataError(f"data: could not load MNIST from {root}: {str(exc).splitlines()[0][:200]}") from None
    return tr.data.unsqueeze(1).clone(), tr.targets.clone().long(), te.data.unsqueeze(1).clone(), te.targets.clone().long()


def stratified_indices(labels: torch.Tensor, n: int, n_classes: int, seed: int) -> torch.Tensor:
    """n indices with n // n_classes per class (remainder to the first classes), seeded, sorted."""
    if n <= 0 or n >= labels.numel():
        return torch.arange(labels.numel())
    g = torch.Generator().manual_seed(seed)
    per = [n // n_classes + (1 if c < n % n_classes else 0) for c in range(n_classes)]
    out = []
    for c in range(n_classes):
        idx = torch.nonzero(labels == c).flatten()
        if idx.numel() < per[c]:
            raise DataError(f"data: class {c} has {idx.numel()} test images, fewer than the {per[c]} n_eval asks for")
        out.append(idx[torch.randperm(idx.numel(), generator=g)[: per[c]]])
    return torch.sort(torch.cat(out)).values


def make_split(train_x, train_y, test_x, test_y, cfg: DataCfg, seed: int, n_classes: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(train_x.shape[0], generator=g)
    if cfg.train_subset:
        perm = perm[: cfg.train_subset]
    n_adv = int(round(perm.numel() * cfg.adversary_fraction))
    tr, adv = perm[: perm.numel() - n_adv], perm[perm.numel() - n_adv :]
    eval_idx = stratified_indices(test_y, cfg.n_eval, n_classes, seed + 1)
    return Split(train_x[tr], train_y[tr], train_x[adv], train_y[adv], test_x, test_y, eval_idx)


def split_summary(split: Split) -> dict:
    """Counts and content hashes written beside the split (data/<ds>/split.json)."""
    return {
        "counts": {k: int(v.shape[0]) for k, v in split.tensors().items()},
        "sha256": {k: tensor_sha256(v) for k, v in split.tensors().items()},
    }


def load_split(path: str | Path) -> Split:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data: split {path} not found; run the data stage first")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return Split(**blob)
    except Exception as exc:
        raise DataError(f"data: split {path} is unreadable or corrupt ({str(exc).splitlines()[0][:160]})") from None


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1] (the pixel range every model and metric here uses, R = 1)."""
    return x_uint8.float().div_(255.0)
