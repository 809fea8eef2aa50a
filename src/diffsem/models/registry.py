"""Architecture families and the dataset spec built from a catalog entry (params.yaml `catalog:`).

A dataset is configuration, not code: its catalog entry names a family — the paper's Table I networks
for 1×28×28 images (``table1``) or Table II's for 3×32×32 (``table2``) — and its number of classes;
``spec_for`` builds the networks from that.  A new architecture family is one module of networks and
one entry in ``FAMILIES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from torch import nn

from . import cifar10, mnist


@dataclass(frozen=True)
class Family:
    """The networks of one image shape (Tables I/II) and the feature shape f their encoder produces."""

    image_shape: tuple[int, int, int]  # C, H, W of x
    feature_shape: tuple[int, int, int]  # C, H, W of f (k = C*H*W)
    encoder: Callable[[], nn.Module]
    classifier: Callable[..., nn.Module]  # (n_classes=...) -> Theta
    strong: Callable[..., nn.Module]  # (n_classes=...) -> the strong classifier
    adversary: Callable[[], nn.Module]


FAMILIES: dict[str, Family] = {
    "table1": Family((1, 28, 28), (1, 8, 8), mnist.MnistEncoder, mnist.MnistReceiverClassifier,
                     mnist.MnistStrongClassifier, mnist.MnistAdversary),
    "table2": Family((3, 32, 32), (3, 8, 8), cifar10.Cifar10Encoder, cifar10.Cifar10ReceiverClassifier,
                     cifar10.Cifar10StrongClassifier, cifar10.Cifar10Adversary),
}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    family: str
    image_shape: tuple[int, int, int]  # C, H, W of x
    feature_shape: tuple[int, int, int]  # C, H, W of f (k = C*H*W)
    n_classes: int
    encoder: Callable[[], nn.Module]
    classifier: Callable[[], nn.Module]
    strong: Callable[[], nn.Module]
    adversary: Callable[[], nn.Module]

    @property
    def k(self) -> int:
        c, h, w = self.feature_shape
        return c * h * w

    @property
    def rho(self) -> float:
        """Compression rate k / (CHW) (Sec. III-A)."""
        c, h, w = self.image_shape
        return self.k / (c * h * w)


def family_spec(family: str, n_classes: int = 10, name: str | None = None, encoder_kernel: int = 3) -> DatasetSpec:
    """The spec of a family's networks for ``n_classes`` classes; ``encoder_kernel`` is the encoder's
    last convolution's kernel (``jscc.encoder_kernel``, docs/decisions.md §40)."""
    try:
        fam = FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown architecture family {family!r}; known: {', '.join(sorted(FAMILIES))}") from None
    return DatasetSpec(name or family, family, fam.image_shape, fam.feature_shape, int(n_classes),
                       partial(fam.encoder, head_kernel=int(encoder_kernel)),
                       partial(fam.classifier, n_classes=int(n_classes)), partial(fam.strong, n_classes=int(n_classes)),
                       fam.adversary)


def spec_for(name: str, entry, encoder_kernel: int = 3) -> DatasetSpec:
    """The spec of catalog entry ``entry`` (config.DatasetEntry) of dataset ``name``."""
    return family_spec(entry.family, entry.n_classes, name, encoder_kernel)


def get_spec(name: str, catalog: dict) -> DatasetSpec:
    """The spec of dataset ``name`` in ``catalog`` (Config.catalog)."""
    if name not in catalog:
        raise ValueError(f"unknown dataset {name!r}; params.yaml's catalog has: {', '.join(sorted(catalog))}")
    return spec_for(name, catalog[name])
