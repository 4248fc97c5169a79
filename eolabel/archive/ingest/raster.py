"""Open and describe a raster file safely: TIFF magic bytes first, then GDAL's GTiff driver only."""

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from django.conf import settings
from pyproj import CRS as ProjCRS
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.warp import transform_bounds, transform_geom

from eolabel.archive.errors import (
    DriverRefused,
    GeoreferenceError,
    NotATiff,
    RasterTooLarge,
    UnreadableRaster,
)

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class RasterInfo:
    path: Path
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    crs: str | None
    transform: tuple[float, ...]
    resolution: tuple[float, float]
    descriptions: tuple[str | None, ...]
    tags: dict[str, str] = field(default_factory=dict)
    bounds_4326: tuple[float, float, float, float] | None = None
    footprint: dict[str, Any] | None = None
    metre_resolution: float | None = None

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None


def gdal_env() -> rasterio.Env:
    return rasterio.Env(**settings.GDAL_ENV)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_tiff_magic(path: Path) -> None:
    if not path.is_file():
        raise NotATiff(f"{path.name}: not a regular file")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head not in TIFF_MAGICS:
        raise NotATiff(f"{path.name}: not a TIFF file (first bytes {head!r})")


def open_gtiff(path: Path) -> rasterio.DatasetReader:
    """Open with GDAL's GTiff driver and no other: a VRT or another format renamed .tif is refused."""
    check_tiff_magic(path)
    try:
        src = rasterio.open(path, driver="GTiff")
    except RasterioIOError as exc:
        raise UnreadableRaster(
            f"{path.name}: GDAL's GTiff driver cannot read it ({first_line(exc)})"
        ) from exc
    if src.driver != "GTiff":
        src.close()
        raise DriverRefused(f"{path.name}: opened by GDAL driver {src.driver}, only GTiff is accepted")
    return src


def raster_inspect(path: Path) -> RasterInfo:
    """Everything ingest needs to know about a file, validated against the archive's caps."""
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src = open_gtiff(path)
        with src:
            _check_caps(path, src.width, src.height, src.count)
            _check_compression(path, src)
            crs = _georeference(path, src)
            info = RasterInfo(
                path=path,
                width=src.width,
                height=src.height,
                count=src.count,
                dtype=src.dtypes[0],
                nodata=src.nodata,
                crs=crs,
                transform=tuple(src.transform)[:6],
                resolution=(abs(src.transform.a), abs(src.transform.e)),
                descriptions=tuple(src.descriptions),
                tags={k: str(v) for k, v in src.tags().items()},
            )
            if crs is None:
                return info
            bounds = transform_bounds(src.crs, WGS84, *src.bounds, densify_pts=21)
            footprint = _footprint(src)
            metres = _metre_resolution(src)
    return RasterInfo(
        **{**info.__dict__, "bounds_4326": tuple(bounds), "footprint": footprint, "metre_resolution": metres}
    )


def _check_caps(path: Path, width: int, height: int, count: int) -> None:
    if width * height > settings.EOLABEL_MAX_PIXELS:
        raise RasterTooLarge(
            f"{path.name}: {width} x {height} pixels is above the cap of {settings.EOLABEL_MAX_PIXELS} pixels"
        )
    if count > settings.EOLABEL_MAX_BANDS:
        raise RasterTooLarge(f"{path.name}: {count} bands is above the cap of {settings.EOLABEL_MAX_BANDS}")
    if width * height * count > settings.EOLABEL_MAX_SAMPLES:
        raise RasterTooLarge(f"{path.name}: {width} x {height} x {count} samples is above the cap")


def _check_compression(path: Path, src: rasterio.DatasetReader) -> None:
    """Refuse a decompression bomb: a file whose pixels would inflate far beyond its size on disk."""
    inflated = src.width * src.height * sum(np.dtype(d).itemsize for d in src.dtypes)
    ratio = inflated / max(path.stat().st_size, 1)
    if inflated > settings.EOLABEL_BOMB_MIN_BYTES and ratio > settings.EOLABEL_MAX_COMPRESSION_RATIO:
        raise RasterTooLarge(
            f"{path.name}: {inflated / 2**30:.1f} GiB of pixels from {path.stat().st_size} bytes "
            f"(over {settings.EOLABEL_MAX_COMPRESSION_RATIO:.0f}:1) is refused as a decompression bomb"
        )


def _georeference(path: Path, src: rasterio.DatasetReader) -> str | None:
    """The CRS as 'EPSG:n' or WKT, or None for an explicitly non-georeferenced image."""
    gcps, _ = src.gcps
    if src.crs is None:
        if gcps:
            raise GeoreferenceError(f"{path.name}: georeferenced by GCPs only; warp it to a grid first")
        if src.transform != Affine.identity():
            raise GeoreferenceError(f"{path.name}: has a geotransform but no CRS; assign one or remove it")
        return None
    if src.transform == Affine.identity():
        raise GeoreferenceError(f"{path.name}: has a CRS but no geotransform")
    epsg = src.crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else src.crs.to_wkt()


def _footprint(src: rasterio.DatasetReader) -> dict[str, Any]:
    """The scene outline in EPSG:4326, densified so that curved edges of projected grids stay true."""
    west, south, east, north = src.bounds
    steps = 16
    ring = (
        [(west + (east - west) * i / steps, north) for i in range(steps)]
        + [(east, north - (north - south) * i / steps) for i in range(steps)]
        + [(east - (east - west) * i / steps, south) for i in range(steps)]
        + [(west, south + (north - south) * i / steps) for i in range(steps)]
    )
    ring.append(ring[0])
    geom = {"type": "Polygon", "coordinates": [ring]}
    out = transform_geom(src.crs, WGS84, geom, antimeridian_cutting=True, precision=7)
    return dict(out)


def _metre_resolution(src: rasterio.DatasetReader) -> float | None:
    crs = ProjCRS.from_user_input(src.crs.to_wkt())
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return float(abs(src.transform.a))
    return None


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
