"""Losses: weighted cross-entropy + soft Dice with an ignore value (masks), focal + L1 (CenterNet)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ml.data.classes import IGNORE_INDEX
from ml.errors import ShapeError
from ml.models.vehicles import CenterTargets


def segmentation_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    class_weights: torch.Tensor | Sequence[float] | None = None,
    dice_weight: float = 1.0,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Weighted cross-entropy plus ``dice_weight`` x soft Dice; ``ignore_index`` pixels add nothing.

    A partial mask (only a corrected region labelled, the rest ``ignore_index``) therefore trains
    on exactly the labelled pixels. With no labelled pixel the loss is 0 (and still differentiable).
    """
    if logits.ndim != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ShapeError(f"logits (N,K,H,W) and target (N,H,W) expected, got {logits.shape}, {target.shape}")
    valid = target != ignore_index
    if not bool(valid.any()):
        return logits.sum() * 0.0
    weight = None
    if class_weights is not None:
        weight = torch.as_tensor(class_weights, dtype=logits.dtype, device=logits.device)
    ce = F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)
    if dice_weight == 0:
        return ce
    return ce + dice_weight * dice_loss(logits, target, ignore_index=ignore_index)


def dice_loss(
    logits: torch.Tensor, target: torch.Tensor, *, ignore_index: int = IGNORE_INDEX, smooth: float = 1.0
) -> torch.Tensor:
    """1 - mean over classes of the soft Dice coefficient, computed on labelled pixels only."""
    num_classes = logits.shape[1]
    valid = (target != ignore_index).unsqueeze(1).to(logits.dtype)
    probs = torch.softmax(logits, dim=1) * valid
    onehot = F.one_hot(torch.where(target == ignore_index, 0, target), num_classes)
    onehot = onehot.permute(0, 3, 1, 2).to(logits.dtype) * valid
    dims = (0, 2, 3)
    intersection = (probs * onehot).sum(dims)
    denominator = probs.sum(dims) + onehot.sum(dims)
    return 1.0 - ((2 * intersection + smooth) / (denominator + smooth)).mean()


def class_weights_from_masks(
    masks: Iterable[np.ndarray],
    *,
    num_classes: int,
    ignore_index: int = IGNORE_INDEX,
    power: float = 0.5,
) -> torch.Tensor:
    """Inverse-frequency weights ``(1 / freq) ** power`` normalised to mean 1; absent classes get 1."""
    counts = np.zeros(num_classes, dtype=np.float64)
    for mask in masks:
        values = np.asarray(mask).reshape(-1)
        values = values[values != ignore_index]
        counts += np.bincount(values, minlength=num_classes)[:num_classes]
    present = counts > 0
    weights = np.ones(num_classes)
    if present.any():
        freq = counts[present] / counts[present].sum()
        weights[present] = freq ** (-power)
        weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, *, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on heatmap logits, normalised by the number of centres."""
    if logits.shape != target.shape:
        raise ShapeError(f"heatmap logits {tuple(logits.shape)} vs target {tuple(target.shape)}")
    positive = target.eq(1.0)
    prob = torch.sigmoid(logits)
    pos_term = (1 - prob) ** alpha * F.logsigmoid(logits)
    neg_term = (1 - target) ** beta * prob**alpha * F.logsigmoid(-logits)
    total = torch.where(positive, pos_term, neg_term).sum()
    return -total / positive.sum().clamp(min=1)


def detection_loss(
    outputs: dict[str, Any],
    targets: CenterTargets,
    *,
    size_weight: float = 0.1,
    offset_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Focal heatmap loss + L1 on size and offset at centre cells; returns (total, parts)."""
    heat = focal_loss(outputs["heatmap"], targets.heatmap)
    mask = targets.mask.unsqueeze(1)
    count = targets.mask.sum().clamp(min=1)
    size = (torch.abs(outputs["size"] - targets.size) * mask).sum() / count
    offset = (torch.abs(outputs["offset"] - targets.offset) * mask).sum() / count
    total = heat + size_weight * size + offset_weight * offset
    parts = {"heatmap": float(heat.detach()), "size": float(size.detach()), "offset": float(offset.detach())}
    return total, parts
