"""Faults the queue must survive (issue 7): a database connection cut in the middle of a submission, the broker
down while annotators work, and a model promotion while many annotators pull tasks."""

import random
import threading
import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Count
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from eolabel.labelling.models import Annotation, Lease, Project, ProjectChip, RetrainRequest
from eolabel.labelling.services.projects import project_ranking_activate
from eolabel.ranking.models import ChipScore
from eolabel.training.models import TrainingJob
from eolabel.training.services import jobs
from eolabel.training.tasks import training_jobs_reap_task
from tests.labelling.factories import add_member, client_for, make_project, make_scene, make_user, png_b64


def _snapshot() -> tuple:
    return (
        Annotation.objects.count(),
        sorted(Lease.objects.values_list("pk", "state")),
        sorted(ProjectChip.objects.values_list("pk", "state", "done_count")),
    )


def _submit(client, task_id: int, body: dict):
    return client.post(f"/api/tasks/{task_id}/annotations", body, content_type="application/json")


@pytest.fixture
def small_project(db):
    manager = make_user("maud", staff=True)
    annotator = make_user("anna")
    project = make_project(manager=manager, scenes=[make_scene(width=64, height=64)], chip_size=32)
    add_member(project, annotator, "annotator")
    return project, client_for(annotator)


@pytest.mark.django_db
def test_a_database_error_mid_submit_is_a_503_and_the_retry_stores_it_once(small_project, monkeypatch):
    # given a leased task and a database that drops the connection while the annotation row is written
    project, client = small_project
    task = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
    body = {
        "submission_id": str(uuid.uuid4()),
        "seconds_spent": 3.0,
        "mask_png": png_b64(np.ones((32, 32), np.uint8)),
    }
    before = _snapshot()
    real_create = Annotation.objects.create

    def cut(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Annotation.objects, "create", cut)

    # when the annotator submits
    reply = _submit(client, task["id"], body)

    # then a clear 503 that tells the client to retry, and nothing partial: the lease and chip are unchanged
    assert reply.status_code == 503, reply.content
    assert "retry" in reply.json()["detail"].lower() and reply["Retry-After"] == "2"
    assert _snapshot() == before
    # and when the database is back the client's retry (same submission id) is stored exactly once
    monkeypatch.setattr(Annotation.objects, "create", real_create)
    first = _submit(client, task["id"], body)
    again = _submit(client, task["id"], body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Annotation.objects.filter(project=project).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postgres_connection_killed_mid_submit_is_a_503_and_the_retry_succeeds(small_project, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): kills a real server connection")
    import psycopg

    from eolabel.labelling.services import annotations as service

    project, client = small_project
    task = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
    body = {
        "submission_id": str(uuid.uuid4()),
        "seconds_spent": 1.0,
        "mask_png": png_b64(np.ones((32, 32), np.uint8)),
    }
    real_count = service._chip_count_submission
    db = connection.settings_dict

    def kill_my_connection_then_continue(lease):
        real_count(lease)  # a first write of the transaction went through...
        pid = connection.connection.info.backend_pid
        admin = psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
            dbname=db["NAME"], autocommit=True,
        )  # fmt: skip
        with admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])  # ...then the server drops the connection

    monkeypatch.setattr(service, "_chip_count_submission", kill_my_connection_then_continue)
    reply = _submit(client, task["id"], body)
    assert reply.status_code == 503, reply.content

    monkeypatch.setattr(service, "_chip_count_submission", real_count)
    connection.close()  # what Django does between requests with a connection the server dropped
    assert ProjectChip.objects.get(pk=Lease.objects.get(pk=task["id"]).project_chip_id).done_count == 0
    retry = _submit(client, task["id"], body)
    assert retry.status_code == 201, retry.content
    assert Annotation.objects.filter(project=project).count() == 1
    assert ProjectChip.objects.get(pk=Lease.objects.get(pk=task["id"]).project_chip_id).done_count == 1


