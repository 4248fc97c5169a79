"""Masks as GeoTIFFs: one uint8 GeoTIFF per scene on the scene's own grid, zipped.

Each chosen annotation's mask goes into its chip's window; every other pixel is 255 (unlabelled, the file's
nodata). Non-georeferenced scenes give plain pixel-grid TIFFs (no CRS, no geotransform). The band description
lists the classes as "0 clear, 1 cloud" and the tags hold the class table, project and selection rule."""

import io
import json
import tempfile
import warnings
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO

import numpy as np
import rasterio
from affine import Affine
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from eolabel.archive.ingest.raster import gdal_env
from eolabel.archive.models import Scene
from eolabel.exports.errors import CorruptAnnotation
from eolabel.exports.selectors import SELECTION_RULE, ChipLabel, export_labels, label_contents
from eolabel.exports.services._common import class_description, format_check, safe_name
from eolabel.labelling.classes import IGNORE_VALUE
from eolabel.labelling.models import Project

BLOCK = 256


def export_geotiff(*, project: Project, out: BinaryIO) -> dict[str, int]:
    """Write a zip of ``<scene>.tif`` (one per scene with at least one annotated chip) and ``export.json``
    (project, classes, rule, files) to ``out``. Returns {"scenes": n, "chips": m}."""
    format_check(project=project, fmt="geotiff")
    labels = export_labels(project=project)
    by_scene: dict[int, list[ChipLabel]] = defaultdict(list)
    for label in labels:
        by_scene[label.scene_id].append(label)
    scenes = Scene.objects.in_bulk(list(by_scene))
    manifest: dict = {
        "project": {"id": project.pk, "name": project.name, "task_type": project.task_type},
        "classes": project.classes,
        "nodata": IGNORE_VALUE,
        "rule": SELECTION_RULE,
        "files": [],
    }
    used: set[str] = set()
    with (
        tempfile.TemporaryDirectory(prefix="eolabel-export-") as tmp,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for scene_id in sorted(by_scene):
            scene = scenes[scene_id]
            name = _unique(safe_name(scene.name, fallback=f"scene-{scene.pk}"), used) + ".tif"
            path = Path(tmp) / name
            scene_mask_write(path=path, scene=scene, labels=by_scene[scene_id], project=project)
            archive.write(path, arcname=name, compress_type=zipfile.ZIP_STORED)  # already deflated inside
            path.unlink()
            manifest["files"].append(
                {
                    "file": name,
                    "scene": scene.pk,
                    "scene_name": scene.name,
                    "crs": scene.crs or None,
                    "chips": [label.chip_id for label in by_scene[scene_id]],
                    "annotations": [label.annotation.pk for label in by_scene[scene_id]],
                }
            )
        archive.writestr("export.json", json.dumps(manifest, indent=2))
    return {"scenes": len(by_scene), "chips": len(labels)}


def scene_mask_write(*, path: Path, scene: Scene, labels: list[ChipLabel], project: Project) -> None:
    """One scene's mask GeoTIFF: filled with 255 block by block (bounded memory), then each chip's mask."""
    profile = {
        "driver": "GTiff",
        "width": scene.width,
        "height": scene.height,
        "count": 1,
        "dtype": "uint8",
        "nodata": IGNORE_VALUE,
        "compress": "deflate",
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
    }
    if scene.georeferenced and scene.crs and scene.transform:
        profile.update(crs=scene.crs, transform=Affine(*scene.transform[:6]))
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            for _, window in dst.block_windows(1):
                dst.write(np.full((window.height, window.width), IGNORE_VALUE, np.uint8), 1, window=window)
            for label, data in label_contents(labels=labels, field="mask_png"):
                mask = mask_array(label, data)
                dst.write(mask, 1, window=Window(label.col_off, label.row_off, label.width, label.height))
            dst.set_band_description(1, class_description(project))
            dst.update_tags(
                EOLABEL_PROJECT=str(project.pk),
                EOLABEL_SCENE=str(scene.pk),
                EOLABEL_CLASSES=json.dumps(project.classes),
                EOLABEL_RULE=SELECTION_RULE,
            )
            dst.update_tags(1, **{f"CLASS_{c['value']}": c["name"] for c in project.classes})
            dst.write_colormap(1, _colormap(project))


def mask_array(label: ChipLabel, data: bytes | memoryview | None) -> np.ndarray:
    """The annotation's mask PNG as a (height, width) uint8 array, checked against its chip's size."""
    if data is None:
        raise CorruptAnnotation(f"annotation {label.annotation.pk} has no mask")
    try:
        with Image.open(io.BytesIO(bytes(data)), formats=["PNG"]) as image:
            array = np.array(image, dtype=np.uint8)
    except Exception as exc:  # Pillow raises many types on bad data
        raise CorruptAnnotation(f"annotation {label.annotation.pk}: mask cannot be decoded ({exc})") from exc
    if array.shape != (label.height, label.width):
        raise CorruptAnnotation(
            f"annotation {label.annotation.pk}: mask is {array.shape[1]}x{array.shape[0]} px, "
            f"chip {label.chip_id} is {label.width}x{label.height} px"
        )
    return array


def _colormap(project: Project) -> dict[int, tuple[int, int, int, int]]:
    colours = {i: (0, 0, 0, 0) for i in range(256)}
    for entry in project.classes:
        hexa = entry["colour"].lstrip("#")
        colours[int(entry["value"])] = (int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16), 255)
    return colours


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}-{n}"
    used.add(candidate)
    return candidate
