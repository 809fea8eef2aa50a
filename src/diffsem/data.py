"""Data stage: read a dataset (local mirror or torchvision download), split it, write data/<ds>/seed<k>/.

The split (Sec. IV-A): a seeded permutation of the training set; the first (1 - adversary_fraction)
goes to the transmitter-receiver pair, the rest to the adversary.  Each side then gives a fixed,
stratified ``val_fraction`` of its share to a validation slice (``val_*`` for the system's designer,
``adv_val_*`` for the attacker): every choice (best epoch, early stopping, learning-rate decay, DDIM
step count, fine-tune settings) is made there.  The test set is for reporting only: the evaluation
uses either all of it or a fixed stratified subset of ``n_eval`` images (equal count per class,
seeded), and ``load_split`` seals it unless the caller is an evaluation (``with_test=True``).
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


class TestSetSealed(RuntimeError):
    """Selection code touched the test set (docs/decisions.md §19)."""


class Sealed:
    """Stands in for a test-set tensor in a split loaded for training or selection: any use raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *_, **__):
        raise TestSetSealed(f"data: {self._name} is sealed: the test set is for reporting only; "
                            "selection and training read the validation slices (load_split(with_test=True) is for evaluation)")

    __getitem__ = __len__ = __iter__ = __array__ = _refuse

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._refuse()


TEST_FIELDS = ("test_x", "test_y", "eval_idx")


@dataclass
class ImageSet:
    """Images and labels of one scored set: rows ``idx`` of ``x``/``y`` (test: the evaluation subset)."""

    x: torch.Tensor
    y: torch.Tensor
    idx: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.idx.numel())


@dataclass
class Split:
    """uint8 images (N, C, H, W) and int64 labels; decoded once, reused by every stage."""

    tr_x: torch.Tensor  # transmitter-receiver training rows (validation rows removed)
    tr_y: torch.Tensor
    val_x: torch.Tensor  # the designer's validation slice of the transmitter-receiver share
    val_y: torch.Tensor
    adv_x: torch.Tensor  # adversary training rows (its validation rows removed)
    adv_y: torch.Tensor
    adv_val_x: torch.Tensor  # the attacker's own validation slice
    adv_val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    eval_idx: torch.Tensor  # indices into test_* that the evaluation uses

    def tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.__dict__)

    def images(self, part: str) -> ImageSet:
        """``val``, ``adv_val`` (whole slices), ``test`` (the evaluation subset) or ``test_full`` (every
        test image); the test set is sealed unless the split was loaded with ``with_test=True``."""
        if part == "test":
            return ImageSet(self.test_x, self.test_y, self.eval_idx)
        if part == "test_full":
            return ImageSet(self.test_x, self.test_y, torch.arange(len(self.test_y)))
        if part in ("val", "adv_val"):
            x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
            return ImageSet(x, y, torch.arange(y.shape[0]))
        raise ValueError(f"unknown image set {part!r}; use val, adv_val or test")


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


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_COUNTS = {"train": 5000, "test": 1000}  # images per class


class JpegImages:
    """Same-size image files, decoded (to uint8 CHW, RGB, with Pillow) only when indexed.

    The data stage indexes it once to build the split, so each image is decoded at most once and
    a subset run decodes only its subset; every later stage reads the uint8 tensors in split.pt.
    """

    def __init__(self, files: list[Path], shape: tuple[int, int, int]) -> None:
        self.files, self.image_shape = [Path(f) for f in files], shape

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.image_shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, idx) -> torch.Tensor:
        import numpy as np
        from PIL import Image

        idx = torch.as_tensor(idx).reshape(-1).tolist()
        out = np.empty((len(idx), self.image_shape[1], self.image_shape[2], self.image_shape[0]), dtype=np.uint8)
        for j, i in enumerate(idx):
            f = self.files[i]
            try:
                with Image.open(f) as im:
                    a = np.asarray(im.convert("RGB"))
            except Exception as exc:
                raise DataError(f"data: cannot decode {f}: {str(exc).splitlines()[0][:160]}") from None
            if a.shape != out.shape[1:]:
                raise DataError(f"data: {f} is {a.shape[1]}x{a.shape[0]}, expected {self.image_shape[2]}x{self.image_shape[1]}")
            out[j] = a
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _cifar10_mirror(root: Path, part: str) -> tuple[JpegImages, torch.Tensor]:
    """shared/datasets/CIFAR10-jpeg/<part>, read with torchvision's ImageFolder (files only; the
    decoding is ours, once): classes must be CIFAR-10's ten in its label order (alphabetical)."""
    from torchvision.datasets import ImageFolder

    base = root / "CIFAR10-jpeg" / part
    if not base.is_dir():
        raise DataError(f"data: mirror {base} not found; set data.mirror to the mirror root, or to \"\" to download")
    try:
        folder = ImageFolder(str(base), loader=lambda p: p)
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"data: CIFAR-10 mirror {base}: {str(exc).splitlines()[0][:200]}") from None
    if tuple(folder.classes) != CIFAR10_CLASSES:
        raise DataError(f"data: CIFAR-10 mirror {base} has classes {folder.classes}, expected {list(CIFAR10_CLASSES)}")
    labels = torch.tensor(folder.targets, dtype=torch.long)
    counts = torch.bincount(labels, minlength=10)
    if (counts != CIFAR10_COUNTS[part]).any():
        c = int(torch.nonzero(counts != CIFAR10_COUNTS[part])[0])
        raise DataError(f"data: CIFAR-10 mirror {base / CIFAR10_CLASSES[c]} has {int(counts[c])} images, "
                        f"expected {CIFAR10_COUNTS[part]}")
    return JpegImages([p for p, _ in folder.samples], (3, 32, 32)), labels


