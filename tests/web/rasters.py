"""Small synthetic scenes for the browser tests: a landscape a person recognises in a screenshot
(fields, a river, a cloud) written with rasterio."""

import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from ml.sensors import LANDSAT_TM_ETM_6_BANDS, SENTINEL2_BANDS

# Reflectance x 10000 per surface, in Sentinel-2 band order B01..B12 (B10 cirrus kept low).
S2_SURFACES = {
    "meadow": [1100, 750, 1000, 550, 1300, 2700, 3100, 3300, 3400, 1000, 30, 1900, 1000],
    "crop": [1300, 1050, 1450, 1700, 1900, 2200, 2400, 2500, 2600, 900, 30, 2900, 2100],
    "water": [1300, 1000, 800, 450, 380, 300, 250, 200, 180, 100, 20, 100, 60],
    "cloud": [5200, 5000, 4900, 5000, 5100, 5100, 5200, 5300, 5300, 2300, 400, 3600, 2600],
}


def landscape(size: int, *, seed: int = 7) -> np.ndarray:
    """An int label map: 0 meadow, 1 crop (checkerboard parcels), 2 river, 3 cloud."""
    rows, cols = np.mgrid[0:size, 0:size] / size
    labels = ((np.floor(rows * 8) + np.floor(cols * 8)) % 2).astype(np.uint8)
    river = np.abs(rows - (0.25 + 0.5 * cols + 0.06 * np.sin(cols * 12))) < 0.035
    labels[river] = 2
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(0.55, 0.75, size=2)
    labels[(rows - cy) ** 2 + (cols - cx) ** 2 < 0.012] = 3
    return labels


def parcel_brightness(size: int, *, seed: int) -> np.ndarray:
    """A brightness factor per 8 x 8 parcel (0.85..1.15): variety that still compresses well in a PNG."""
    per_parcel = np.random.default_rng(seed).uniform(0.85, 1.15, size=(8, 8))
    return np.kron(per_parcel, np.ones((size // 8, size // 8)))[:size, :size]


def sentinel2_scene(
    path: Path, *, size: int = 512, seed: int = 7, origin: tuple[float, float] = (370_000, 4_835_000)
) -> Path:
    """A 13-band uint16 Sentinel-2-like GeoTIFF in EPSG:32631 (near Toulouse by default), 10 m pixels;
    ``origin`` is the top-left corner (easting, northing)."""
    labels = landscape(size, seed=seed)
    table = np.array(list(S2_SURFACES.values()), dtype=np.float32)  # surface x band
    data = table[labels].transpose(2, 0, 1) * parcel_brightness(size, seed=seed)
    data = np.clip(data, 1, 10000).astype(np.uint16)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 13,
        "dtype": "uint16",
        "crs": "EPSG:32631",
        "transform": Affine(10, 0, origin[0], 0, -10, origin[1]),
        "tiled": True,
        "blockxsize": min(size, 256),
        "blockysize": min(size, 256),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = tuple(band["name"] for band in SENTINEL2_BANDS)
    return path


def landsat_pixel_image(path: Path, *, size: int = 512, seed: int = 3) -> Path:
    """A 6-band uint16 image without any georeference (no CRS, identity transform)."""
    labels = landscape(size, seed=seed)
    table = np.array([[v[1], v[2], v[3], v[7], v[11], v[12]] for v in S2_SURFACES.values()], dtype=np.float32)
    data = table[labels].transpose(2, 0, 1).astype(np.uint16)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 6, "dtype": "uint16"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            dst.descriptions = tuple(band["name"] for band in LANDSAT_TM_ETM_6_BANDS)
    return path
