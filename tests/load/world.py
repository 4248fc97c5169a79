"""A small project with data in every table the API reads: one tiny ingested COG (so tiles render), its
chips in a segmentation project, a manager who holds a lease and has submitted an annotation, scores and a
pre-label of one model version. Shared by the fuzzing and load tests."""

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eolabel.archive.models import Scene
from eolabel.archive.services import scene_ingest
from eolabel.dashboard.models import AreaOfInterest
from eolabel.dashboard.services import area_of_interest_create
from eolabel.labelling import services
from eolabel.labelling.codecs import mask_encode
from eolabel.labelling.models import Annotation, Lease, Project
from eolabel.ranking.models import ChipScore, Prelabel, Strategy
from fixtures.tiny import make_geotiff
from tests.labelling.factories import CLOUD_CLASSES, make_user

SENSOR = "landsat-tm-etm-6band"
MODEL_VERSION = "v1"


@dataclass(frozen=True)
class World:
    manager: object
    project: Project
    scene: Scene
    task: Lease
    annotation: Annotation
    area: AreaOfInterest


def build_world(*, archive_root: Path, size: int = 64, chip_size: int = 32) -> World:
    """Ingest a ``size`` px 6-band COG and make a project over it; the manager leases and submits one chip,
    then holds a lease on a second."""
    source = make_geotiff(
        archive_root / "incoming.tif", width=size, height=size, bands=6, dtype="uint16", seed=3
    )
    scene = scene_ingest(path=source, sensor_name=SENSOR).scene
    manager = make_user(f"fuzz-manager-{uuid.uuid4().hex[:8]}", staff=True)
    project = services.project_create(
        name="fuzz",
        task_type="cloud-segmentation",
        classes=CLOUD_CLASSES,
        sensor_names=[SENSOR],
        scene_ids=[scene.pk],
        created_by=manager,
        chip_size=chip_size,
        validation_fraction=0.0,
        retrain_every_n=1_000_000,
    )
    _rank(project)
    first = services.lease_next(project=project, user=manager).lease
    mask = np.zeros((chip_size, chip_size), np.uint8)
    mask[: chip_size // 2] = 1
    annotation = services.annotation_submit(
        lease=first,
        user=manager,
        submission_id=uuid.uuid4(),
        seconds_spent=3.0,
        mask_png=mask_encode(mask),
    ).annotation
    task = services.lease_next(project=project, user=manager).lease
    west, south, east, north = scene.bounds
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    area = area_of_interest_create(
        project=project,
        name="car park",
        geometry={"type": "Polygon", "coordinates": [ring]},
        created_by=manager,
    )
    return World(manager=manager, project=project, scene=scene, task=task, annotation=annotation, area=area)


def _rank(project: Project) -> None:
    chips = list(project.project_chips.select_related("chip").order_by("pk"))
    ChipScore.objects.bulk_create(
        ChipScore(
            project=project,
            chip_id=pc.chip_id,
            model_version=MODEL_VERSION,
            strategy=Strategy.ENTROPY,
            score=1.0 / (i + 1),
        )
        for i, pc in enumerate(chips)
    )
    Prelabel.objects.bulk_create(
        Prelabel(
            project=project,
            chip_id=pc.chip_id,
            model_version=MODEL_VERSION,
            mask_png=mask_encode(np.zeros((pc.chip.height, pc.chip.width), np.uint8)),
        )
        for pc in chips
    )
    services.project_ranking_activate(project=project, model_version=MODEL_VERSION)


def mask_b64(*, width: int, height: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return base64.b64encode(mask_encode(rng.integers(0, 3, size=(height, width), dtype=np.uint8))).decode()
