"""Tiny labelling worlds: scenes as database rows only (chips need no file), projects, users and PNG helpers."""

import base64
import io
import itertools
import uuid

import numpy as np
from django.contrib.auth import get_user_model
from django.test import Client
from PIL import Image

from eolabel.archive.models import Scene, Sensor
from eolabel.labelling import services
from eolabel.labelling.models import Membership, Project

CLOUD_CLASSES = [
    {"value": 0, "name": "clear", "colour": "#1b9e77"},
    {"value": 1, "name": "cloud", "colour": "#ffffff"},
    {"value": 2, "name": "shadow", "colour": "#444444"},
]
VEHICLE_CLASSES = [
    {"value": 1, "name": "car", "colour": "#e41a1c"},
    {"value": 2, "name": "truck", "colour": "#377eb8"},
]
UTM_TRANSFORM = [10.0, 0.0, 500000.0, 0.0, -10.0, 4800000.0]  # 10 m pixels in EPSG:32631, near 0.003E 43.3N
_names = itertools.count()


def make_sensor(name: str = "test-rgb") -> Sensor:
    bands = [
        {"name": b, "common_name": b, "wavelength_nm": None, "resolution_m": 10.0}
        for b in ("red", "green", "blue")
    ]
    sensor, _ = Sensor.objects.get_or_create(
        name=name,
        defaults={
            "bands": bands,
            "presets": {"true-colour": {"bands": ["red", "green", "blue"], "rescale": [[0, 255]] * 3}},
            "default_preset": "true-colour",
        },
    )
    return sensor


def make_scene(
    *, sensor: Sensor | None = None, width: int = 64, height: int = 64, georeferenced: bool = True
) -> Scene:
    n = next(_names)
    return Scene.objects.create(
        sensor=sensor or make_sensor(),
        name=f"scene-{n}",
        georeferenced=georeferenced,
        crs="EPSG:32631" if georeferenced else "",
        transform=UTM_TRANSFORM if georeferenced else None,
        asset_path=f"scenes/scene-{n}-{uuid.uuid4().hex}.tif",
        width=width,
        height=height,
        band_count=3,
        dtype="uint8",
        checksum=uuid.uuid4().hex + uuid.uuid4().hex,
        cog_checksum="0" * 64,
    )


def make_user(username: str, *, staff: bool = False):
    return get_user_model().objects.create_user(
        username=username, password=f"pw-{username}-123456", is_staff=staff
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_project(
    *,
    manager,
    scenes: list[Scene] | None = None,
    chip_size: int = 32,
    task_type: str = "cloud-segmentation",
    classes: list[dict] | None = None,
    **settings,
) -> Project:
    scenes = scenes if scenes is not None else [make_scene()]
    sensors = {s.sensor.name for s in scenes} or {make_sensor().name}
    defaults = {"validation_fraction": 0.0}
    if classes is None:
        classes = CLOUD_CLASSES if task_type == "cloud-segmentation" else VEHICLE_CLASSES
    return services.project_create(
        name=f"project-{next(_names)}",
        task_type=task_type,
        classes=classes,
        sensor_names=sorted(sensors),
        scene_ids=[s.pk for s in scenes],
        created_by=manager,
        chip_size=chip_size,
        **{**defaults, **settings},
    )


def add_member(project: Project, user, role: str) -> Membership:
    return Membership.objects.create(project=project, user=user, role=role)


def png_bytes(array: np.ndarray, mode: str = "L") -> bytes:
    """PNG of a uint8 array; mode "P" keeps the values as palette indexes, other modes convert."""
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    if mode == "P":
        image = Image.frombytes("P", image.size, image.tobytes())
        image.putpalette(bytes(range(256)) * 3)
    elif mode != "L":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def png_b64(array: np.ndarray, mode: str = "L") -> str:
    return base64.b64encode(png_bytes(array, mode)).decode()


def mask_for(task: dict, *, seed: int = 0, values=(0, 1, 2, 255)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chip = task["chip"]
    return rng.choice(np.array(values, dtype=np.uint8), size=(chip["height"], chip["width"]))


def submit_mask(client: Client, task: dict, *, array=None, submission_id=None, seconds: float = 12.5):
    array = mask_for(task) if array is None else array
    body = {
        "submission_id": str(submission_id or uuid.uuid4()),
        "seconds_spent": seconds,
        "mask_png": png_b64(array),
    }
    return client.post(f"/api/tasks/{task['id']}/annotations", body, content_type="application/json")


def next_task(client: Client, project: Project):
    return client.post(f"/api/projects/{project.pk}/tasks/next", content_type="application/json")
