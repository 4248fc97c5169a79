"""U-Net for per-pixel classification (cloud masks), with dropout for MC-dropout sampling."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ml.models.blocks import (
    DEFAULT_DROPOUT_KIND,
    Encoder,
    UpBlock,
    check_dropout,
    check_positive,
    make_dropout,
    make_norm,
)


class UNet(nn.Module):
    """U-Net: ``forward`` maps (N, in_channels, H, W) to logits (N, num_classes, H, W).

    H and W must be multiples of ``2**depth`` (``size_multiple``); ``ml.inference`` pads and
    crops other sizes. Dropout sits on the bottleneck and after every decoder block so that keeping
    it active at inference gives MC-dropout samples. ``dropout_kind="element"`` (the default:
    ``nn.Dropout``, single activations, so MC samples vary pixel by pixel) or ``"channel"``
    (``nn.Dropout2d``, whole feature maps; the only kind before it was an option, and what a saved
    config without the key rebuilds). The kind is part of ``config``, hence of registry metadata.
    The last decoder block's dropout feeds the final 1x1 classifier directly.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        depth: int = 4,
        width: int = 16,
        dropout: float = 0.1,
        norm: str = "batch",
        dropout_kind: str = DEFAULT_DROPOUT_KIND,
    ) -> None:
        super().__init__()
        check_positive(in_channels=in_channels, num_classes=num_classes, depth=depth, width=width)
        check_dropout(dropout)
        make_norm(norm, 8)  # validates the name early
        make_dropout(dropout_kind, 0.0)
        self.config: dict[str, Any] = {
            "arch": "unet",
            "in_channels": in_channels,
            "num_classes": num_classes,
            "depth": depth,
            "width": width,
            "dropout": float(dropout),
            "norm": norm,
            "dropout_kind": dropout_kind,
        }
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.size_multiple = 2**depth
        self.embed_dim = width * 2**depth
        self.encoder = Encoder(in_channels, depth=depth, width=width, norm=norm)
        self.bottleneck_dropout = make_dropout(dropout_kind, dropout)
        channels = self.encoder.channels
        self.decoder = nn.ModuleList(
            UpBlock(channels[i + 1], channels[i], dropout=dropout, norm=norm, dropout_kind=dropout_kind)
            for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        y = self.bottleneck_dropout(features[-1])
        for block, skip in zip(self.decoder, reversed(features[:-1]), strict=True):
            y = block(y, skip)
        return self.head(y)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pool of the deepest encoder stage: (N, width * 2**depth)."""
        return self.encoder(x)[-1].mean(dim=(2, 3))
