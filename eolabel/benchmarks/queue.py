"""Queue benchmark: latency of ``POST /api/projects/<id>/tasks/next`` with 1 and 20 concurrent annotators.

Each virtual annotator is a thread with its own logged-in session and keep-alive HTTP connection to the server
on 127.0.0.1; it asks for its next task, submits a mask for it (``POST /api/tasks/<id>/annotations``), and asks
again, ``tasks`` times. All start together behind a barrier. Each concurrency level gets a fresh project shaped
like the demo cloud project (Sentinel-2 scene grids of 512 x 512 px at 10 m in EPSG:32631, the demo classes),
as database rows only: the queue never reads pixels. Nothing touches the configured database when the command
runs it in a throwaway one (``throwaway_database``)."""

import base64
import http.client
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from eolabel.archive.models import Scene, Sensor
from eolabel.labelling.codecs import mask_encode
from eolabel.labelling.models import Membership, Project, Role
from eolabel.labelling.services import project_create

Say = Callable[[str], None]
SCENE_SIZE = 512
CHIP_SIZE = 32
DEMO_CLASSES = [
    {"value": 0, "name": "clear", "colour": "#1b9e77"},
    {"value": 1, "name": "cloud", "colour": "#f0f0f0"},
    {"value": 2, "name": "shadow", "colour": "#444444"},
    {"value": 3, "name": "snow", "colour": "#80b1d3"},
]
TRANSFORM_10M = [10.0, 0.0, 300000.0, 0.0, -10.0, 4900000.0]  # EPSG:32631, west of Toulouse


@dataclass(frozen=True)
class LevelResult:
    """One concurrency level: every ``tasks/next`` and submit latency in seconds, and what went wrong."""

    annotators: int
    next_s: tuple[float, ...]
    submit_s: tuple[float, ...]
    wall_s: float
    chips_annotated: int
    distinct_chips: int
    errors: tuple[str, ...] = field(default=())

    def next_ms(self, q: float) -> float:
        return float(np.percentile(self.next_s, q) * 1000) if self.next_s else math.nan

    def submit_ms(self, q: float) -> float:
        return float(np.percentile(self.submit_s, q) * 1000) if self.submit_s else math.nan

    @property
    def tasks_per_s(self) -> float:
        return len(self.submit_s) / self.wall_s if self.wall_s else 0.0


def bench_queue(
    *,
    port: int,
    annotators: Sequence[int],
    tasks: int,
    queue_chips: int = 1024,
    deadline_s: float = 90.0,
    say: Say = print,
) -> list[LevelResult]:
    """Run each concurrency level against the server on 127.0.0.1:``port`` in the current database, each on a
    fresh project of at least ``queue_chips`` chips (more when annotators x tasks needs more)."""
    results = []
    stop_at = time.monotonic() + deadline_s
    for level, count in enumerate(annotators):
        project = bench_project(chips_needed=max(queue_chips, count * tasks), tag=f"{level}-{count}")
        cookies = [_session_cookie(project, f"bench-{project.pk}-{i}") for i in range(count)]
        say(
            f"  {count} annotator(s) x {tasks} task(s) on a queue of {project.project_chips.count()} chips ..."
        )
        results.append(_level(port=port, project=project, cookies=cookies, tasks=tasks, stop_at=stop_at))
    return results


