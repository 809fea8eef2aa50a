"""MNIST modules, Table I (k = 64 as 1x8x8, rho = 64/784 = 8.16%)."""

from __future__ import annotations

import torch
from torch import nn


class MapConv2d(nn.Conv2d):
    """``nn.Conv2d`` (stride 1, zero padding kernel // 2) on a fixed ``size`` map, computed as one matmul.

    The same function and the same parameters (state dict) as the Conv2d; on an 8x8 map a 15x15 kernel
    makes every output see the whole input, and the im2col path of a kernel that large is ≈ 10x slower
    on a CPU than multiplying by the equivalent dense (Toeplitz) matrix, gathered from the kernel.
    """

    def __init__(self, cin: int, cout: int, kernel: int, size: tuple[int, int]) -> None:
        super().__init__(cin, cout, kernel, padding=kernel // 2)
        h, w = size
        p = kernel // 2
        oi, oj, ai, aj = torch.meshgrid(*(torch.arange(n) for n in (h, w, h, w)), indexing="ij")
        di, dj = ai - oi + p, aj - oj + p  # kernel tap joining output (oi, oj) to input (ai, aj)
        valid = (di >= 0) & (di < kernel) & (dj >= 0) & (dj < kernel)
        idx = di.clamp(0, kernel - 1) * kernel + dj.clamp(0, kernel - 1)
        self.register_buffer("_tap", idx.reshape(h * w, h * w), persistent=False)
        self.register_buffer("_valid", valid.reshape(h * w, h * w).float(), persistent=False)
        self.size = (h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.size
        cout, cin = self.weight.shape[:2]
        dense = self.weight.flatten(2)[:, :, self._tap] * self._valid  # cout, cin, out pos, in pos
        dense = dense.permute(0, 2, 1, 3).reshape(cout * h * w, cin * h * w)
        y = x.reshape(x.shape[0], -1) @ dense.T + self.bias.repeat_interleave(h * w)
        return y.view(x.shape[0], cout, h, w)


class MnistEncoder(nn.Module):
    """Phi (Table I): Conv+LeakyReLU -> 16x14x14, Conv+LeakyReLU -> 32x8x8, Conv+LayerNorm -> 1x8x8.

    Table I gives output shapes only.  ``head_kernel`` is the last convolution's kernel: 3 (the first
    reading: each of the 64 features sees a 15x15 patch of the image) or up to 15 (each feature sees the
    whole 32x8x8 map); docs/decisions.md §40 chooses it on validation.
    """

    def __init__(self, head_kernel: int = 3) -> None:
        super().__init__()
        head = (nn.Conv2d(32, 1, 3, stride=1, padding=1) if head_kernel == 3
                else MapConv2d(32, 1, head_kernel, (8, 8)))
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # 28 -> 14
            nn.Conv2d(16, 32, 3, stride=2, padding=2), nn.LeakyReLU(0.2),  # 14 -> 8
            head, nn.LayerNorm([1, 8, 8]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MnistReceiverClassifier(nn.Module):
    """Theta (Table I): input [z_hat, f_hat, t/T] of size 64*2+1, Linear+ReLU (129), Linear (10)."""

    def __init__(self, k: int = 64, n_classes: int = 10) -> None:
        super().__init__()
        d = 2 * k + 1
        self.net = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, n_classes))

        self.k = k

    def forward(self, z_hat: torch.Tensor, f_hat: torch.Tensor, t_frac: torch.Tensor) -> torch.Tensor:
        b = z_hat.shape[0]
        return self.net(torch.cat([z_hat.reshape(b, -1), f_hat.reshape(b, -1), t_frac.reshape(b, 1)], dim=1))

    @torch.no_grad()
    def fold_fhat_into_zhat(self) -> None:
        """W_z <- W_z + W_f, W_f <- 0 on the first Linear (docs/decisions.md §20): the same function on
        stage 1's [z, z, t] input, and an output that no longer depends on f_hat, so Alg. 2 starts
        exactly at the bypass classifier and f_hat's weights start from zero, not from a random
        projection that stage 1 (whose two slots always saw the same values) could never train."""
        w = self.net[0].weight
        w[:, : self.k] += w[:, self.k : 2 * self.k]
        w[:, self.k : 2 * self.k] = 0


class MnistStrongClassifier(nn.Module):
    """Strong classifier (Table I): Linear+Tanh 784, Linear+Tanh 128, Linear+Sigmoid 10.

    ``forward`` returns the pre-sigmoid scores: the sigmoid is monotone, so the predicted class is the
    same, and cross-entropy on pre-sigmoid scores trains far better than on values squeezed to (0, 1).
    """

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 784), nn.Tanh(), nn.Linear(784, 128), nn.Tanh(), nn.Linear(128, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MnistAdversary(nn.Module):
    """Inversion network A_a (Table I): z_hat (64) -> Linear+Tanh 784 -> Linear -> 1x28x28."""

    def __init__(self, k: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(k, 784), nn.Tanh(), nn.Linear(784, 784))

    def forward(self, z_hat: torch.Tensor) -> torch.Tensor:
        return self.net(z_hat).view(-1, 1, 28, 28)