@pytest.mark.django_db
def test_with_the_broker_down_annotating_goes_on_and_the_request_runs_when_it_returns(
    small_project, monkeypatch, django_capture_on_commit_callbacks
):
    # given a project that asks for retraining after every 2 annotations, and a broker that refuses connections
    project, client = small_project
    Project.objects.filter(pk=project.pk).update(
        retrain_every_n=2, retrain_min_interval_minutes=0, validation_fraction=0
    )
    ProjectChip.objects.filter(project=project).update(is_validation=False)
    delivered: list[int] = []
    broker_up = False

    def send(job_id: int) -> None:
        if not broker_up:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        delivered.append(job_id)

    monkeypatch.setattr(jobs, "_send", send)

    # when the annotator labels two chips
    mask = png_b64(np.ones((32, 32), np.uint8))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            task = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
            reply = _submit(
                client,
                task["id"],
                {"submission_id": str(uuid.uuid4()), "seconds_spent": 1.0, "mask_png": mask},
            )
        # then every submission is stored as usual
        assert reply.status_code == 201, reply.content

    # and the retraining request and its job are kept, waiting for the broker
    assert RetrainRequest.objects.filter(project=project).count() == 1
    job = TrainingJob.objects.get(project=project)
    assert job.state == TrainingJob.State.QUEUED and delivered == []

    # when the broker is back, the periodic reaper sends the waiting job (once)
    broker_up = True
    later = job.created + timedelta(seconds=settings.EOLABEL_TRAIN_STALE_AFTER_S + 1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs.training_jobs_reap(now=later)
    assert counts["resent"] == 1 and delivered == [job.pk]


@pytest.mark.django_db
def test_the_worker_reaps_stale_jobs_on_a_schedule(small_project, settings, monkeypatch):
    # given the beat schedule, and a job whose worker died (running, no heartbeat for longer than allowed)
    entries = {e["task"]: e for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["training.reap"]["schedule"] <= settings.EOLABEL_TRAIN_STALE_AFTER_S
    project, _ = small_project
    sent: list[int] = []
    monkeypatch.setattr(jobs, "_send", sent.append)
    dead = timezone.now() - timedelta(seconds=settings.EOLABEL_TRAIN_STALE_AFTER_S + 5)
    job = TrainingJob.objects.create(
        project=project, state=TrainingJob.State.RUNNING, heartbeat=dead, attempts=1
    )

    # when the scheduled task runs
    counts = training_jobs_reap_task.apply().get()

    # then the job is queued again and its message re-sent
    assert counts["requeued"] == 1
    assert TrainingJob.objects.get(pk=job.pk).state == TrainingJob.State.QUEUED


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_promotion_while_fifty_annotators_pull_tasks():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): 50 concurrent connections")
    # given a project of 256 chips ranked by v1, and v2's scores ready to be activated
    manager = make_user("boss", staff=True)
    project = make_project(manager=manager, scenes=[make_scene(width=512, height=512)], chip_size=32)
    chips = list(ProjectChip.objects.filter(project=project).values_list("chip_id", flat=True))
    assert len(chips) == 256
    rng = random.Random(7)
    scores = {v: {c: rng.random() for c in chips} for v in ("t/v1", "t/v2")}
    for version, by_chip in scores.items():
        ChipScore.objects.bulk_create(
            [ChipScore(project=project, chip_id=c, model_version=version, strategy="entropy", score=s)
             for c, s in by_chip.items()]
        )  # fmt: skip
    project_ranking_activate(project=project, model_version="t/v1")
    users = [make_user(f"a{i}") for i in range(50)]
    for user in users:
        add_member(project, user, "annotator")
    barrier = threading.Barrier(51)
    errors: list[str] = []
    lock = threading.Lock()

    def pull(user) -> None:
        client = client_for(user)
        try:
            barrier.wait(timeout=60)
            for _ in range(3):  # lease, skip, lease again: every skip puts the chip back in play
                task = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
                assert task is not None
                reply = client.post(
                    f"/api/tasks/{task['id']}/skip", {"reason": "busy"}, content_type="application/json"
                )
                assert reply.status_code == 200, reply.content
            assert client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"] is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"{user.username}: {exc!r}"[:1000])
        finally:
            connection.close()

    threads = [threading.Thread(target=pull, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    # when v2 is promoted while they pull
    project_ranking_activate(project=Project.objects.get(pk=project.pk), model_version="t/v2")
    for thread in threads:
        thread.join(timeout=240)
    connection.close()

    # then no chip was ever held twice, and every lease's provenance is one consistent version: its score is
    # that version's score for that chip
    assert errors == [] and not [t for t in threads if t.is_alive()]
    active = Lease.objects.filter(project=project, state=Lease.State.ACTIVE)
    assert active.count() == 50
    assert not active.values("project_chip").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for lease in Lease.objects.filter(project=project).select_related("project_chip"):
        assert lease.model_version in scores, lease.model_version
        assert lease.score == pytest.approx(scores[lease.model_version][lease.project_chip.chip_id])
    assert Lease.objects.filter(project=project).count() == 200
    assert Project.objects.get(pk=project.pk).current_model_version == "t/v2"
