"""CenterNet-style vehicle detection: network, target encoding and framework-free decoding.

The network predicts, on a grid of stride ``s`` (default 2, so parked cars a few pixels apart on
0.5 m imagery keep separate centre cells), a per-class centre heatmap (logits), the box size
(width, height) in input pixels and the sub-cell offset of the centre. A box with centre
``(cx, cy)`` (input pixels, pixel ``i`` spanning ``[i, i + 1)``) lives in cell
``(floor(cx / s), floor(cy / s))`` with offset ``(cx / s - floor(cx / s), ...)``; decoding inverts
this exactly. Counting vehicles is counting detections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.errors import ConfigError, DataError, ShapeError
from ml.models.blocks import (
    DEFAULT_DROPOUT_KIND,
    Encoder,
    UpBlock,
    check_dropout,
    check_positive,
    make_dropout,
    make_norm,
)

HEATMAP_PRIOR = 0.1  # initial centre probability, as in CenterNet, so the focal loss starts sane
GAUSSIAN_ALPHA = 0.54  # sigma = alpha * box side / 6 (elliptical, follows the vehicle's shape)
MIN_SIGMA_CELLS = 0.5
SIZE_PRIOR_PX = 8.0  # initial box side: a car at 0.5 m; a zero start needs hundreds of steps to grow


class VehicleNet(nn.Module):
    """U-Net encoder with a CenterNet head: ``forward`` returns a dict.

    ``heatmap`` (N, K, H/s, W/s) logits, ``size`` (N, 2, H/s, W/s) box width/height in input
    pixels, ``offset`` (N, 2, H/s, W/s) centre offset in cells, and ``stride`` (int, = s).
    H and W must be multiples of ``2**depth`` (``size_multiple``). ``dropout_kind`` as in ``UNet``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int = 1,
        *,
        depth: int = 3,
        width: int = 16,
        dropout: float = 0.1,
        stride: int = 2,
        norm: str = "batch",
        size_prior: float = SIZE_PRIOR_PX,
        dropout_kind: str = DEFAULT_DROPOUT_KIND,
    ) -> None:
        super().__init__()
        check_positive(in_channels=in_channels, num_classes=num_classes, depth=depth, width=width)
        check_dropout(dropout)
        make_norm(norm, 8)
        make_dropout(dropout_kind, 0.0)
        if stride < 1 or stride & (stride - 1) or stride > 2**depth:
            raise ConfigError(f"stride must be a power of two in [1, 2**depth={2**depth}], got {stride}")
        self.config: dict[str, Any] = {
            "arch": "vehiclenet",
            "in_channels": in_channels,
            "num_classes": num_classes,
            "depth": depth,
            "width": width,
            "dropout": float(dropout),
            "stride": stride,
            "norm": norm,
            "size_prior": float(size_prior),
            "dropout_kind": dropout_kind,
        }
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stride = stride
        self.size_multiple = 2**depth
        self.embed_dim = width * 2**depth
        self._level = int(math.log2(stride))
        self.encoder = Encoder(in_channels, depth=depth, width=width, norm=norm)
        self.bottleneck_dropout = make_dropout(dropout_kind, dropout)
        channels = self.encoder.channels
        self.decoder = nn.ModuleList(
            UpBlock(channels[i + 1], channels[i], dropout=dropout, norm=norm, dropout_kind=dropout_kind)
            for i in reversed(range(self._level, depth))
        )
        head_in = channels[self._level]
        self.heatmap_head = _head(head_in, num_classes)
        self.size_head = _head(head_in, 2)
        self.offset_head = _head(head_in, 2)
        nn.init.constant_(self.heatmap_head[-1].bias, -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))
        nn.init.constant_(self.size_head[-1].bias, float(size_prior))

    def forward(self, x: torch.Tensor) -> dict[str, Any]:
        features = self.encoder(x)
        y = self.bottleneck_dropout(features[-1])
        for block, skip in zip(self.decoder, reversed(features[self._level : -1]), strict=True):
            y = block(y, skip)
        return {
            "heatmap": self.heatmap_head(y),
            "size": self.size_head(y),
            "offset": self.offset_head(y),
            "stride": self.stride,
        }

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pool of the deepest encoder stage: (N, width * 2**depth)."""
        return self.encoder(x)[-1].mean(dim=(2, 3))


def _head(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1),
    )


@dataclass(frozen=True)
class Detections:
    """Detections for one image: ``boxes`` (M, 4) xyxy input pixels, ``scores`` (M,), ``labels`` (M,)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @property
    def count(self) -> int:
        """Number of detected objects (the vehicle count)."""
        return int(self.scores.shape[0])

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True)
class CenterTargets:
    """Dense training targets for one image on the output grid.

    ``heatmap`` (K, h, w) gaussian peaks equal to 1 at centre cells; ``size`` and ``offset``
    (2, h, w) are defined where ``mask`` (h, w) is 1.
    """

    heatmap: torch.Tensor
    size: torch.Tensor
    offset: torch.Tensor
    mask: torch.Tensor