def _load_mnist(cfg: DataCfg):
    import torchvision

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


def _load_cifar10(cfg: DataCfg):
    if cfg.mirror:
        root = Path(cfg.mirror).expanduser()
        tr_x, tr_y = _cifar10_mirror(root, "train")
        te_x, te_y = _cifar10_mirror(root, "test")
        return tr_x, tr_y, te_x[torch.arange(len(te_x))], te_y
    import torchvision

    root = Path(cfg.download_root)
    try:
        tr = torchvision.datasets.CIFAR10(root=str(root), train=True, download=True)
        te = torchvision.datasets.CIFAR10(root=str(root), train=False, download=True)
    except Exception as exc:
        raise DataError(f"data: could not load CIFAR-10 from {root}: {str(exc).splitlines()[0][:200]}") from None
    as_nchw = lambda d: torch.from_numpy(d).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return as_nchw(tr.data), torch.tensor(tr.targets), as_nchw(te.data), torch.tensor(te.targets)


def load_raw_dataset(name: str, cfg: DataCfg):
    """Return (train_x, train_y, test_x, test_y): uint8 NCHW images (train_x may be a lazily decoded
    ``JpegImages``, indexed once by the split) and int64 labels."""
    loaders = {"mnist": _load_mnist, "cifar10": _load_cifar10}
    if name not in loaders:
        raise DataError(f"data: unknown dataset {name!r}; known: {', '.join(sorted(loaders))}")
    return loaders[name](cfg)


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


def carve_validation(rows: torch.Tensor, labels: torch.Tensor, fraction: float, n_classes: int,
                     seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training rows, validation rows): a stratified ``fraction`` of ``rows`` (same share of every
    class, seeded), the rest in their original order."""
    if fraction <= 0:
        return rows, rows[:0]
    g = torch.Generator().manual_seed(seed)
    y = labels[rows]
    val = []
    for c in range(n_classes):
        members = torch.nonzero(y == c).flatten()
        k = int(round(members.numel() * fraction))
        val.append(members[torch.randperm(members.numel(), generator=g)[:k]])
    pos = torch.sort(torch.cat(val)).values
    keep = torch.ones(rows.numel(), dtype=torch.bool)
    keep[pos] = False
    return rows[keep], rows[pos]


def make_split(train_x, train_y, test_x, test_y, cfg: DataCfg, seed: int, n_classes: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(train_x.shape[0], generator=g)
    if cfg.train_subset:
        perm = perm[: cfg.train_subset]
    n_adv = int(round(perm.numel() * cfg.adversary_fraction))
    tr, adv = perm[: perm.numel() - n_adv], perm[perm.numel() - n_adv :]
    tr, val = carve_validation(tr, train_y, cfg.val_fraction, n_classes, seed + 2)
    adv, adv_val = carve_validation(adv, train_y, cfg.val_fraction, n_classes, seed + 3)
    eval_idx = stratified_indices(test_y, cfg.n_eval, n_classes, seed + 1)
    return Split(train_x[tr], train_y[tr], train_x[val], train_y[val], train_x[adv], train_y[adv],
                 train_x[adv_val], train_y[adv_val], test_x, test_y, eval_idx)


def split_summary(split: Split) -> dict:
    """Counts and content hashes written beside the split (data/<ds>/seed<k>/split.json)."""
    return {
        "counts": {k: int(v.shape[0]) for k, v in split.tensors().items()},
        "sha256": {k: tensor_sha256(v) for k, v in split.tensors().items()},
    }


def load_split(path: str | Path, with_test: bool = False) -> Split:
    """The split; its test fields are ``Sealed`` (any use raises) unless ``with_test`` — only the
    evaluation stages (DiffSem's and the baselines') pass it (tests/test_data.py checks who does)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data: split {path} not found; run the data stage first")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        split = Split(**blob)
    except Exception as exc:
        raise DataError(f"data: split {path} is unreadable or corrupt, or from an older version "
                        f"({str(exc).splitlines()[0][:160]}); rerun the data stage") from None
    if not with_test:
        for f in TEST_FIELDS:
            setattr(split, f, Sealed(f))
    return split


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1] (the pixel range every model and metric here uses, R = 1)."""
    return x_uint8.float().div_(255.0)
