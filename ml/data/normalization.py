"""Per-band normalisation from sensor statistics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.errors import DataError, ShapeError

MIN_STD = 1e-6


@dataclass(frozen=True)
class BandStats:
    """Mean and standard deviation per band; ``normalize`` gives (x - mean) / std as float32."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    bands: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.mean or len(self.mean) != len(self.std):
            raise DataError("mean and std must be non-empty and of equal length")
        if any(not np.isfinite(s) or s <= 0 for s in self.std):
            raise DataError(f"std must be finite and positive, got {self.std}")
        if self.bands is not None and len(self.bands) != len(self.mean):
            raise DataError("bands must name every band")

    @property
    def num_bands(self) -> int:
        return len(self.mean)

    @classmethod
    def from_images(
        cls,
        images: Iterable[np.ndarray],
        *,
        nodata: float | None = None,
        bands: Sequence[str] | None = None,
    ) -> BandStats:
        """Statistics over every valid pixel of (C, H, W) or (N, C, H, W) arrays, streamed.

        NaN and ``nodata`` pixels are skipped per band; a constant band gets std 1.
        """
        count: np.ndarray | None = None
        mean = m2 = np.zeros(0)
        for image in images:
            array = np.asarray(image, dtype=np.float64)
            if array.ndim == 3:
                array = array[None]
            if array.ndim != 4:
                raise ShapeError(f"expected (C, H, W) or (N, C, H, W), got shape {array.shape}")
            flat = np.moveaxis(array, 1, 0).reshape(array.shape[1], -1)
            valid = np.isfinite(flat) if nodata is None else np.isfinite(flat) & (flat != nodata)
            n_b = valid.sum(axis=1).astype(np.float64)
            values = np.where(valid, flat, 0.0)
            mean_b = values.sum(axis=1) / np.maximum(n_b, 1)
            m2_b = (np.where(valid, flat - mean_b[:, None], 0.0) ** 2).sum(axis=1)
            if count is None:
                count, mean, m2 = n_b, mean_b, m2_b
                continue
            if n_b.shape != count.shape:
                raise ShapeError("all images must have the same number of bands")
            total = count + n_b
            delta = mean_b - mean
            safe = np.maximum(total, 1)
            mean = mean + delta * n_b / safe
            m2 = m2 + m2_b + delta**2 * count * n_b / safe
            count = total
        if count is None or (count == 0).any():
            raise DataError("no valid pixels for at least one band")
        std = np.sqrt(m2 / count)
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(
            mean=tuple(float(v) for v in mean),
            std=tuple(float(v) for v in std),
            bands=tuple(bands) if bands is not None else None,
        )

    def normalize(self, image: np.ndarray) -> np.ndarray:
        """Normalise a (C, H, W) or (N, C, H, W) array to float32."""
        array = np.asarray(image)
        if array.ndim not in (3, 4) or array.shape[-3] != self.num_bands:
            raise ShapeError(f"expected {self.num_bands} bands on axis -3, got shape {array.shape}")
        mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.std, dtype=np.float32)[:, None, None]
        return ((array.astype(np.float32) - mean) / std).astype(np.float32)

    def denormalize(self, image: np.ndarray) -> np.ndarray:
        """Inverse of ``normalize`` (float32)."""
        mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
        std = np.asarray(self.std, dtype=np.float32)[:, None, None]
        return (np.asarray(image, dtype=np.float32) * std + mean).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std), "bands": list(self.bands or []) or None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BandStats:
        bands = data.get("bands")
        return cls(
            mean=tuple(float(v) for v in data["mean"]),
            std=tuple(float(v) for v in data["std"]),
            bands=tuple(bands) if bands else None,
        )
