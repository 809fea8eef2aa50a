"""Per-dataset model definitions.  Adding a dataset = one module of networks + one entry here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from . import cifar10, mnist


@dataclass(frozen=True)
class DatasetSpec:
    name: str
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


SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        image_shape=(1, 28, 28),
        feature_shape=(1, 8, 8),
        n_classes=10,
        encoder=mnist.MnistEncoder,
        classifier=mnist.MnistReceiverClassifier,
        strong=mnist.MnistStrongClassifier,
        adversary=mnist.MnistAdversary,
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        image_shape=(3, 32, 32),
        feature_shape=(3, 8, 8),
        n_classes=10,
        encoder=cifar10.Cifar10Encoder,
        classifier=cifar10.Cifar10ReceiverClassifier,
        strong=cifar10.Cifar10StrongClassifier,
        adversary=cifar10.Cifar10Adversary,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(SPECS))}") from None
