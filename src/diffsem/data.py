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


IDX_FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
             "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}


def read_idx(path: Path, md5sum: str | None = None) -> torch.Tensor:
    """An IDX file (LeCun's format: 2 zero bytes, a type byte, the number of dimensions, big-endian
    sizes, then the data), plain or gzipped, as a uint8 tensor; ``md5sum`` checks the uncompressed bytes.
    Hand-read because torchvision's reader takes neither gzip nor a checksum."""
    import gzip
    import struct

    import numpy as np

    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as exc:
        raise DataError(f"data: cannot read {path}: {str(exc).splitlines()[0][:160]}") from None
    if md5sum and hashlib.md5(data).hexdigest() != md5sum:
        raise DataError(f"data: {path} is corrupt or truncated (md5 {hashlib.md5(data).hexdigest()}, expected {md5sum})")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"data: {path} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    if len(data) != 4 + 4 * ndim + int(np.prod(dims)):
        raise DataError(f"data: {path} is corrupt or truncated ({len(data)} bytes for shape {dims})")
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy())


def _idx_dataset(name: str, root: Path, entry):
    if not root.is_dir():
        raise DataError(f"data: mirror {root} not found; set data.mirror to the mirror root, or to \"\" to download")
    out = {}
    for part, stem in IDX_FILES.items():
        f = next((root / (stem + ext) for ext in ("", ".gz") if (root / (stem + ext)).is_file()), None)
        if f is None:
            raise DataError(f"data: {entry.title or name} file missing: {root / stem} (or {stem}.gz)")
        out[part] = read_idx(f, entry.source.md5.get(stem))
    x = {k: v.unsqueeze(1) if v.dim() == 3 else v.permute(0, 3, 1, 2).contiguous() for k, v in out.items() if k.endswith("_x")}
    return x["train_x"], out["train_y"].long(), x["test_x"], out["test_y"].long()


class JpegImages:
    """Image files (any format Pillow reads), decoded to uint8 CHW only when indexed, resized to
    ``image_shape`` when ``resize`` (else a file of another size is refused).

    The data stage indexes it once to build the split, so each image is decoded at most once and
    a subset run decodes only its subset; every later stage reads the uint8 tensors in split.pt.
    """

    def __init__(self, files: list[Path], shape: tuple[int, int, int], resize: bool = False) -> None:
        self.files, self.image_shape, self.resize = [Path(f) for f in files], shape, resize

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.image_shape)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, idx) -> torch.Tensor:
        import numpy as np
        from PIL import Image

        c, h, w = self.image_shape
        idx = torch.as_tensor(idx).reshape(-1).tolist()
        out = np.empty((len(idx), h, w, c), dtype=np.uint8)
        for j, i in enumerate(idx):
            f = self.files[i]
            try:
                with Image.open(f) as im:
                    im = im.convert("RGB" if c == 3 else "L")
                    if self.resize and im.size != (w, h):
                        im = im.resize((w, h), Image.Resampling.BILINEAR)
                    a = np.asarray(im).reshape(im.size[1], im.size[0], c)
            except Exception as exc:
                raise DataError(f"data: cannot decode {f}: {str(exc).splitlines()[0][:160]}") from None
            if a.shape != out.shape[1:]:
                raise DataError(f"data: {f} is {a.shape[1]}x{a.shape[0]}, expected {w}x{h} "
                                "(set the catalog entry's resize: true to resize)")
            out[j] = a
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _imagefolder_part(name: str, root: Path, part: str, entry, shape) -> tuple[JpegImages, torch.Tensor]:
    """<root>/<part>/<class>/<files>, read with torchvision's ImageFolder (files only; the decoding is
    ours, once); labels follow the entry's ``class_names`` order."""
    from torchvision.datasets import ImageFolder

    base = root / part
    if not base.is_dir():
        raise DataError(f"data: mirror {base} not found; set data.mirror to the mirror root, or to \"\" to download")
    try:
        folder = ImageFolder(str(base), loader=lambda p: p)
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"data: {name} mirror {base}: {str(exc).splitlines()[0][:200]}") from None
    if sorted(folder.classes) != sorted(entry.class_names):
        raise DataError(f"data: {name} mirror {base} has classes {folder.classes}, expected {list(entry.class_names)}")
    order = {c: i for i, c in enumerate(entry.class_names)}  # folder (alphabetical) -> catalog label
    labels = torch.tensor([order[folder.classes[t]] for t in folder.targets], dtype=torch.long)
    want = entry.source.images_per_class.get(part)
    if want is not None:
        counts = torch.bincount(labels, minlength=entry.n_classes)
        if (counts != want).any():
            c = int(torch.nonzero(counts != want)[0])
            raise DataError(f"data: {name} mirror {base / entry.class_names[c]} has {int(counts[c])} images, expected {want}")
    return JpegImages([p for p, _ in folder.samples], shape, entry.resize), labels


