"""Codecs of what annotators send and receive: class-mask PNGs and boxes (pixel <-> EPSG:4326 GeoJSON).

Every decoder takes untrusted input and either returns clean values or raises MaskInvalid / BoxesInvalid with a
message naming the problem; nothing else escapes. Pixel boxes are relative to the chip's top-left corner:
``0 <= x0 < x1 <= width`` and ``0 <= y0 < y1 <= height``.
"""

import io
import math
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image
from pyproj import Transformer

from eolabel.labelling.classes import IGNORE_VALUE
from eolabel.labelling.errors import BoxesInvalid, MaskInvalid

MASK_MAX_BYTES = 2 * 1024 * 1024
MAX_BOXES = 5000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EDGE_TOLERANCE_PX = 1e-3  # geo -> pixel round trips land a hair outside the chip edge
_COLOUR_TYPES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}


# --- masks ---------------------------------------------------------------------------------------------


def mask_decode(
    data: bytes, *, width: int, height: int, allowed: Collection[int], field: str = "mask_png"
) -> np.ndarray:
    """A chip-sized (height, width) uint8 array from PNG bytes: single channel, 8-bit (grayscale, or palette
    read as indexes), every value in ``allowed`` or 255 (unlabelled)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MaskInvalid("expected PNG bytes", field=field)
    data = bytes(data)
    if len(data) > MASK_MAX_BYTES:
        raise MaskInvalid(
            f"{len(data)} bytes is above the {MASK_MAX_BYTES // (1024 * 1024)} MB limit", field=field
        )
    if not data.startswith(PNG_SIGNATURE):
        raise MaskInvalid("not a PNG file", field=field)
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise MaskInvalid("PNG header (IHDR) is missing or truncated", field=field)
    png_width, png_height = struct.unpack(">II", data[16:24])
    depth, colour_type = data[24], data[25]
    if (png_width, png_height) != (width, height):
        raise MaskInvalid(f"is {png_width}x{png_height} px; the chip is {width}x{height} px", field=field)
    if depth != 8 or colour_type not in (0, 3):
        kind = _COLOUR_TYPES.get(colour_type, f"colour type {colour_type}")
        raise MaskInvalid(
            f"must be single-channel 8-bit (grayscale or palette); got {kind}, {depth}-bit", field=field
        )
    array = _png_pixels(data, field=field)
    if array.shape != (height, width):
        raise MaskInvalid(f"decoded to {array.shape[1]}x{array.shape[0]} px", field=field)
    bad = sorted(set(np.unique(array).tolist()) - set(allowed) - {IGNORE_VALUE})
    if bad:
        shown = ", ".join(str(v) for v in bad[:10])
        raise MaskInvalid(f"value(s) {shown} are not in the class list (255 = unlabelled)", field=field)
    return array


def _png_pixels(data: bytes, *, field: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if getattr(image, "is_animated", False):
                raise MaskInvalid("animated PNGs are not masks", field=field)
            image.load()
            if image.mode not in ("L", "P"):
                raise MaskInvalid(f"must be single-channel 8-bit; decoded as mode {image.mode}", field=field)
            return np.array(image, dtype=np.uint8)
    except MaskInvalid:
        raise
    except (
        Exception
    ) as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, zlib.error... on bad data
        raise MaskInvalid(
            f"cannot be decoded as PNG ({type(exc).__name__}: {str(exc)[:120]})", field=field
        ) from exc


def mask_encode(array: np.ndarray) -> bytes:
    """PNG bytes (8-bit grayscale, no metadata) of a 2-D class array: how masks are stored and pre-labels served."""
    values = np.asarray(array)
    if values.ndim != 2 or values.size == 0:
        raise MaskInvalid("a mask is a non-empty 2-D array", field="mask")
    if values.dtype != np.uint8:
        if values.min() < 0 or values.max() > 255:
            raise MaskInvalid("mask values must fit 0..255", field="mask")
        values = values.astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(values)).save(
        out, format="PNG", compress_level=6
    )  # uint8 2-D: mode L
    return out.getvalue()


# --- pixel boxes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A box in chip pixel coordinates."""

    x0: float
    y0: float
    x1: float
    y1: float
    cls: int

    def as_dict(self) -> dict[str, float | int]:
        return {"x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1, "class": self.cls}


BOX_KEYS = {"x0", "y0", "x1", "y1", "class"}


def boxes_validate(
    raw: Any, *, width: int, height: int, allowed: Collection[int], field: str = "boxes"
) -> list[Box]:
    """Boxes from ``[{x0, y0, x1, y1, class}]``: finite numbers, x0 < x1, y0 < y1, inside the chip,
    a class from the class list. An empty list is a valid label (no object on the chip)."""
    if not isinstance(raw, list):
        raise BoxesInvalid("expected a list of {x0, y0, x1, y1, class}", field=field)
    if len(raw) > MAX_BOXES:
        raise BoxesInvalid(f"{len(raw)} boxes is above the limit of {MAX_BOXES}", field=field)
    boxes = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != BOX_KEYS:
            raise BoxesInvalid(f"[{i}]: needs exactly the keys x0, y0, x1, y1, class", field=field)
        x0, y0, x1, y1 = (_finite(item[k], f"[{i}].{k}", field) for k in ("x0", "y0", "x1", "y1"))
        boxes.append(
            _box_checked(
                x0,
                y0,
                x1,
                y1,
                item["class"],
                where=f"[{i}]",
                width=width,
                height=height,
                allowed=allowed,
                field=field,
            )
        )
    return boxes


def _finite(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BoxesInvalid(f"{where}: must be a number", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise BoxesInvalid(f"{where}: must be finite", field=field)
    return number


def _box_checked(
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    cls: Any,
    *,
    where: str,
    width: int,
    height: int,
    allowed: Collection[int],
    field: str,
) -> Box:
    if isinstance(cls, bool) or not isinstance(cls, int) or cls not in allowed:
        raise BoxesInvalid(f"{where}: class must be one of the project's class values", field=field)
    if not x0 < x1 or not y0 < y1:
        raise BoxesInvalid(f"{where}: needs x0 < x1 and y0 < y1", field=field)
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise BoxesInvalid(f"{where}: outside the chip (0..{width} x 0..{height} px)", field=field)
    return Box(x0, y0, x1, y1, cls)


# --- boxes <-> GeoJSON (EPSG:4326) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChipGeo:
    """What places a chip on the Earth: the scene CRS and affine transform (a, b, c, d, e, f) and the chip
    window's offset in the scene."""

    crs: str
    transform: tuple[float, float, float, float, float, float]
    col_off: int
    row_off: int


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def pixels_to_lonlat(geo: ChipGeo, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d, e, f = geo.transform
    cols, rows = np.asarray(xs, dtype=float) + geo.col_off, np.asarray(ys, dtype=float) + geo.row_off
    lon, lat = _transformer(geo.crs, "EPSG:4326").transform(a * cols + b * rows + c, d * cols + e * rows + f)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def lonlat_to_pixels(geo: ChipGeo, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d, e, f = geo.transform
    det = a * e - b * d
    if det == 0:
        raise BoxesInvalid("the scene's transform cannot be inverted", field="geojson")
    x, y = _transformer("EPSG:4326", geo.crs).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    x, y = np.asarray(x, dtype=float) - c, np.asarray(y, dtype=float) - f
    cols, rows = (e * x - b * y) / det, (-d * x + a * y) / det
    return cols - geo.col_off, rows - geo.row_off


def boxes_to_geojson(boxes: Sequence[Box], *, geo: ChipGeo) -> dict[str, Any]:
    """A FeatureCollection in EPSG:4326: one Polygon per box (its four corners, which a rotated or reprojected
    grid may not keep axis-aligned), ``properties.class`` the class value."""
    features = []
    for box in boxes:
        xs = np.array([box.x0, box.x1, box.x1, box.x0, box.x0])
        ys = np.array([box.y0, box.y0, box.y1, box.y1, box.y0])
        lon, lat = pixels_to_lonlat(geo, xs, ys)
        ring = [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"class": box.cls},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def boxes_from_geojson(
    raw: Any, *, geo: ChipGeo, width: int, height: int, allowed: Collection[int], field: str = "geojson"
) -> list[Box]:
    """Pixel boxes from a FeatureCollection of Polygons in EPSG:4326 (``properties.class``): each polygon's
    pixel bounding box, which must lie inside the chip (within a thousandth of a pixel, then clamped)."""
    if (
        not isinstance(raw, dict)
        or raw.get("type") != "FeatureCollection"
        or not isinstance(raw.get("features"), list)
    ):
        raise BoxesInvalid("expected a GeoJSON FeatureCollection", field=field)
    features = raw["features"]
    if len(features) > MAX_BOXES:
        raise BoxesInvalid(f"{len(features)} features is above the limit of {MAX_BOXES}", field=field)
    boxes = []
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        lon, lat = _polygon_lonlat(feature, where=where, field=field)
        xs, ys = lonlat_to_pixels(geo, lon, lat)
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            raise BoxesInvalid(f"{where}: cannot be placed on the scene's grid", field=field)
        x0, x1 = _clamped(float(xs.min()), width), _clamped(float(xs.max()), width)
        y0, y1 = _clamped(float(ys.min()), height), _clamped(float(ys.max()), height)
        properties = feature.get("properties")
        cls = properties.get("class") if isinstance(properties, dict) else None
        boxes.append(
            _box_checked(
                x0, y0, x1, y1, cls, where=where, width=width, height=height, allowed=allowed, field=field
            )
        )
    return boxes


def _polygon_lonlat(feature: Any, *, where: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise BoxesInvalid(f"{where}: expected a GeoJSON Feature", field=field)
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise BoxesInvalid(f"{where}: geometry must be a Polygon", field=field)
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list) or len(rings[0]) < 4:
        raise BoxesInvalid(f"{where}: a Polygon needs an outer ring of at least 4 positions", field=field)
    lons, lats = [], []
    for position in rings[0]:
        if not isinstance(position, list | tuple) or len(position) not in (2, 3):
            raise BoxesInvalid(f"{where}: positions are [lon, lat]", field=field)
        lon, lat = (_finite(v, where, field) for v in position[:2])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BoxesInvalid(f"{where}: lon/lat outside -180..180 / -90..90", field=field)
        lons.append(lon)
        lats.append(lat)
    return np.array(lons), np.array(lats)


def _clamped(value: float, limit: int) -> float:
    if -EDGE_TOLERANCE_PX <= value < 0:
        return 0.0
    if limit < value <= limit + EDGE_TOLERANCE_PX:
        return float(limit)
    return value
