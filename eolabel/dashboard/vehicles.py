"""Vehicle analytics: boxes whose centre falls in an area of interest, counted per area and acquisition date.

Predicted boxes are the pre-label boxes (ranking.Prelabel) of the project's current model version; reference
boxes come from the scene's ReferenceLayer of kind ``boxes`` where one exists. Box centres (chip pixels ->
scene pixels -> scene CRS through the scene transform -> EPSG:4326 with pyproj) are tested against the area's
polygon with shapely."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer

from eolabel.archive.models import ReferenceLayer, Scene
from eolabel.archive.paths import archive_resolve
from eolabel.dashboard.models import AreaOfInterest
from eolabel.labelling.models import Project
from eolabel.ranking.models import Prelabel
from ml.metrics import count_errors
from ml.simulate.data import read_vehicle_boxes


@dataclass(frozen=True)
class CountRow:
    area_id: int
    area: str
    date: date | None
    scene_id: int
    scene: str
    predicted: int | None  # None: no pre-label of the version in this scene
    reference: int | None  # None: no reference boxes for this scene


@lru_cache(maxsize=32)
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def scene_pixels_to_lonlat(scene: Scene, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scene pixel coordinates (x right, y down, pixel corners at integers) to lon/lat degrees."""
    transform = Affine(*scene.transform[:6])
    x, y = transform * (np.asarray(cols, dtype=float), np.asarray(rows, dtype=float))
    lon, lat = _to_lonlat(scene.crs).transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def count_in_area(scene: Scene, boxes: np.ndarray, polygon: shapely.Geometry) -> int:
    """How many of ``boxes`` ((M, 4) scene-pixel xyxy) have their centre inside ``polygon`` (EPSG:4326)."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if not len(boxes):
        return 0
    lon, lat = scene_pixels_to_lonlat(scene, (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2)
    return int(shapely.contains_xy(polygon, lon, lat).sum())


def predicted_boxes(*, project: Project, scene: Scene, model_version: str) -> np.ndarray | None:
    """The version's pre-label boxes of the scene in scene pixels, or None when it has none there."""
    prelabels = list(
        Prelabel.objects.filter(
            project=project, model_version=model_version, chip__scene=scene, boxes__isnull=False
        ).select_related("chip")
    )
    if not prelabels:
        return None
    rows = [
        [
            b["x0"] + p.chip.col_off,
            b["y0"] + p.chip.row_off,
            b["x1"] + p.chip.col_off,
            b["y1"] + p.chip.row_off,
        ]
        for p in prelabels
        for b in p.boxes
    ]
    return np.asarray(rows, dtype=float).reshape(-1, 4)


def reference_boxes(*, scene: Scene) -> np.ndarray | None:
    reference = (
        ReferenceLayer.objects.filter(scene=scene, kind=ReferenceLayer.Kind.BOXES).order_by("name").first()
    )
    if reference is None:
        return None
    return read_vehicle_boxes(archive_resolve(reference.asset_path), Affine(*scene.transform[:6]))


def vehicle_counts(*, project: Project, model_version: str | None = None) -> list[CountRow]:
    """One row per (area, scene) whose footprint box meets the area, ordered by area then acquisition date."""
    version = model_version if model_version is not None else project.current_model_version
    areas = list(AreaOfInterest.objects.filter(project=project).order_by("name", "id"))
    scenes = list(
        project.scenes.filter(georeferenced=True, west__isnull=False)
        .exclude(crs="")
        .order_by("acquired", "id")
    )
    cache: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}
    out = []
    for area in areas:
        polygon = shapely.geometry.shape(area.geometry)
        west, south, east, north = polygon.bounds
        for scene in scenes:
            if scene.east < west or scene.west > east or scene.north < south or scene.south > north:
                continue
            if scene.pk not in cache:
                pred = (
                    predicted_boxes(project=project, scene=scene, model_version=version) if version else None
                )
                cache[scene.pk] = (pred, reference_boxes(scene=scene))
            pred, ref = cache[scene.pk]
            out.append(
                CountRow(
                    area_id=area.pk,
                    area=area.name,
                    date=scene.acquired.date() if scene.acquired else None,
                    scene_id=scene.pk,
                    scene=scene.name,
                    predicted=None if pred is None else count_in_area(scene, pred, polygon),
                    reference=None if ref is None else count_in_area(scene, ref, polygon),
                )
            )
    return out


def counts_json(rows: list[CountRow]) -> list[dict[str, Any]]:
    return [
        {
            "area_id": r.area_id,
            "area": r.area,
            "date": r.date.isoformat() if r.date else None,
            "scene_id": r.scene_id,
            "scene": r.scene,
            "predicted": r.predicted,
            "reference": r.reference,
        }
        for r in rows
    ]


def count_errors_per_area(rows: list[CountRow]) -> list[dict[str, Any]]:
    """Per area, the model's counts against the reference counts over the dates that have both, with
    ``ml.metrics.count_errors`` (MAE, MAPE and mean signed error, one unit per acquisition)."""
    by_area: dict[str, tuple[list[int], list[int]]] = {}
    for r in rows:
        if r.predicted is None or r.reference is None:
            continue
        pred, true = by_area.setdefault(r.area, ([], []))
        pred.append(r.predicted)
        true.append(r.reference)
    out = []
    for area, (pred, true) in by_area.items():
        errors = count_errors(pred, true)
        out.append(
            {
                "area": area,
                "dates": errors.n,
                "mae": errors.mae,
                "mape": None if np.isnan(errors.mape) else errors.mape,
                "bias": errors.bias,
            }
        )
    return out


def counts_csv(rows: list[CountRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["area", "date", "scene", "predicted", "reference"])
    for r in rows:
        writer.writerow(
            [
                r.area,
                r.date.isoformat() if r.date else "",
                r.scene,
                "" if r.predicted is None else r.predicted,
                "" if r.reference is None else r.reference,
            ]
        )
    return out.getvalue()


def areas_geojson(*, project: Project) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": a.pk,
                "geometry": a.geometry,
                "properties": {"id": a.pk, "name": a.name},
            }
            for a in AreaOfInterest.objects.filter(project=project).order_by("name", "id")
        ],
    }