def bench_project(*, chips_needed: int, tag: str) -> Project:
    """A cloud-segmentation project over enough demo-like scene rows for ``chips_needed`` chips."""
    per_scene = (SCENE_SIZE // CHIP_SIZE) ** 2
    sensor = Sensor.objects.get(name="sentinel2-l1c")
    scenes = [_scene_row(sensor, f"{tag}-{i}") for i in range(max(1, math.ceil(chips_needed / per_scene)))]
    manager, _ = get_user_model().objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
    return project_create(
        name=f"bench-queue-{tag}",
        task_type="cloud-segmentation",
        classes=DEMO_CLASSES,
        sensor_names=[sensor.name],
        scene_ids=[s.pk for s in scenes],
        created_by=manager,
        chip_size=CHIP_SIZE,
        validation_fraction=0.1,
        retrain_every_n=1_000_000,  # the bench measures the queue, not the retraining policy's requests
    )


def bench_table(results: Sequence[LevelResult]) -> str:
    head = f"{'annotators':>10} {'next p50':>9} {'next p95':>9} {'submit p50':>11} {'submit p95':>11} {'tasks/s':>8} {'n':>5}"
    lines = [head, f"{'':>10} {'ms':>9} {'ms':>9} {'ms':>11} {'ms':>11}"]
    for r in results:
        lines.append(
            f"{r.annotators:>10} {r.next_ms(50):>9.1f} {r.next_ms(95):>9.1f} {r.submit_ms(50):>11.1f} "
            f"{r.submit_ms(95):>11.1f} {r.tasks_per_s:>8.1f} {len(r.next_s):>5}"
        )
    return "\n".join(lines)


def _scene_row(sensor: Sensor, tag: str) -> Scene:
    name = f"S2B_MSIL1C_20240612T103629_bench_{tag}"
    return Scene.objects.create(
        sensor=sensor,
        name=name,
        georeferenced=True,
        crs="EPSG:32631",
        transform=TRANSFORM_10M,
        asset_path=f"bench/{uuid.uuid4().hex}.tif",
        width=SCENE_SIZE,
        height=SCENE_SIZE,
        band_count=13,
        dtype="uint16",
        checksum=uuid.uuid4().hex * 2,
        cog_checksum="0" * 64,
    )


def _session_cookie(project: Project, username: str) -> str:
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _level(*, port: int, project: Project, cookies: list[str], tasks: int, stop_at: float) -> LevelResult:
    barrier = threading.Barrier(len(cookies) + 1)
    lock = threading.Lock()
    next_s: list[float] = []
    submit_s: list[float] = []
    chips: list[int] = []
    errors: list[str] = []

    def annotator(cookie: str, seed: int) -> None:
        worker = _Annotator(port=port, project_id=project.pk, cookie=cookie, seed=seed)
        barrier.wait()
        try:
            for _ in range(tasks):
                if time.monotonic() > stop_at:
                    raise TimeoutError("deadline reached")
                waited, task = worker.next_task()
                with lock:
                    next_s.append(waited)
                if task is None:
                    raise RuntimeError("the queue ran dry")
                submitted = worker.submit(task)
                with lock:
                    submit_s.append(submitted)
                    chips.append(task["chip"]["id"])
        except Exception as exc:  # noqa: BLE001 - the bench reports what broke instead of dying
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            worker.close()
            connections.close_all()

    threads = [threading.Thread(target=annotator, args=(c, i), daemon=True) for i, c in enumerate(cookies)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return LevelResult(
        annotators=len(cookies),
        next_s=tuple(next_s),
        submit_s=tuple(submit_s),
        wall_s=time.perf_counter() - started,
        chips_annotated=len(chips),
        distinct_chips=len(set(chips)),
        errors=tuple(errors),
    )


class _Annotator:
    """One virtual annotator: a session cookie, a CSRF token of its own, a keep-alive connection."""

    def __init__(self, *, port: int, project_id: int, cookie: str, seed: int) -> None:
        self.port, self.project_id = port, project_id
        self.csrf = uuid.uuid4().hex  # a 32-character secret: the same value as cookie and header passes CSRF
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={cookie}; {settings.CSRF_COOKIE_NAME}={self.csrf}"
        self.rng = np.random.default_rng(seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def next_task(self) -> tuple[float, dict | None]:
        seconds, body = self._post(f"/api/projects/{self.project_id}/tasks/next", {})
        return seconds, body["task"]

    def submit(self, task: dict) -> float:
        chip = task["chip"]
        mask = self.rng.integers(0, 4, size=(chip["height"], chip["width"]), dtype=np.uint8)
        payload = {
            "submission_id": str(uuid.uuid4()),
            "seconds_spent": 5.0,
            "mask_png": base64.b64encode(mask_encode(mask)).decode(),
        }
        seconds, _ = self._post(f"/api/tasks/{task['id']}/annotations", payload)
        return seconds

    def _post(self, path: str, payload: dict) -> tuple[float, dict]:
        data = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Cookie": self.cookie,
            "X-CSRFToken": self.csrf,
            "Host": f"127.0.0.1:{self.port}",
        }
        started = time.perf_counter()
        self.conn.request("POST", path, body=data, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
        if response.status >= 300:
            raise RuntimeError(f"POST {path}: HTTP {response.status} {body[:200]!r}")
        return seconds, json.loads(body)

    def close(self) -> None:
        self.conn.close()
