"""Reference labels attached to scenes: class masks on the scene's own grid, or vehicle boxes as GeoJSON."""

import json
import math
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.utils.text import slugify
from rasterio.errors import NotGeoreferencedWarning

from eolabel.archive.errors import ReferenceError_
from eolabel.archive.ingest.cog import cog_write
from eolabel.archive.ingest.raster import file_sha256, gdal_env, open_gtiff
from eolabel.archive.paths import archive_relative, archive_root

if TYPE_CHECKING:
    from eolabel.archive.models import ReferenceLayer, Scene
    from eolabel.archive.services import ReferenceSpec

MAX_BOXES = 100_000
CLASS_ITEM = re.compile(r"(?<![\w])(\d+)\s*[:=]?\s*([A-Za-z][\w /-]*)")
CLASS_ITEM_AFTER = re.compile(r"([A-Za-z][\w -]*?)\s*\((\d+)\)")


@dataclass(frozen=True)
class Grid:
    """The pixel grid a mask must share with its scene."""

    width: int
    height: int
    crs: str | None
    transform: tuple[float, ...] | None


@dataclass(frozen=True)
class CheckedReference:
    path: Path
    checksum: str
    classes: dict[str, str]
    count: int | None = None


def parse_class_description(text: str | None) -> dict[str, str]:
    """'0 cloud shadow, 1 water' or 'cloud (1) / clear (0), human' -> {'0': 'cloud shadow', ...}."""
    if not text:
        return {}
    found = {value: name.strip() for name, value in CLASS_ITEM_AFTER.findall(text)}
    if not found:
        found = {value: name.strip() for value, name in CLASS_ITEM.findall(text)}
    return dict(sorted(found.items(), key=lambda kv: int(kv[0])))


def reference_check(*, spec_path: Path, kind: str, info: Any) -> CheckedReference:
    grid = Grid(info.width, info.height, info.crs, tuple(info.transform) if info.transform else None)
    if kind == "mask":
        return _check_mask(spec_path, grid)
    if kind == "boxes":
        return _check_boxes(spec_path, grid)
    raise ReferenceError_(f"unknown reference kind {kind!r} (mask or boxes)")


def _check_mask(path: Path, grid: Grid) -> CheckedReference:
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src = open_gtiff(path)
        with src:
            if src.count != 1 or not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
                raise ReferenceError_(f"{path.name}: a reference mask is one band of integer class values")
            if (src.width, src.height) != (grid.width, grid.height):
                raise ReferenceError_(
                    f"{path.name}: {src.width} x {src.height} px does not match the scene's "
                    f"{grid.width} x {grid.height} px"
                )
            if grid.crs and src.crs is not None:
                same_crs = src.crs == src.crs.from_user_input(grid.crs)
                pixel = abs(grid.transform[0]) if grid.transform else 1.0
                same_grid = grid.transform is not None and all(
                    math.isclose(a, b, abs_tol=pixel * 1e-3)
                    for a, b in zip(tuple(src.transform)[:6], grid.transform, strict=True)
                )
                if not (same_crs and same_grid):
                    raise ReferenceError_(
                        f"{path.name}: not on the scene's grid (CRS or geotransform differ)"
                    )
            classes = parse_class_description(src.descriptions[0])
            if not classes:
                values = np.unique(src.read(1, out_shape=(min(src.height, 1024), min(src.width, 1024))))
                classes = {str(int(v)): f"class {int(v)}" for v in values[:256]}
    return CheckedReference(path=path, checksum=file_sha256(path), classes=classes)


def _check_boxes(path: Path, grid: Grid) -> CheckedReference:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ReferenceError_(f"{path.name}: not readable GeoJSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ReferenceError_(f"{path.name}: expected a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or len(features) > MAX_BOXES:
        raise ReferenceError_(f"{path.name}: features must be a list of at most {MAX_BOXES} boxes")
    classes: set[str] = set()
    for index, feature in enumerate(features):
        box = _feature_pixel_box(feature, grid)
        if box is None:
            raise ReferenceError_(f"{path.name}: feature {index} is not a finite box inside the scene")
        classes.add(str((feature.get("properties") or {}).get("class", "vehicle")))
    return CheckedReference(
        path=path,
        checksum=file_sha256(path),
        classes={str(i): name for i, name in enumerate(sorted(classes))},
        count=len(features),
    )


def _feature_pixel_box(feature: Any, grid: Grid) -> tuple[float, float, float, float] | None:
    """The feature's box in pixels: its bbox_px property, else its geometry through the scene transform."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties") or {}
    box = props.get("bbox_px")
    if box is None:
        box = _geometry_pixel_box(feature.get("geometry"), grid)
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    finite = all(math.isfinite(v) for v in (x0, y0, x1, y1))
    tol = 1.0
    inside = -tol <= x0 < x1 <= grid.width + tol and -tol <= y0 < y1 <= grid.height + tol
    return (x0, y0, x1, y1) if finite and inside else None


def _geometry_pixel_box(geometry: Any, grid: Grid) -> list[float] | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon" or not grid.transform:
        return None
    try:
        ring = [(float(x), float(y)) for x, y, *_ in geometry["coordinates"][0]]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    a, b, c, d, e, f = grid.transform
    det = a * e - b * d
    if not ring or det == 0:
        return None
    cols = [(e * (x - c) - b * (y - f)) / det for x, y in ring]
    rows = [(-d * (x - c) + a * (y - f)) / det for x, y in ring]
    return [min(cols), min(rows), max(cols), max(rows)]


def reference_store(*, checked: CheckedReference, kind: str) -> Path:
    suffix = ".tif" if kind == "mask" else ".geojson"
    dest = archive_root() / "references" / checked.checksum[:2] / f"{checked.checksum}{suffix}"
    if dest.exists():
        return dest
    if kind == "mask":
        cog_write(checked.path, dest)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".ref-", dir=dest.parent)
        os.close(handle)
        try:
            shutil.copyfile(checked.path, tmp)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return dest


def reference_name(*, spec: "ReferenceSpec", scene: "Scene") -> str:
    if spec.name:
        return slugify(spec.name)[:64]
    stem = spec.path.stem
    for prefix in (scene.name, Path(scene.source_name).stem):
        if prefix and stem.startswith(prefix):
            stem = stem[len(prefix) :]
    return (slugify(stem.replace("_", "-").strip("-_")) or "reference")[:64]


def reference_create(
    *, scene: "Scene", spec: "ReferenceSpec", checked: CheckedReference, stored: Path
) -> "ReferenceLayer":
    from eolabel.archive.models import ReferenceLayer

    return ReferenceLayer.objects.create(
        scene=scene,
        name=reference_name(spec=spec, scene=scene),
        kind=spec.kind,
        asset_path=archive_relative(stored),
        classes=spec.classes or checked.classes,
        checksum=checked.checksum,
    )
