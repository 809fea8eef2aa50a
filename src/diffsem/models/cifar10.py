"""CIFAR-10 modules, Table II (k = 192 as 3x8x8, rho = 192/3072 = 6.25%).

Where Table II gives only output shapes, the layer hyper-parameters here are the plain ones that
produce them (3x3 convolutions, stride 2 to halve, 4x4 stride-2 transposed convolutions to double);
docs/decisions.md lists the choices.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a skip; a strided 1x1 projection on the skip when shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1, act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1), act(),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.skip = nn.Identity() if (cin == cout and stride == 1) else nn.Conv2d(cin, cout, 1, stride=stride)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class Cifar10Encoder(nn.Module):
    """Phi (Table II): 16x32x32 -> 32x16x16 -> Residual 32x16x16 -> Conv+LeakyReLU+LayerNorm 3x8x8.

    ``head_kernel``: the last (stride-2) convolution's kernel, 3 by default (docs/decisions.md §40)."""

    def __init__(self, head_kernel: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            ResidualBlock(32, 32, act=lambda: nn.LeakyReLU(0.2)),
            nn.Conv2d(32, 3, head_kernel, stride=2, padding=head_kernel // 2), nn.LeakyReLU(0.2),
            nn.LayerNorm([3, 8, 8]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Cifar10ReceiverClassifier(nn.Module):
    """Theta (Table II) on [z_hat, f_hat] (6x8x8) with t padded as a ninth column: input 6x8x9.

    Conv(3x2, no width padding)+Tanh 64x8x8 -> Conv+Tanh 512x4x4 -> Residual 512x4x4 -> pool 512 ->
    Linear 10.  Table II puts a Tanh on the last Linear; ``forward`` returns the pre-Tanh scores (the
    class ranking is the same, and cross-entropy on scores squeezed into [-1, 1] caps every softmax
    probability near 0.25 and trains poorly; the same decision as for the MNIST strong classifier's
    sigmoid, docs/decisions.md).
    """

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, 64, (3, 2), padding=(1, 0)), nn.Tanh(),  # 8x9 -> 8x8
            nn.Conv2d(64, 512, 3, stride=2, padding=1), nn.Tanh(),  # -> 4x4
            ResidualBlock(512, 512, act=nn.Tanh),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(512, n_classes),
        )

    def forward(self, z_hat: torch.Tensor, f_hat: torch.Tensor, t_frac: torch.Tensor) -> torch.Tensor:
        b, c, h, w = z_hat.shape
        t_col = t_frac.reshape(b, 1, 1, 1).expand(b, 2 * c, h, 1)
        return self.net(torch.cat([torch.cat([z_hat, f_hat], dim=1), t_col], dim=3))

    @torch.no_grad()
    def fold_fhat_into_zhat(self) -> None:
        """As the MNIST classifier's (docs/decisions.md §20), on the first convolution's input
        channels: the f_hat channels' kernels (their t column included) are added to the z_hat
        channels' and zeroed.  With f_hat = z_hat both channel groups carry the same values at every
        position, the t column too, so the function on stage 1's input is unchanged."""
        w = self.net[0].weight
        c = w.shape[1] // 2
        w[:, :c] += w[:, c:]
        w[:, c:] = 0


class Cifar10StrongClassifier(nn.Module):
    """Strong classifier (Table II): 64x32x32 -> 256x16x16 -> Residual 512x8x8 -> pool 512x2x2 ->
    Linear+ReLU 256 -> Linear 10 (~0.55 GFLOP per image forward)."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 256, 3, stride=2, padding=1), nn.ReLU(),
            ResidualBlock(256, 512, stride=2),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(2048, 256), nn.ReLU(), nn.Linear(256, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Cifar10Adversary(nn.Module):
    """Inversion network A_a (Table II): z_hat 3x8x8 -> Conv+Tanh 512x8x8 ->
    (ConvTranspose+Tanh + Residual) x 2 -> 128x32x32 -> Conv+Tanh 3x32x32.

    The final Tanh's [-1, 1] is mapped to the pixel range [0, 1] as (tanh + 1) / 2 (the MSE target and
    every metric use [0, 1]; a bare Tanh would waste half its range on impossible negative pixels).
    """

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 512, 3, padding=1), nn.Tanh(),
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.Tanh(), ResidualBlock(256, 256, act=nn.Tanh),
            nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1), nn.Tanh(), ResidualBlock(128, 128, act=nn.Tanh),
            nn.Conv2d(128, 3, 3, padding=1), nn.Tanh(),
        )

    def forward(self, z_hat: torch.Tensor) -> torch.Tensor:
        return (self.net(z_hat) + 1.0) * 0.5
