"""The whole active-learning loop against a real Celery worker: a scripted annotator answers tasks/next from the
demo ground truth through the API, the policy asks for retraining, the worker trains a cold-start version, then
a better one after more labels, and the queue's ranking follows the new model."""

import base64
import inspect
import uuid

import pytest
from django.core.management import call_command

from eolabel.archive.models import Scene
from eolabel.labelling import codecs
from eolabel.labelling.models import Project, ProjectChip, RetrainRequest
from eolabel.labelling.services import policy
from eolabel.labelling.services.projects import project_create
from eolabel.training.models import ModelVersion, TrainingJob
from eolabel.training.services.jobs import retrain_request_dispatch
from tests.training.conftest import CLOUD_CLASSES, truth_mask
from tests.worker import wait_for, worker_process


def _connect_policy(monkeypatch) -> None:
    """Until the labelling policy's hook calls the trainer itself, connect it here (the same call it will make)."""
    if "retrain_request_dispatch" not in inspect.getsource(policy.retrain_request_created):
        monkeypatch.setattr(policy, "retrain_request_created", retrain_request_dispatch)


def _answer_next(client, project: Project) -> ProjectChip | None:
    """One scripted annotation: take the next task, draw the ground truth, submit it through the API."""
    reply = client.post(f"/api/projects/{project.pk}/tasks/next").json()
    if reply["task"] is None:
        return None
    task = reply["task"]
    project_chip = ProjectChip.objects.select_related("chip").get(project=project, chip_id=task["chip"]["id"])
    png = codecs.mask_encode(truth_mask(project_chip))
    body = {
        "mask_png": base64.b64encode(png).decode(),
        "submission_id": str(uuid.uuid4()),
        "seconds_spent": 3.0,
    }
    response = client.post(f"/api/tasks/{task['id']}/annotations", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return project_chip


def _annotate_until_request(client, project: Project, *, requests: int) -> None:
    while RetrainRequest.objects.filter(project=project).count() < requests:
        assert _answer_next(client, project) is not None, (
            "the queue ran dry before the policy asked to retrain"
        )


def _finished_jobs(project: Project, n: int) -> list[TrainingJob]:
    jobs = list(TrainingJob.objects.filter(project=project, kind="retrain").order_by("pk"))
    done = [j for j in jobs if j.state in (TrainingJob.State.SUCCEEDED, TrainingJob.State.FAILED)]
    return done if len(done) >= n else []


def _pool_ranking(project: Project) -> list[tuple[int, float | None]]:
    chips = ProjectChip.objects.filter(project=project).exclude(state=ProjectChip.State.DONE)
    return list(chips.order_by("-score", "rank", "cold_key").values_list("chip_id", "score"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_loop_retrains_promotes_a_better_model_and_reranks(
    archive_root, builtin_sensors, settings, tmp_path, client, django_user_model, monkeypatch
):
    # given the small demo archive and a cloud project over its Sentinel-2 scenes (8 chips of 64 px)
    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    call_command("make_demo_archive", "--small", "--out", str(tmp_path / "demo"))
    manager = django_user_model.objects.create_user(username="mia", password="pw-mia-123456")
    project = project_create(
        name="clouds", task_type="cloud-segmentation", classes=CLOUD_CLASSES, sensor_names=["sentinel2-l1c"],
        scene_ids=list(Scene.objects.filter(sensor__name="sentinel2-l1c").values_list("pk", flat=True)),
        created_by=manager, chip_size=64, retrain_every_n=2, retrain_min_interval_minutes=0,
        validation_fraction=0.3,
    )  # fmt: skip
    # a fixed split (the hash split depends on database ids): three validation chips, five training chips
    chips = list(ProjectChip.objects.filter(project=project).order_by("cold_key"))
    ProjectChip.objects.filter(pk__in=[pc.pk for pc in chips[-3:]]).update(is_validation=True)
    ProjectChip.objects.filter(pk__in=[pc.pk for pc in chips[:-3]]).update(is_validation=False)
    _connect_policy(monkeypatch)
    client.force_login(manager)
    monkeypatch.setenv(
        "EOLABEL_TRAIN_THREADS", "1"
    )  # the worker's settings: one thread copes best with a busy box
    # the first (cold-start) model gets a short training, the fine-tune a full one, so the second version's
    # gain does not hinge on the luck of two tiny trainings on a busy machine
    monkeypatch.setenv("EOLABEL_TRAIN_STEPS", "25")
    with worker_process():
        # when the annotator labels until the policy asks for a first model (2 training chips)
        _annotate_until_request(client, project, requests=1)
        first = wait_for(lambda: _finished_jobs(project, 1), timeout=150)[0]
        assert first.state == TrainingJob.State.SUCCEEDED, first.error or first.log
    project.refresh_from_db()
    v1 = ModelVersion.objects.get(version=first.model_version)
    ranking_v1 = _pool_ranking(project)
    monkeypatch.setenv("EOLABEL_TRAIN_STEPS", "150")
    with worker_process():
        # and labels more chips, served in the first model's order, until the policy asks again
        _annotate_until_request(client, project, requests=2)
        second = wait_for(lambda: _finished_jobs(project, 2), timeout=150)[1]
        assert second.state == TrainingJob.State.SUCCEEDED, second.error or second.log
    project.refresh_from_db()
    v2 = ModelVersion.objects.get(version=second.model_version)

    # then a cold-start version and a better second version were promoted in turn
    assert (v1.promoted, v1.parent, v1.training_size) == (True, "", 2)
    assert (v2.promoted, v2.parent, v2.training_size) == (True, v1.version, 4), (
        v1.metrics["metric"],
        v1.metrics["value"],
        v2.metrics["metric"],
        v2.metrics["value"],
        v2.metrics["current_value"],
    )
    assert project.current_model_version == v2.version
    # v2 beats v1 on the same evaluation chips (v1 re-evaluated by the second job), by a clear margin
    assert v2.metric_name == v2.metrics["metric"]
    assert v2.metrics["value"] > v2.metrics["current_value"]
    assert v2.metrics["current"]["version"] == v1.version
    # and the queue follows the new model: the remaining chips are ranked by v2's scores, not v1's
    ranking_v2 = _pool_ranking(project)
    assert ranking_v2 and all(score is not None for _, score in ranking_v2)
    assert ranking_v2 != [r for r in ranking_v1 if r[0] in {c for c, _ in ranking_v2}]
    reply = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
    assert reply["ranking"]["model_version"] == v2.version
    assert reply["chip"]["id"] == ranking_v2[0][0]
    assert RetrainRequest.objects.filter(project=project, state="done").count() == 2
