"""Building blocks shared by the U-Net and the vehicle detector: conv blocks, encoder, up-step."""

from __future__ import annotations

import torch
from torch import nn

from ml.errors import ConfigError, ShapeError

NORMS = ("batch", "group")
DROPOUT_KINDS = ("channel", "element")
DEFAULT_DROPOUT_KIND = "element"  # new models: MC samples vary pixel by pixel
LEGACY_DROPOUT_KIND = "channel"  # what a saved config without "dropout_kind" was built with


def make_dropout(kind: str, p: float) -> nn.Module:
    """``"channel"``: ``nn.Dropout2d`` (whole feature maps); ``"element"``: ``nn.Dropout`` (single activations).

    Channel dropout zeroes a feature map over the whole chip, so MC-dropout samples differ most where
    activations are large (bright thick cloud, snow); element dropout varies pixel by pixel.
    """
    if kind == "channel":
        return nn.Dropout2d(p)
    if kind == "element":
        return nn.Dropout(p)
    raise ConfigError(f"dropout_kind must be one of {DROPOUT_KINDS}, got {kind!r}")


def make_norm(kind: str, channels: int) -> nn.Module:
    """Return a normalisation layer; "group" suits batches of one or two chips."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(num_groups=min(8, channels), num_channels=channels)
    raise ConfigError(f"norm must be one of {NORMS}, got {kind!r}")


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by normalisation and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str = "batch") -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class Encoder(nn.Module):
    """A stem block then ``depth`` (max-pool, conv block) stages doubling the width each time.

    ``forward`` returns one feature map per scale, ``features[i]`` at stride ``2**i`` with
    ``channels[i] = width * 2**i`` channels; ``features[-1]`` is the deepest stage (the bottleneck).
    """

    def __init__(self, in_channels: int, *, depth: int, width: int, norm: str = "batch") -> None:
        super().__init__()
        check_positive(in_channels=in_channels, depth=depth, width=width)
        self.depth = depth
        self.channels = [width * 2**i for i in range(depth + 1)]
        self.stem = ConvBlock(in_channels, width, norm=norm)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), ConvBlock(self.channels[i], self.channels[i + 1], norm=norm))
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        check_input(x, multiple=2**self.depth)
        features = [self.stem(x)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


class UpBlock(nn.Module):
    """Transposed-conv upsampling by 2, concatenation with the skip, conv block, dropout."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dropout: float,
        norm: str,
        dropout_kind: str = DEFAULT_DROPOUT_KIND,
    ) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.block = ConvBlock(out_channels * 2, out_channels, norm=norm)
        self.dropout = make_dropout(dropout_kind, dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.block(torch.cat([self.up(x), skip], dim=1)))


def check_positive(**values: int) -> None:
    """Raise ConfigError unless every value is a positive int."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}")


def check_dropout(dropout: float) -> None:
    """Raise ConfigError unless 0 <= dropout < 1."""
    if not 0.0 <= float(dropout) < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")


def check_input(x: torch.Tensor, *, multiple: int) -> None:
    """Raise ShapeError unless x is (N, C, H, W) with H and W multiples of ``multiple``."""
    if x.ndim != 4:
        raise ShapeError(f"expected a (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ShapeError(
            f"height and width must be multiples of {multiple} (2**depth), got {height}x{width}; "
            "pad the input (ml.inference pads and crops for you)"
        )
