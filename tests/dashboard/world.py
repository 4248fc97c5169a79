"""Tiny dashboard worlds: a 64 x 64 px scene cut into 2 x 2 chips of 32 px, pre-labels, reference layers,
model versions and jobs, all written straight to the database (plus reference files in the archive)."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from django.utils import timezone
from pyproj import Transformer

from eolabel.archive.models import Chip, ReferenceLayer, Scene
from eolabel.labelling.codecs import mask_encode
from eolabel.labelling.models import Annotation, Lease, Project, ProjectChip
from eolabel.ranking.models import ChipScore, Prelabel
from eolabel.training.models import ModelVersion, TrainingJob
from tests.labelling.factories import UTM_TRANSFORM, make_scene

# The reference's classes: thick and thin cloud count as cloud, "cloud shadow" does not.
REFERENCE_CLASSES = {"0": "clear", "1": "thick cloud", "2": "cloud shadow", "3": "thin cloud"}
_to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)


def pixel_lonlat(col: float, row: float, transform=UTM_TRANSFORM) -> tuple[float, float]:
    x, y = Affine(*transform) * (col, row)
    return _to_lonlat.transform(x, y)


def georeferenced_scene(
    *, acquired: datetime | None = None, transform=UTM_TRANSFORM, size: int = 64
) -> Scene:
    """A database-only scene with EPSG:4326 bounds (the factories leave them empty)."""
    scene = make_scene(width=size, height=size)
    corners = [pixel_lonlat(c, r, transform) for c in (0, size) for r in (0, size)]
    lons, lats = zip(*corners, strict=True)
    scene.transform = list(transform)
    scene.west, scene.east, scene.south, scene.north = min(lons), max(lons), min(lats), max(lats)
    scene.acquired = acquired
    scene.save()
    return scene


def chip_at(scene: Scene, col: int, row: int, size: int = 32) -> Chip:
    return Chip.objects.get(scene=scene, size=size, col_off=col, row_off=row)


def prelabel_mask(project: Project, chip: Chip, array: np.ndarray, version: str) -> Prelabel:
    return Prelabel.objects.create(
        project=project, chip=chip, model_version=version, mask_png=mask_encode(array)
    )


def prelabel_boxes(
    project: Project, chip: Chip, boxes: list[tuple[float, float, float, float]], version: str
):
    rows = [{"x0": x0, "y0": y0, "x1": x1, "y1": y1, "class": 1} for x0, y0, x1, y1 in boxes]
    return Prelabel.objects.create(project=project, chip=chip, model_version=version, boxes=rows)


def reference_mask(
    archive: Path, scene: Scene, array: np.ndarray, *, name: str = "ground-truth"
) -> ReferenceLayer:
    relative = f"references/{scene.pk}-{name}.tif"
    path = archive / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32631",
        "transform": Affine(*scene.transform),
        "nodata": 255,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(np.uint8), 1)
    return ReferenceLayer.objects.create(
        scene=scene, name=name, kind="mask", asset_path=relative, classes=REFERENCE_CLASSES, checksum="0" * 64
    )


def reference_boxes(
    archive: Path, scene: Scene, boxes: list[tuple[float, float, float, float]]
) -> ReferenceLayer:
    relative = f"references/{scene.pk}-vehicles.geojson"
    path = archive / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    features = [{"type": "Feature", "geometry": None, "properties": {"bbox_px": list(b)}} for b in boxes]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return ReferenceLayer.objects.create(
        scene=scene, name="vehicles", kind="boxes", asset_path=relative, classes={}, checksum="1" * 64
    )


def annotate(
    project: Project,
    chip: Chip,
    user,
    *,
    array=None,
    boxes=None,
    seconds=10.0,
    created=None,
    editor=None,
    reviewer=None,
):
    """An annotation written directly (with its lease), ``created`` defaulting to now; ``reviewer`` accepts it
    (``editor`` too, when given, as a correction)."""
    pc = ProjectChip.objects.get(project=project, chip=chip)
    moment = created or timezone.now()
    lease = Lease.objects.create(
        project=project,
        project_chip=pc,
        user=user,
        state=Lease.State.SUBMITTED,
        leased_at=moment,
        expires_at=moment + timedelta(minutes=15),
        ended_at=moment,
        strategy="random",
    )
    kind = "mask" if array is not None else "boxes"
    annotation = Annotation.objects.create(
        project=project,
        project_chip=pc,
        lease=lease,
        author=user,
        submission_id=uuid.uuid4(),
        kind=kind,
        mask_png=mask_encode(array) if array is not None else None,
        boxes=boxes if kind == "boxes" else None,
        seconds_spent=seconds,
        strategy="random",
        updated_by=editor or user,
        updated=moment,
    )
    Annotation.objects.filter(pk=annotation.pk).update(created=moment)
    if reviewer is not None:
        Annotation.objects.filter(pk=annotation.pk).update(
            review_state="corrected" if editor is not None else "accepted",
            reviewed_by=reviewer,
            reviewed_at=moment,
            reviewed_version=1,
        )
    return annotation


def model_version(
    project: Project, number: int, *, size: int, metric: float, promoted: bool = False
) -> ModelVersion:
    version = ModelVersion.objects.create(
        project=project,
        version=f"project-{project.pk}/v{number}",
        parent=f"project-{project.pk}/v{number - 1}" if number > 1 else "",
        task="cloud",
        training_size=size,
        training_fingerprint=uuid.uuid4().hex,
        metric_name="f2",
        metric=metric,
        metrics={"f2": metric},
        promoted=promoted,
    )
    return version


def job(
    project: Project, *, state: str = "succeeded", progress: float = 1.0, log: str = "", kind: str = "retrain"
):
    return TrainingJob.objects.create(
        project=project,
        kind=kind,
        state=state,
        progress=progress,
        log=log,
        message=f"{state} at {progress:.0%}",
        heartbeat=timezone.now() if state == "running" else None,
    )


def scores(project: Project, version: str, values: dict[int, float]) -> None:
    ChipScore.objects.bulk_create(
        [
            ChipScore(
                project=project, chip_id=chip_id, model_version=version, strategy="entropy", score=value
            )
            for chip_id, value in values.items()
        ]
    )


def utc(day: int) -> datetime:
    return datetime(2024, 6, day, 10, 30, tzinfo=UTC)