def _download(name: str, entry, cfg: DataCfg):
    import torchvision

    if not entry.source.torchvision:
        raise DataError(f"data: {name} has no torchvision download (catalog source.torchvision); set data.mirror")
    cls = getattr(torchvision.datasets, entry.source.torchvision, None)
    if cls is None:
        raise DataError(f"data: torchvision has no dataset {entry.source.torchvision!r} (catalog {name}.source.torchvision)")
    root = Path(cfg.download_root)
    try:
        tr = cls(root=str(root), train=True, download=True)
        te = cls(root=str(root), train=False, download=True)
    except Exception as exc:  # network down, partial download ...
        raise DataError(f"data: could not load {entry.title or name} from {root}: {str(exc).splitlines()[0][:200]}") from None

    def images(d):
        t = torch.as_tensor(d)
        return t.unsqueeze(1).clone() if t.dim() == 3 else t.permute(0, 3, 1, 2).contiguous()

    return images(tr.data), torch.as_tensor(tr.targets).long().clone(), images(te.data), torch.as_tensor(te.targets).long().clone()


def _fit_shape(name: str, x, shape: tuple[int, int, int], resize: bool):
    """Images of the family's shape: resized (bilinear, channels replicated or averaged) when the
    entry allows it, else a one-line error."""
    if isinstance(x, JpegImages) or tuple(x.shape[1:]) == tuple(shape):
        return x
    if not resize:
        raise DataError(f"data: {name} images are {'x'.join(map(str, x.shape[1:]))}, its architecture family needs "
                        f"{'x'.join(map(str, shape))} (set the catalog entry's resize: true to resize)")
    import torch.nn.functional as F

    xf = x.float()
    if xf.shape[1] != shape[0]:  # grey -> RGB by replication, RGB -> grey by the channel mean
        xf = xf.mean(1, keepdim=True).expand(-1, shape[0], -1, -1)
    xf = F.interpolate(xf, size=shape[1:], mode="bilinear", align_corners=False, antialias=True)
    return xf.round().clamp(0, 255).to(torch.uint8)


def load_raw_dataset(name: str, cfg: DataCfg, entry) -> tuple:
    """Return (train_x, train_y, test_x, test_y) of catalog ``entry`` (config.DatasetEntry): uint8 NCHW
    images of the entry's family shape (train_x may be a lazily decoded ``JpegImages``, indexed once by
    the split) and int64 labels in the entry's class order — from the mirror (``data.mirror``) in the
    entry's format, or downloaded with torchvision when the mirror is ""."""
    from .models.registry import FAMILIES

    shape = FAMILIES[entry.family].image_shape
    if not cfg.mirror:
        tx, ty, vx, vy = _download(name, entry, cfg)
    elif entry.source.format == "idx":
        tx, ty, vx, vy = _idx_dataset(name, Path(cfg.mirror).expanduser() / entry.source.path, entry)
    else:
        root = Path(cfg.mirror).expanduser() / entry.source.path
        tx, ty = _imagefolder_part(name, root, "train", entry, shape)
        vx, vy = _imagefolder_part(name, root, "test", entry, shape)
        vx = vx[torch.arange(len(vx))]  # the test set is decoded whole (the evaluation reads all of it)
    for y, part in ((ty, "train"), (vy, "test")):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= entry.n_classes):
            raise DataError(f"data: {name} {part} labels span {int(y.min())}..{int(y.max())}, outside the catalog's "
                            f"{entry.n_classes} classes")
    return _fit_shape(name, tx, shape, entry.resize), ty, _fit_shape(name, vx, shape, entry.resize), vy


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
