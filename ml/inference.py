"""Inference on normalised chips: probabilities (optionally MC-dropout samples), embeddings, detections.

Inputs are float32 arrays (N, C, H, W) already normalised with the model's ``BandStats``. Chips
whose H or W is not a multiple of the model's ``size_multiple`` are padded at the bottom/right
(reflect) and the outputs cropped back, so any chip size works.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.errors import ShapeError
from ml.models.vehicles import Detections, decode_heatmap


def predict_proba(
    model: nn.Module,
    images: np.ndarray,
    *,
    batch_size: int = 8,
    mc_samples: int = 0,
    seed: int | None = None,
) -> np.ndarray:
    """Softmax probabilities (N, K, H, W); with ``mc_samples`` = T > 0, (T, N, K, H, W).

    MC sampling keeps dropout active and batch-norm in eval mode; ``seed`` makes the samples
    reproducible without touching the caller's global RNG.
    """
    return _run(
        model,
        images,
        batch_size=batch_size,
        mc_samples=mc_samples,
        seed=seed,
        head=lambda out: torch.softmax(out.float(), dim=1),
        stride=1,
    )


def predict_mask(model: nn.Module, images: np.ndarray, *, batch_size: int = 8) -> np.ndarray:
    """Most probable class per pixel, (N, H, W) int64."""
    return predict_proba(model, images, batch_size=batch_size).argmax(axis=1).astype(np.int64)


def vehicle_heatmap_proba(
    model: nn.Module,
    images: np.ndarray,
    *,
    batch_size: int = 8,
    mc_samples: int = 0,
    seed: int | None = None,
) -> np.ndarray:
    """Centre probabilities (N, K, h, w) on the output grid (h = ceil(H / stride)); (T, N, ...) with MC."""
    return _run(
        model,
        images,
        batch_size=batch_size,
        mc_samples=mc_samples,
        seed=seed,
        head=lambda out: torch.sigmoid(out["heatmap"].float()),
        stride=int(getattr(model, "stride", 1)),
    )


def detect(
    model: nn.Module,
    images: np.ndarray,
    *,
    threshold: float = 0.3,
    batch_size: int = 8,
    max_detections: int = 100,
) -> list[Detections]:
    """Detections per image (boxes xyxy in input pixels); ``len(d)`` is the vehicle count."""
    array = _check_images(model, images)
    results: list[Detections] = []
    with _eval_mode(model, mc_dropout=False), torch.inference_mode():
        for batch in _batches(array, batch_size, device=_device(model)):
            out = model(_pad(batch, int(getattr(model, "size_multiple", 1))))
            stride = int(out.get("stride", getattr(model, "stride", 1)))
            dets = decode_heatmap(
                torch.sigmoid(out["heatmap"].float()),
                out["size"],
                out["offset"],
                stride=stride,
                threshold=threshold,
                max_detections=max_detections,
            )
            results.extend(_inside(d, height=array.shape[2], width=array.shape[3]) for d in dets)
    return results


def embed(model: nn.Module, images: np.ndarray, *, batch_size: int = 8) -> np.ndarray:
    """Pooled bottleneck features (N, D) in eval mode, for batch diversity."""
    array = _check_images(model, images)
    chunks = []
    with _eval_mode(model, mc_dropout=False), torch.inference_mode():
        for batch in _batches(array, batch_size, device=_device(model)):
            chunks.append(
                model.embed(_pad(batch, int(getattr(model, "size_multiple", 1)))).float().cpu().numpy()
            )
    return np.concatenate(chunks, axis=0).astype(np.float32)


def _run(
    model: nn.Module,
    images: np.ndarray,
    *,
    batch_size: int,
    mc_samples: int,
    seed: int | None,
    head: Callable[[Any], torch.Tensor],
    stride: int,
) -> np.ndarray:
    if mc_samples < 0:
        raise ValueError(f"mc_samples must be >= 0, got {mc_samples}")
    array = _check_images(model, images)
    n, _, height, width = array.shape
    out_h, out_w = -(-height // stride), -(-width // stride)
    samples = max(mc_samples, 1)
    result: np.ndarray | None = None
    multiple = int(getattr(model, "size_multiple", 1))
    rng = torch.random.fork_rng() if seed is not None else contextlib.nullcontext()
    with rng, _eval_mode(model, mc_dropout=mc_samples > 0), torch.inference_mode():
        if seed is not None:
            torch.manual_seed(seed)
        start = 0
        for batch in _batches(array, batch_size, device=_device(model)):
            padded = _pad(batch, multiple)
            for t in range(samples):
                probs = head(model(padded))[:, :, :out_h, :out_w].cpu().numpy()
                if result is None:
                    result = np.empty((samples, n, probs.shape[1], out_h, out_w), dtype=np.float32)
                result[t, start : start + len(batch)] = probs
            start += len(batch)
    assert result is not None
    return result if mc_samples > 0 else result[0]


def _check_images(model: nn.Module, images: np.ndarray) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ShapeError(f"images must be a non-empty (N, C, H, W) array, got shape {array.shape}")
    expected = getattr(model, "in_channels", None)
    if expected is not None and array.shape[1] != expected:
        raise ShapeError(f"the model takes {expected} bands, the images have {array.shape[1]}")
    return np.ascontiguousarray(array, dtype=np.float32)


def _batches(array: np.ndarray, batch_size: int, *, device: torch.device) -> Iterator[torch.Tensor]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, array.shape[0], batch_size):
        yield torch.from_numpy(array[start : start + batch_size]).to(device)


def _device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    return next(iter(model.parameters()), torch.empty(0)).device


def _pad(batch: torch.Tensor, multiple: int) -> torch.Tensor:
    height, width = batch.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not pad_h and not pad_w:
        return batch
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(batch, (0, pad_w, 0, pad_h), mode=mode)


def _inside(dets: Detections, *, height: int, width: int) -> Detections:
    """Drop detections whose centre lies in the padding."""
    cx = (dets.boxes[:, 0] + dets.boxes[:, 2]) / 2
    cy = (dets.boxes[:, 1] + dets.boxes[:, 3]) / 2
    keep = (cx < width) & (cy < height)
    return Detections(boxes=dets.boxes[keep], scores=dets.scores[keep], labels=dets.labels[keep])


@contextlib.contextmanager
def _eval_mode(model: nn.Module, *, mc_dropout: bool) -> Iterator[None]:
    """Eval mode for the call (dropout on if ``mc_dropout``), then restore every module's flag."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    if mc_dropout:
        for module in model.modules():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                module.train()
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training
