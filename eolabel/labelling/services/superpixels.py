"""Superpixels of a chip (SLIC over its bands), offered to annotators as one-click fill regions.

Labels are packed into an opaque RGB PNG, ``label = r << 16 | g << 8 | b``: the browser reads them back
exactly from a canvas, with no 16-bit decoding of its own."""

import io

import numpy as np
from PIL import Image
from rasterio.windows import Window
from skimage.segmentation import slic

from eolabel.archive.ingest.raster import gdal_env, open_gtiff
from eolabel.archive.models import Chip
from eolabel.archive.paths import archive_resolve

PIXELS_PER_SEGMENT = 48  # about 7 x 7 px regions: small enough to follow cloud edges on a 64-512 px chip


def chip_superpixels(*, chip: Chip, pixels_per_segment: int = PIXELS_PER_SEGMENT) -> np.ndarray:
    """A (height, width) int32 label array of the chip, labels 0..n-1, from SLIC over every band."""
    with gdal_env(), open_gtiff(archive_resolve(chip.scene.asset_path)) as src:
        data = src.read(window=Window(chip.col_off, chip.row_off, chip.width, chip.height))
    return superpixels_of(image=data, pixels_per_segment=pixels_per_segment)


def superpixels_of(*, image: np.ndarray, pixels_per_segment: int = PIXELS_PER_SEGMENT) -> np.ndarray:
    """SLIC labels of a (bands, height, width) image; each band is scaled to its own 2-98 % range first so
    bright and dark bands weigh alike."""
    bands = np.asarray(image, dtype=np.float32)
    low, high = np.percentile(bands, [2, 98], axis=(1, 2), keepdims=True)
    scaled = np.clip((bands - low) / np.maximum(high - low, 1e-6), 0, 1)
    height, width = scaled.shape[1:]
    segments = max(1, (height * width) // pixels_per_segment)
    labels = slic(
        np.moveaxis(scaled, 0, -1), n_segments=segments, compactness=0.1, start_label=0, channel_axis=-1
    )
    return labels.astype(np.int32)


def superpixels_png(labels: np.ndarray) -> bytes:
    """An opaque RGB PNG packing each 24-bit label into the pixel's red, green and blue bytes."""
    values = np.asarray(labels, dtype=np.uint32)
    rgb = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=-1).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(out, format="PNG")
    return out.getvalue()
