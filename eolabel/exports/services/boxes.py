"""Boxes as GeoJSON in the scene CRS and as COCO JSON (chips as images, boxes in chip pixels)."""

import json
from collections import Counter
from typing import Any, BinaryIO

from eolabel.archive.models import Scene
from eolabel.exports.errors import CorruptAnnotation
from eolabel.exports.selectors import SELECTION_RULE, ChipLabel, export_labels, label_contents
from eolabel.exports.services._common import class_names, crs_member, format_check, safe_name
from eolabel.labelling.models import Project

Affine6 = tuple[float, float, float, float, float, float]


def box_ring(
    *, box: dict[str, Any], col_off: int, row_off: int, transform: Affine6 | None
) -> list[list[float]]:
    """The closed ring of a chip-relative pixel box in map coordinates (scene pixels when ``transform`` is
    None): chip pixels + the chip's offset -> scene pixels -> ``x = a*col + b*row + c, y = d*col + e*row + f``.
    Corners go top-left, bottom-left, bottom-right, top-right: counter-clockwise on a north-up grid."""
    x0, y0 = float(box["x0"]) + col_off, float(box["y0"]) + row_off
    x1, y1 = float(box["x1"]) + col_off, float(box["y1"]) + row_off
    corners = [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    if transform is None:
        return [[col, row] for col, row in corners]
    a, b, c, d, e, f = transform
    return [[a * col + b * row + c, d * col + e * row + f] for col, row in corners]


def export_geojson(*, project: Project, out: BinaryIO) -> dict[str, int]:
    """One FeatureCollection for the project: a Polygon per box in its scene's CRS, with the scene, chip,
    class, annotation, author and version in its properties, plus ``bbox_px`` (scene pixels, which
    eolabel.archive reads back as a reference layer). The top-level ``crs`` member names the scenes' CRS when
    they share one (null when they differ or none is georeferenced; each feature's ``crs`` property then says);
    non-georeferenced scenes give coordinates in scene pixels."""
    format_check(project=project, fmt="geojson")
    labels = export_labels(project=project)
    scenes = Scene.objects.in_bulk({label.scene_id for label in labels})
    names = class_names(project)
    features = [
        _feature(label, box, scenes[label.scene_id], names)
        for label, boxes in label_contents(labels=labels, field="boxes")
        for box in _boxes(label, boxes)
    ]
    crss = {scenes[s].crs or None for s in scenes}
    collection = {
        "type": "FeatureCollection",
        "crs": crs_member(crss.pop()) if len(crss) == 1 else None,
        "properties": {"project": project.pk, "project_name": project.name, "rule": SELECTION_RULE},
        "features": features,
    }
    out.write(json.dumps(collection).encode())
    return {"chips": len(labels), "boxes": len(features)}


def _feature(label: ChipLabel, box: dict[str, Any], scene: Scene, names: dict[int, str]) -> dict[str, Any]:
    geo = scene.georeferenced and bool(scene.crs) and bool(scene.transform)
    transform = tuple(scene.transform[:6]) if geo else None
    ring = box_ring(box=box, col_off=label.col_off, row_off=label.row_off, transform=transform)
    annotation = label.annotation
    cls = int(box["class"])
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "scene": scene.pk,
            "scene_name": scene.name,
            "chip": label.chip_id,
            "class": cls,
            "class_name": names.get(cls, str(cls)),
            "annotation": annotation.pk,
            "author": annotation.author_id,
            "version": annotation.version,
            "crs": scene.crs if geo else None,
            "bbox_px": [
                float(box["x0"]) + label.col_off,
                float(box["y0"]) + label.row_off,
                float(box["x1"]) + label.col_off,
                float(box["y1"]) + label.row_off,
            ],
        },
    }


def export_coco(*, project: Project, out: BinaryIO) -> dict[str, int]:
    """COCO detection JSON. Images are the annotated chips (``<scene>_<col_off>_<row_off>.tif``, offsets in scene
    pixels; chips whose annotation has no box stay as negative images); image id = chip id; annotation ids run
    from 1; ``bbox`` is [x, y, w, h] in chip pixels; category id = class value + 1 (COCO keeps 0 for
    background), the class value itself in ``eolabel_value``."""
    format_check(project=project, fmt="coco")
    labels = export_labels(project=project)
    scenes = Scene.objects.in_bulk({label.scene_id for label in labels})
    images, annotations = [], []
    for label, boxes in label_contents(labels=labels, field="boxes"):
        scene = scenes[label.scene_id]
        stem = safe_name(scene.name, fallback=f"scene-{scene.pk}")
        images.append(
            {
                "id": label.chip_id,
                "file_name": f"{stem}_{label.col_off}_{label.row_off}.tif",
                "width": label.width,
                "height": label.height,
                "scene": scene.pk,
                "chip": label.chip_id,
            }
        )
        for box in _boxes(label, boxes):
            annotations.append(_coco_annotation(len(annotations) + 1, label, box))
    counts = Counter(a["category_id"] for a in annotations)
    document = {
        "info": {"description": f"eolabel project {project.pk}: {project.name}", "rule": SELECTION_RULE},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [
            {
                "id": int(c["value"]) + 1,
                "name": c["name"],
                "supercategory": "object",
                "eolabel_value": c["value"],
            }
            for c in sorted(project.classes, key=lambda c: c["value"])
        ],
    }
    out.write(json.dumps(document).encode())
    return {"images": len(images), "annotations": len(annotations), "categories": len(counts)}


def _coco_annotation(annotation_id: int, label: ChipLabel, box: dict[str, Any]) -> dict[str, Any]:
    x0, y0, x1, y1 = (float(box[k]) for k in ("x0", "y0", "x1", "y1"))
    w, h = x1 - x0, y1 - y0
    return {
        "id": annotation_id,
        "image_id": label.chip_id,
        "category_id": int(box["class"]) + 1,
        "bbox": [x0, y0, w, h],
        "area": w * h,
        "iscrowd": 0,
        "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
        "eolabel_annotation": label.annotation.pk,
        "eolabel_author": label.annotation.author_id,
        "eolabel_version": label.annotation.version,
    }


def _boxes(label: ChipLabel, boxes: Any) -> list[dict[str, Any]]:
    if not isinstance(boxes, list) or not all(
        isinstance(b, dict) and {"x0", "y0", "x1", "y1", "class"} <= set(b) for b in boxes
    ):
        raise CorruptAnnotation(
            f"annotation {label.annotation.pk}: boxes are not [{{x0, y0, x1, y1, class}}]"
        )
    return boxes
