"""Two projects side by side: A, managed by the outsider ``eve`` (staff), and B, where eve has no role. B holds
one of everything a route can name: a scene with a real COG, chips, a submitted annotation, an active lease,
a training job, a model version row and an area of interest."""

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.contrib.auth.models import User

from eolabel.archive.models import Scene
from eolabel.archive.services import scene_ingest
from eolabel.dashboard.models import AreaOfInterest
from eolabel.labelling.models import Annotation, Lease, Project
from eolabel.labelling.services import annotation_submit, lease_next
from eolabel.training.models import ModelVersion, TrainingJob
from eolabel.training.services.registry import registry_name
from fixtures.tiny import make_geotiff
from tests.labelling.factories import add_member, make_project, make_user, png_bytes

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[1.0, 43.0], [1.1, 43.0], [1.1, 43.1], [1.0, 43.1], [1.0, 43.0]]],
}
# Every table whose rows a request could change; users are compared without last_login (set by logging in).
SNAPSHOT_APPS = ("archive", "labelling", "ranking", "training", "dashboard")


@dataclass
class World:
    eve: User
    project_a: Project
    project_b: Project
    manager_b: User
    annotator_b: User
    scene_b: Scene
    lease_b: Lease
    annotation_b: Annotation
    job_b: TrainingJob
    version_b: ModelVersion
    area_b: AreaOfInterest


def real_scene(tmp_path: Path, name: str, seed: int) -> Scene:
    source = make_geotiff(tmp_path / f"{name}.tif", width=64, height=64, bands=3, dtype="uint8", seed=seed)
    return scene_ingest(path=source, new_sensor="sec-rgb", chip_size=32).scene


@pytest.fixture
def world(db, archive_root, tmp_path) -> World:
    eve = make_user("eve", staff=True)
    manager_b = make_user("mona", staff=True)
    annotator_b = make_user("bert")
    scene_a = real_scene(tmp_path, "scene-a", seed=1)
    scene_b = real_scene(tmp_path, "scene-b", seed=2)
    project_a = make_project(manager=eve, scenes=[scene_a])
    project_b = make_project(manager=manager_b, scenes=[scene_b])
    add_member(project_b, annotator_b, "annotator")
    first = lease_next(project=project_b, user=annotator_b).lease
    annotation = annotation_submit(
        lease=first,
        user=annotator_b,
        submission_id=uuid.uuid4(),
        mask_png=png_bytes(np.zeros((32, 32), np.uint8)),
        seconds_spent=3,
    ).annotation
    held = lease_next(project=project_b, user=annotator_b).lease
    job = TrainingJob.objects.create(project=project_b, reason="seeded", state=TrainingJob.State.SUCCEEDED)
    version = ModelVersion.objects.create(
        project=project_b,
        version=f"{registry_name(project_id=project_b.pk)}/v1",
        job=job,
        task="segmentation",
        training_size=1,
        training_fingerprint="0" * 64,
        metric_name="f2",
        metric=0.5,
    )
    area = AreaOfInterest.objects.create(
        project=project_b, name="port", geometry=SQUARE, created_by=manager_b
    )
    return World(
        eve=eve,
        project_a=project_a,
        project_b=project_b,
        manager_b=manager_b,
        annotator_b=annotator_b,
        scene_b=scene_b,
        lease_b=held,
        annotation_b=annotation,
        job_b=job,
        version_b=version,
        area_b=area,
    )


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every eolabel table (all fields), and the users without last_login."""
    tables: dict[str, list[tuple]] = {}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = model.objects.order_by("pk").values_list()
            tables[model._meta.label] = [tuple(map(repr, row)) for row in rows]
    users = User.objects.order_by("pk").values_list("pk", "username", "password", "is_staff", "is_superuser")
    tables["auth.User"] = list(users)
    return tables