def encode_targets(
    boxes: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    *,
    num_classes: int,
    output_shape: tuple[int, int],
    stride: int,
) -> CenterTargets:
    """Encode xyxy boxes (input pixels) into CenterNet heatmap, size and offset targets.

    Boxes whose centre falls outside the grid or that have no area are skipped. Where two
    centres share a cell, the later box's size and offset win (the heatmap keeps both peaks).
    """
    boxes_np = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels_np = np.asarray(labels, dtype=np.int64).reshape(-1)
    if boxes_np.shape[0] != labels_np.shape[0]:
        raise DataError(f"{boxes_np.shape[0]} boxes but {labels_np.shape[0]} labels")
    if labels_np.size and (labels_np.min() < 0 or labels_np.max() >= num_classes):
        raise DataError(f"labels must be in [0, {num_classes}), got {labels_np.tolist()}")
    h, w = output_shape
    heatmap = np.zeros((num_classes, h, w), dtype=np.float32)
    size = np.zeros((2, h, w), dtype=np.float32)
    offset = np.zeros((2, h, w), dtype=np.float32)
    mask = np.zeros((h, w), dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    for (x1, y1, x2, y2), label in zip(boxes_np, labels_np, strict=True):
        bw, bh = x2 - x1, y2 - y1
        if bw <= 0 or bh <= 0:
            continue
        cx, cy = (x1 + x2) / 2 / stride, (y1 + y2) / 2 / stride
        ix, iy = math.floor(cx), math.floor(cy)
        if not (0 <= ix < w and 0 <= iy < h):
            continue
        sx = max(GAUSSIAN_ALPHA * bw / stride / 6, MIN_SIGMA_CELLS)
        sy = max(GAUSSIAN_ALPHA * bh / stride / 6, MIN_SIGMA_CELLS)
        peak = np.exp(-((xs - ix) ** 2) / (2 * sx**2) - ((ys - iy) ** 2) / (2 * sy**2))
        np.maximum(heatmap[label], peak.astype(np.float32), out=heatmap[label])
        size[:, iy, ix] = (bw, bh)
        offset[:, iy, ix] = (cx - ix, cy - iy)
        mask[iy, ix] = 1.0
    return CenterTargets(
        heatmap=torch.from_numpy(heatmap),
        size=torch.from_numpy(size),
        offset=torch.from_numpy(offset),
        mask=torch.from_numpy(mask),
    )


def decode_detections(
    outputs: dict[str, Any],
    *,
    threshold: float = 0.3,
    max_detections: int = 100,
    stride: int | None = None,
    kernel: int = 3,
) -> list[Detections]:
    """Decode a VehicleNet output dict (heatmap logits) into per-image detections.

    ``stride`` defaults to ``outputs["stride"]``. See ``decode_heatmap`` for the algorithm.
    """
    stride = stride if stride is not None else outputs.get("stride")
    if stride is None:
        raise ConfigError("stride is neither given nor present in outputs")
    heat = torch.sigmoid(torch.as_tensor(outputs["heatmap"]).detach().float())
    return decode_heatmap(
        heat,
        outputs["size"],
        outputs["offset"],
        stride=int(stride),
        threshold=threshold,
        max_detections=max_detections,
        kernel=kernel,
    )


def decode_heatmap(
    heatmap: torch.Tensor | np.ndarray,
    size: torch.Tensor | np.ndarray,
    offset: torch.Tensor | np.ndarray,
    *,
    stride: int,
    threshold: float = 0.3,
    max_detections: int = 100,
    kernel: int = 3,
) -> list[Detections]:
    """Decode centre probabilities (N, K, h, w) with size/offset maps (N, 2, h, w) into boxes.

    Peaks are cells equal to the max of their ``kernel`` x ``kernel`` neighbourhood (max-pool
    NMS); the ``max_detections`` best peaks over all classes are kept if ``score >= threshold``.
    """
    heat = torch.as_tensor(heatmap).detach().float().cpu()
    size_t = torch.as_tensor(size).detach().float().cpu()
    offset_t = torch.as_tensor(offset).detach().float().cpu()
    if heat.ndim != 4 or size_t.shape[1] != 2 or offset_t.shape[1] != 2:
        raise ShapeError(f"heatmap must be (N,K,h,w), size/offset (N,2,h,w); got {tuple(heat.shape)}")
    n, _, h, w = heat.shape
    pooled = F.max_pool2d(heat, kernel, stride=1, padding=kernel // 2)
    peaks = torch.where(pooled == heat, heat, torch.zeros_like(heat)).reshape(n, -1)
    scores, index = peaks.topk(min(max_detections, peaks.shape[1]), dim=1)
    results = []
    for i in range(n):
        keep = scores[i] >= threshold
        idx, sc = index[i][keep], scores[i][keep]
        labels, cell = idx // (h * w), idx % (h * w)
        ys, xs = cell // w, cell % w
        cx = (xs.float() + offset_t[i, 0, ys, xs]) * stride
        cy = (ys.float() + offset_t[i, 1, ys, xs]) * stride
        bw = size_t[i, 0, ys, xs].clamp(min=0)
        bh = size_t[i, 1, ys, xs].clamp(min=0)
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)
        results.append(
            Detections(
                boxes=boxes.numpy().astype(np.float32).reshape(-1, 4),
                scores=sc.numpy().astype(np.float32),
                labels=labels.numpy().astype(np.int64),
            )
        )
    return results


def encode_batch_targets(
    boxes: list[torch.Tensor] | list[np.ndarray],
    labels: list[torch.Tensor] | list[np.ndarray],
    *,
    num_classes: int,
    output_shape: tuple[int, int],
    stride: int,
) -> CenterTargets:
    """``encode_targets`` for each image, stacked: heatmap (N, K, h, w), size/offset (N, 2, h, w), mask (N, h, w)."""
    per_image = [
        encode_targets(b, lab, num_classes=num_classes, output_shape=output_shape, stride=stride)
        for b, lab in zip(boxes, labels, strict=True)
    ]
    return CenterTargets(
        heatmap=torch.stack([t.heatmap for t in per_image]),
        size=torch.stack([t.size for t in per_image]),
        offset=torch.stack([t.offset for t in per_image]),
        mask=torch.stack([t.mask for t in per_image]),
    )
