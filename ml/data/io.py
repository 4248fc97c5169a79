"""Read GeoTIFFs (with rasterio, imported on use) and cut them into fixed-size chips."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np

from ml.data.classes import IGNORE_INDEX
from ml.errors import DataError


def read_chips(
    path: str | PathLike[str],
    *,
    size: int,
    bands: Sequence[int] | None = None,
    pad_value: float = 0,
) -> tuple[np.ndarray, list[Any]]:
    """Cut a raster into (N, C, size, size) chips in row-major order, padding the right/bottom edges.

    ``bands`` are 1-based band indexes (default all). Returns the chips (the raster's dtype) and
    one ``rasterio.windows.Window`` per chip covering its valid (unpadded) part.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.windows import Window

    if size < 1:
        raise DataError(f"size must be positive, got {size}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                indexes = list(bands) if bands is not None else list(range(1, src.count + 1))
                chips, windows = [], []
                for row in range(0, src.height, size):
                    for col in range(0, src.width, size):
                        window = Window(col, row, min(size, src.width - col), min(size, src.height - row))
                        data = src.read(indexes, window=window)
                        chip = np.full((len(indexes), size, size), pad_value, dtype=data.dtype)
                        chip[:, : data.shape[1], : data.shape[2]] = data
                        chips.append(chip)
                        windows.append(window)
    except RasterioIOError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    return np.stack(chips), windows


def read_mask(path: str | PathLike[str]) -> np.ndarray:
    """Read band 1 of a mask raster as an (H, W) int64 array."""
    return read_chips_full(path)[0].astype(np.int64)


def read_mask_chips(path: str | PathLike[str], *, size: int) -> tuple[np.ndarray, list[Any]]:
    """Cut band 1 of a mask into (N, size, size) int64 chips, padding with ``IGNORE_INDEX``."""
    chips, windows = read_chips(path, size=size, bands=[1], pad_value=IGNORE_INDEX)
    return chips[:, 0].astype(np.int64), windows


def read_chips_full(path: str | PathLike[str]) -> np.ndarray:
    """Read a whole (small) raster as (C, H, W)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                return src.read()
    except RasterioIOError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
