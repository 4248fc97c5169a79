"""Loop-latency benchmark: last annotation of a batch -> new model promoted -> ranking updated, on the demo project.

Everything lives in a throwaway place (Django's test database and a temporary archive and registry). A scripted
annotator answers ``tasks/next`` through the API with the demo ground truth until the retraining policy records a
request; the job it starts then runs in this process (``training_job_run``, what a worker runs), so the figure
is the loop's own latency without the broker's pickup delay (the filesystem broker polls about once a second;
Redis delivers in milliseconds). Two rounds: a cold start (a new tiny net) and a fine-tune of the first model.
"""

from __future__ import annotations

import base64
import io
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from eolabel.benchmarks.server import throwaway_database
from eolabel.labelling.classes import DEMO_CLOUD_CLASSES

Say = Callable[[str], None]


@dataclass(frozen=True)
class LoopRound:
    name: str
    labels: int
    submit_s: float  # the last annotation's POST (policy decision included)
    train_s: float
    rest_s: float  # load chips, evaluate candidate and current, register, score the pool, activate
    total_s: float  # last annotation sent -> ranking updated
    version: str
    metric: str


def _answer(client: Client, project) -> bool:
    from eolabel.archive.models import ReferenceLayer
    from eolabel.labelling import codecs
    from eolabel.labelling.models import ProjectChip
    from eolabel.training.services.pixels import reference_mask_read

    task = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
    if task is None:
        return False
    chip = ProjectChip.objects.select_related("chip").get(project=project, chip_id=task["chip"]["id"]).chip
    ref = ReferenceLayer.objects.get(scene_id=chip.scene_id, name="ground-truth")
    mask = reference_mask_read(reference=ref, chip=chip, size=chip.size)[: chip.height, : chip.width]
    body = {
        "mask_png": base64.b64encode(codecs.mask_encode(mask)).decode(),
        "submission_id": str(uuid.uuid4()),
        "seconds_spent": 1.0,
    }
    response = client.post(f"/api/tasks/{task['id']}/annotations", body, content_type="application/json")
    if response.status_code != 201:
        raise RuntimeError(f"annotation refused: {response.content[:200]!r}")
    return True


def _round(client: Client, project, *, name: str) -> LoopRound:
    from eolabel.labelling.models import Project, RetrainRequest
    from eolabel.training.models import ModelVersion, TrainingJob
    from eolabel.training.services.runner import training_job_run

    requests = RetrainRequest.objects.filter(project=project).count()
    while True:
        start = time.perf_counter()
        if not _answer(client, project):
            raise RuntimeError("the demo pool ran dry before the policy asked to retrain")
        submitted = time.perf_counter()
        if RetrainRequest.objects.filter(project=project).count() > requests:
            break
    job = TrainingJob.objects.filter(project=project, state=TrainingJob.State.QUEUED).get()
    outcome = training_job_run(job_id=job.pk)
    job.refresh_from_db()
    done = time.perf_counter()
    if outcome != "succeeded":
        raise RuntimeError(f"the job {outcome}: {job.error or job.message}")
    version = ModelVersion.objects.get(version=job.model_version)
    current = Project.objects.get(pk=project.pk).current_model_version
    train_s = float(version.metrics["training"]["seconds"])
    return LoopRound(
        name=name, labels=version.training_size, submit_s=submitted - start, train_s=train_s,
        rest_s=done - submitted - train_s, total_s=done - start, version=f"{version.version} (current: {current})",
        metric=f"{version.metric_name} {version.metrics.get('value')} vs current {version.metrics.get('current_value')}",
    )  # fmt: skip


def bench_loop_run(*, say: Say = print) -> list[LoopRound]:
    """Two timed loop rounds on the small demo archive (cloud project, 64 px chips, retrain every 2 labels)."""
    from eolabel.archive.models import Scene
    from eolabel.labelling.models import ProjectChip
    from eolabel.labelling.services import policy
    from eolabel.labelling.services.projects import project_create
    from eolabel.training.services.jobs import retrain_request_dispatch

    with tempfile.TemporaryDirectory(prefix="eolabel-bench-loop-") as tmp, throwaway_database():
        work = Path(tmp)
        (work / "archive").mkdir()
        overrides = {
            "ARCHIVE_ROOT": work / "archive",
            "MODEL_REGISTRY_ROOT": work / "models",
            "DEBUG": False,
            "ALLOWED_HOSTS": ["testserver"],
        }
        hook = mock.patch.object(
            policy,
            "retrain_request_created",
            lambda *, request_id: retrain_request_dispatch(request_id=request_id, send=False),
        )
        with override_settings(**overrides), hook:
            say("building the small demo archive ...")
            call_command("make_demo_archive", "--small", "--out", str(work / "demo"), stdout=io.StringIO())
            user = get_user_model().objects.create_user(username="bench", password="bench-pw-123456")
            project = project_create(
                name="bench", task_type="cloud-segmentation", classes=DEMO_CLOUD_CLASSES, sensor_names=["sentinel2-l1c"],
                scene_ids=list(Scene.objects.filter(sensor__name="sentinel2-l1c").values_list("pk", flat=True)),
                created_by=user, chip_size=64, retrain_every_n=2, retrain_min_interval_minutes=0,
                validation_fraction=0.3,
            )  # fmt: skip
            # the split of the end-to-end test: the last three chips of the cold-start order are held out
            chips = list(
                ProjectChip.objects.filter(project=project).order_by("cold_key").values_list("pk", flat=True)
            )
            ProjectChip.objects.filter(pk__in=chips[-3:]).update(is_validation=True)
            ProjectChip.objects.filter(pk__in=chips[:-3]).update(is_validation=False)
            client = Client()
            client.force_login(user)
            return [_round(client, project, name="cold start"), _round(client, project, name="fine-tune")]


def bench_loop_table(rounds: list[LoopRound]) -> str:
    lines = [
        "loop latency: last annotation of a batch -> new model promoted -> ranking updated (in-process worker)",
        f"{'round':<11} {'labels':>6} {'submit s':>9} {'train s':>8} {'eval+reg+score s':>17} {'total s':>8}  version / metric",
    ]
    for r in rounds:
        lines.append(
            f"{r.name:<11} {r.labels:>6} {r.submit_s:>9.3f} {r.train_s:>8.2f} {r.rest_s:>17.2f} {r.total_s:>8.2f}"
            f"  {r.version} {r.metric}"
        )
    return "\n".join(lines)
