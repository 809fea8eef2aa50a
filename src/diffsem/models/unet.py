"""Denoiser Delta: the Table III U-Net on 8x8 features, with time and (optional) soft-label context.

Layout follows Table III (and the widely used "ContextUnet" it is drawn from): a residual conv block
to 128x8x8, two UnetDown blocks (128x4x4, 256x2x2), AvgPool+GELU vectorisation, a ConvTranspose+
GroupNorm+ReLU up-projection, two UnetUp blocks with skip connections, and Conv+GroupNorm+ReLU+Conv
output.  Time (t/T) and context enter through EmbedFC layers that modulate the two UnetUp inputs as
``context_emb * h + time_emb``.

Conditioning (E-DiffSem, Eq. 18) takes a probability vector (one-hot label in training, the
receiver's soft label at inference).  Classifier-free training replaces dropped labels by a learned
null embedding.  The unconditional DiffSem network has no context branch and, per Table III's
footnote 5, a 128-wide bottleneck instead of 256.

GroupNorm everywhere (instead of BatchNorm) keeps a sample's output independent of the batch it
is denoised with.
"""

from __future__ import annotations

import torch
from torch import nn


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(8, c)


class ResidualConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, residual: bool = False) -> None:
        super().__init__()
        self.residual = residual
        self.same = cin == cout
        self.conv1 = nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), _gn(cout), nn.GELU())
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1), _gn(cout), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.conv1(x)
        h2 = self.conv2(h1)
        if not self.residual:
            return h2
        return ((x if self.same else h1) + h2) / 1.414


class UnetDown(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.net = nn.Sequential(ResidualConvBlock(cin, cout), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UnetUp(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, 2, 2), ResidualConvBlock(cout, cout), ResidualConvBlock(cout, cout)
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, skip], dim=1))


class EmbedFC(nn.Module):
    def __init__(self, din: int, dout: int) -> None:
        super().__init__()
        self.dout = dout
        self.net = nn.Sequential(nn.Linear(din, dout), nn.GELU(), nn.Linear(dout, dout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, self.dout, 1, 1)


class UNet(nn.Module):
    """eps_theta(f_t, t[, y]) for features of shape (C, 8, 8).

    ``n_classes=0`` builds the unconditional DiffSem network; ``n_classes>0`` the E-DiffSem one.
    """

    def __init__(self, in_ch: int = 1, n_feat: int = 128, n_classes: int = 0, T: int = 500, size: int = 8) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"feature side must be divisible by 4, got {size}")
        self.in_ch, self.n_feat, self.n_classes, self.T = in_ch, n_feat, n_classes, T
        # footnote 5: without context the bottleneck stays n_feat wide
        wide = 2 * n_feat if n_classes else n_feat
        self.init_conv = ResidualConvBlock(in_ch, n_feat, residual=True)
        self.down1 = UnetDown(n_feat, n_feat)
        self.down2 = UnetDown(n_feat, wide)
        self.to_vec = nn.Sequential(nn.AvgPool2d(size // 4), nn.GELU())
        self.timeembed1 = EmbedFC(1, wide)
        self.timeembed2 = EmbedFC(1, n_feat)
        if n_classes:
            self.contextembed1 = EmbedFC(n_classes, wide)
            self.contextembed2 = EmbedFC(n_classes, n_feat)
            # learned "no label" context for classifier-free training (one per embedding)
            self.null1 = nn.Parameter(torch.zeros(1, wide, 1, 1))
            self.null2 = nn.Parameter(torch.zeros(1, n_feat, 1, 1))
        self.up0 = nn.Sequential(nn.ConvTranspose2d(wide, wide, size // 4, size // 4), _gn(wide), nn.ReLU())
        self.up1 = UnetUp(2 * wide, n_feat)
        self.up2 = UnetUp(2 * n_feat, n_feat)
        self.out = nn.Sequential(nn.Conv2d(2 * n_feat, n_feat, 3, 1, 1), _gn(n_feat), nn.ReLU(), nn.Conv2d(n_feat, in_ch, 3, 1, 1))

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor | int,
        context: torch.Tensor | None = None,
        drop: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: (B,C,H,W); t: int or (B,) steps; context: (B, n_classes) probabilities or None;
        drop: (B,) bool, True where the label is replaced by the null embedding."""
        b = x.shape[0]
        t_frac = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1, 1).expand(b, 1) / self.T
        x0 = self.init_conv(x)
        d1 = self.down1(x0)
        d2 = self.down2(d1)
        h = self.up0(self.to_vec(d2))
        temb1, temb2 = self.timeembed1(t_frac), self.timeembed2(t_frac)
        if self.n_classes:
            if context is None:
                c1, c2 = self.null1.expand(b, -1, -1, -1), self.null2.expand(b, -1, -1, -1)
            else:
                c1, c2 = self.contextembed1(context), self.contextembed2(context)
                if drop is not None:
                    m = drop.view(-1, 1, 1, 1)
                    c1 = torch.where(m, self.null1.expand_as(c1), c1)
                    c2 = torch.where(m, self.null2.expand_as(c2), c2)
            u1 = self.up1(c1 * h + temb1, d2)
            u2 = self.up2(c2 * u1 + temb2, d1)
        else:
            u1 = self.up1(h + temb1, d2)
            u2 = self.up2(u1 + temb2, d1)
        return self.out(torch.cat([u2, x0], dim=1))
