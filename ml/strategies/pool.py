"""Score a whole unlabelled pool in chunks with bounded memory.

``score_pool`` pulls at most ``chunk_size`` chips from any iterable (a list, a generator reading
COGs, or a loader's batches flattened by :func:`unbatch`), runs the model on them through ``ml.inference``, turns the output into
one uncertainty score per chip with the pure functions of this package, and yields
``(chip_id, score, embedding)`` before pulling the next chunk. Only one chunk of images (and, with
MC dropout, its T samples) is alive at a time.

Strategies (``strategy=``), "higher = more uncertain" throughout:

- cloud (softmax maps): ``least-confidence``, ``margin``, ``entropy`` on the probabilities (the MC
  mean when ``mc_samples`` > 0), ``bald`` (mutual information, needs ``mc_samples`` >= 2).
- vehicles (centre heatmap): ``peaks`` (mean ``2 min(s, 1 - s)`` over candidate peaks, see
  :func:`~ml.strategies.aggregate.peak_uncertainty_score`), ``entropy`` (per-pixel binary entropy
  summed over classes), ``bald`` (binary mutual information summed over classes).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from itertools import count, islice
from typing import Any, NamedTuple

import numpy as np

from ml.errors import ConfigError, ShapeError
from ml.strategies.aggregate import aggregate, peak_uncertainty_score
from ml.strategies.bald import mutual_information
from ml.strategies.measures import MEASURES, binary_entropy, two_class

CLOUD_STRATEGIES = ("least-confidence", "margin", "entropy", "bald")
VEHICLE_STRATEGIES = ("peaks", "entropy", "bald")


class PoolChip(NamedTuple):
    """One unlabelled chip: ``image`` (C, H, W) float32, normalised; ``valid`` (H, W) bool or None."""

    chip_id: Hashable
    image: np.ndarray
    valid: np.ndarray | None = None


class ScoredChip(NamedTuple):
    """Uncertainty ``score`` of one chip and its ``embedding`` (D,) (empty when not asked for)."""

    chip_id: Hashable
    score: float
    embedding: np.ndarray


class PoolScores(NamedTuple):
    """A scored pool as arrays: ``scores`` (N,) float64, ``embeddings`` (N, D) float32."""

    chip_ids: list[Hashable]
    scores: np.ndarray
    embeddings: np.ndarray


def cloud_chip_scores(
    probs: np.ndarray,
    *,
    strategy: str,
    valid: np.ndarray | None = None,
    aggregation: str = "mean",
    fraction: float = 0.1,
) -> np.ndarray:
    """Chip scores (N,) from softmax output (N, K, H, W), or MC samples (T, N, K, H, W)."""
    if strategy == "bald":
        if probs.ndim != 5 or probs.shape[0] < 2:
            raise ConfigError("bald needs MC-dropout samples (T >= 2, N, K, H, W)")
        pixel = mutual_information(probs)
    elif strategy in MEASURES:
        mean_probs = probs.mean(axis=0) if probs.ndim == 5 else probs
        pixel = MEASURES[strategy](mean_probs)
    else:
        raise ConfigError(f"unknown cloud strategy {strategy!r}; use one of {CLOUD_STRATEGIES}")
    return aggregate(pixel, method=aggregation, fraction=fraction, valid=valid)


def vehicle_chip_scores(
    heatmap: np.ndarray,
    *,
    strategy: str,
    valid: np.ndarray | None = None,
    aggregation: str = "top",
    fraction: float = 0.1,
    min_score: float = 0.05,
) -> np.ndarray:
    """Chip scores (N,) from centre probabilities (N, K, h, w), or MC samples (T, N, K, h, w).

    ``valid`` must already be on the heatmap grid (N, h, w).
    """
    mean_heat = heatmap.mean(axis=0) if heatmap.ndim == 5 else heatmap
    if strategy == "peaks":
        return peak_uncertainty_score(mean_heat.max(axis=1), min_score=min_score, valid=valid)
    if strategy == "entropy":
        pixel = binary_entropy(mean_heat).sum(axis=1)
    elif strategy == "bald":
        if heatmap.ndim != 5 or heatmap.shape[0] < 2:
            raise ConfigError("bald needs MC-dropout samples (T >= 2, N, K, h, w)")
        pixel = mutual_information(two_class(heatmap, axis=2)).sum(axis=1)
    else:
        raise ConfigError(f"unknown vehicle strategy {strategy!r}; use one of {VEHICLE_STRATEGIES}")
    return aggregate(pixel, method=aggregation, fraction=fraction, valid=valid)


def _stack(chunk: list[PoolChip]) -> tuple[list[Hashable], np.ndarray, np.ndarray | None]:
    ids = [c.chip_id for c in chunk]
    images = np.stack([np.asarray(c.image, dtype=np.float32) for c in chunk])
    if images.ndim != 4:
        raise ShapeError(f"chip images must be (C, H, W), got {images.shape[1:]}")
    if all(c.valid is None for c in chunk):
        return ids, images, None
    shape = images.shape[2:]
    valid = np.stack([np.ones(shape, bool) if c.valid is None else np.asarray(c.valid, bool) for c in chunk])
    return ids, images, valid


def score_pool(
    chips: Iterable[PoolChip | tuple],
    model: object,
    *,
    strategy: str,
    task: str = "cloud",
    chunk_size: int = 64,
    mc_samples: int = 0,
    batch_size: int = 8,
    aggregation: str | None = None,
    fraction: float = 0.1,
    embeddings: bool = True,
    seed: int = 0,
) -> Iterator[ScoredChip]:
    """Yield one :class:`ScoredChip` per input chip, in input order, ``chunk_size`` chips at a time.

    ``aggregation`` defaults to ``"mean"`` for clouds and ``"top"`` (top ``fraction``) for vehicle
    heatmaps, which are mostly empty background. MC samples use ``seed + chunk number`` so a run
    is reproducible (scores of a deterministic strategy do not depend on ``chunk_size``).
    """
    from ml import inference  # torch is imported only when a model is actually run

    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
    if task not in ("cloud", "vehicles"):
        raise ConfigError(f"task must be 'cloud' or 'vehicles', got {task!r}")
    method = aggregation or ("mean" if task == "cloud" else "top")
    iterator = iter(chips)
    for number in count():
        chunk = [PoolChip(*c) for c in islice(iterator, chunk_size)]
        if not chunk:
            return
        ids, images, valid = _stack(chunk)
        del chunk  # the stacked copy is all we keep
        kwargs = {"batch_size": batch_size, "mc_samples": mc_samples, "seed": seed + number}
        if task == "cloud":
            probs = inference.predict_proba(model, images, **kwargs)
            scores = cloud_chip_scores(
                probs, strategy=strategy, valid=valid, aggregation=method, fraction=fraction
            )
        else:
            heat = inference.vehicle_heatmap_proba(model, images, **kwargs)
            grid_valid = None if valid is None else _to_grid(valid, heat.shape[-2:])
            scores = vehicle_chip_scores(
                heat, strategy=strategy, valid=grid_valid, aggregation=method, fraction=fraction
            )
        emb = inference.embed(model, images, batch_size=batch_size) if embeddings else np.zeros((len(ids), 0))
        del images
        for i, chip_id in enumerate(ids):
            yield ScoredChip(chip_id, float(scores[i]), np.asarray(emb[i], dtype=np.float32))


def unbatch(batches: Iterable[Mapping[str, Any]], *, id_key: str = "chip_id") -> Iterator[PoolChip]:
    """Flatten batches from a loader (``{"image": (B, C, H, W), id_key: B ids, "valid": optional
    (B, H, W)}``, numpy or torch) into :class:`PoolChip` items for :func:`score_pool`, lazily."""
    for batch in batches:
        images = np.asarray(batch["image"])
        ids = list(batch[id_key])
        valid = batch.get("valid")
        valid = None if valid is None else np.asarray(valid, dtype=bool)
        if len(ids) != len(images):
            raise ShapeError(f"{len(images)} images but {len(ids)} ids in a batch")
        for i, chip_id in enumerate(ids):
            yield PoolChip(chip_id, images[i], None if valid is None else valid[i])


def _to_grid(valid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest subsampling of (N, H, W) validity onto a coarser (h, w) output grid."""
    h, w = shape
    stride_y = max(1, -(-valid.shape[1] // h))
    stride_x = max(1, -(-valid.shape[2] // w))
    return valid[:, ::stride_y, ::stride_x][:, :h, :w]


def collect(scored: Iterable[ScoredChip]) -> PoolScores:
    """Materialise :func:`score_pool`'s output (ids, scores and embeddings only: small)."""
    items = list(scored)
    if not items:
        return PoolScores([], np.zeros(0), np.zeros((0, 0), dtype=np.float32))
    return PoolScores(
        chip_ids=[s.chip_id for s in items],
        scores=np.array([s.score for s in items], dtype=np.float64),
        embeddings=np.stack([s.embedding for s in items]).astype(np.float32),
    )


def band_statistics(images: np.ndarray, *, valid: np.ndarray | None = None) -> np.ndarray:
    """Model-free chip embedding (N, 2C): per-band mean and standard deviation over valid pixels.

    For the cold start (:func:`~ml.strategies.selection.cold_start`) before any model exists.
    """
    x = np.asarray(images, dtype=np.float64)
    n, c = x.shape[:2]
    v = np.ones((n, *x.shape[2:]), bool) if valid is None else np.asarray(valid, bool)
    w = v[:, None].astype(np.float64)
    count = np.maximum(w.sum(axis=(2, 3)), 1.0)
    mean = (x * w).sum(axis=(2, 3)) / count
    var = (((x - mean[:, :, None, None]) ** 2) * w).sum(axis=(2, 3)) / count
    return np.concatenate([mean, np.sqrt(var)], axis=1).reshape(n, 2 * c).astype(np.float32)
