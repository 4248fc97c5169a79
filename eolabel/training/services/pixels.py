"""Chip pixels and reference labels read from the archive through rasterio windows.

Chips at a scene's edge are smaller than the project's chip size: images are padded at the bottom/right with
the band means (0 once normalised) and marked invalid there; masks are padded with 255 (ignored).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from eolabel.archive.ingest.raster import gdal_env, open_gtiff
from eolabel.archive.models import Chip, ReferenceLayer, Scene
from eolabel.archive.paths import archive_resolve
from ml.data.classes import IGNORE_INDEX
from ml.data.normalization import BandStats
from ml.simulate.data import read_vehicle_boxes

STATS_MAX_SIDE = 256  # band statistics come from a decimated read of each scene


@dataclass(frozen=True)
class ChipPixels:
    """A chip's raw bands (C, size, size) float32 and its valid pixels (size, size)."""

    chip: Chip
    image: np.ndarray
    valid: np.ndarray


def scenes_band_stats(*, scenes: Sequence[Scene]) -> BandStats:
    """Per-band mean/std over the project's scenes (nodata skipped), from reads of at most 256 px a side."""

    def reads() -> Iterator[np.ndarray]:
        with gdal_env():
            for scene in scenes:
                with open_gtiff(archive_resolve(scene.asset_path)) as src:
                    scale = max(src.width, src.height) / STATS_MAX_SIDE
                    shape = (
                        src.count,
                        max(1, round(src.height / max(scale, 1))),
                        max(1, round(src.width / max(scale, 1))),
                    )
                    data = src.read(out_shape=shape).astype(np.float64)
                    if scene.nodata is not None:
                        data[data == scene.nodata] = np.nan
                    yield data

    return BandStats.from_images(reads())


def chips_read(*, chips: Iterable[Chip], size: int, stats: BandStats) -> Iterator[ChipPixels]:
    """Each chip's pixels, padded to ``size``; consecutive chips of one scene share one open file."""
    current: tuple[int, rasterio.DatasetReader] | None = None
    means = np.asarray(stats.mean, dtype=np.float32)[:, None, None]
    with gdal_env():
        try:
            for chip in chips:
                if current is None or current[0] != chip.scene_id:
                    if current is not None:
                        current[1].close()
                    current = (chip.scene_id, open_gtiff(archive_resolve(chip.scene.asset_path)))
                src = current[1]
                data = src.read(window=Window(chip.col_off, chip.row_off, chip.width, chip.height))
                image = np.broadcast_to(means, (src.count, size, size)).copy()
                image[:, : chip.height, : chip.width] = data
                valid = np.zeros((size, size), dtype=bool)
                valid[: chip.height, : chip.width] = True
                if chip.scene.nodata is not None:
                    valid[: chip.height, : chip.width] &= ~(data == chip.scene.nodata).all(axis=0)
                yield ChipPixels(chip=chip, image=image, valid=valid)
        finally:
            if current is not None:
                current[1].close()


def reference_mask_read(*, reference: ReferenceLayer, chip: Chip, size: int) -> np.ndarray:
    """The reference mask cut to the chip, (size, size) uint8, 255 outside the scene and on nodata."""
    out = np.full((size, size), IGNORE_INDEX, dtype=np.uint8)
    with gdal_env(), open_gtiff(archive_resolve(reference.asset_path)) as src:
        data = src.read(1, window=Window(chip.col_off, chip.row_off, chip.width, chip.height))
        if src.nodata is not None:
            data = np.where(data == src.nodata, IGNORE_INDEX, data)
    out[: chip.height, : chip.width] = data
    return out


def reference_boxes_read(*, reference: ReferenceLayer, chip: Chip) -> np.ndarray:
    """Reference boxes whose centre lies in the chip, chip-relative xyxy clipped to it, (M, 4) float32."""
    transform = Affine(*chip.scene.transform[:6]) if chip.scene.transform else Affine.identity()
    boxes = read_vehicle_boxes(Path(archive_resolve(reference.asset_path)), transform)
    if not len(boxes):
        return boxes
    boxes = boxes - np.array([chip.col_off, chip.row_off, chip.col_off, chip.row_off], dtype=np.float32)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    inside = (cx >= 0) & (cy >= 0) & (cx < chip.width) & (cy < chip.height)
    clipped = boxes[inside]
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, chip.width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, chip.height)
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    return clipped[keep].astype(np.float32)
