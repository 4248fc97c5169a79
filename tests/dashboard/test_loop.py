"""The loop panel: the active job and its live progress, the worker's state from the heartbeat, the scoring
pass in flight, job history with logs, the policy; and the managers-only retrain / re-score buttons' API."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from eolabel.dashboard.loop import worker_status
from eolabel.training.models import ScoringChunk, ScoringPass, TrainingJob
from tests.dashboard.world import annotate, chip_at, georeferenced_scene, job
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    mia, ann, rev = make_user("mia"), make_user("ann"), make_user("rev")
    scene = georeferenced_scene()
    project = make_project(manager=mia, scenes=[scene], chip_size=32)
    add_member(project, ann, "annotator")
    add_member(project, rev, "reviewer")
    annotate(project, chip_at(scene, 0, 0), ann, array=np.zeros((32, 32), dtype=np.uint8))
    return {"mia": mia, "ann": ann, "rev": rev, "project": project}


def loop_url(project) -> str:
    return f"/api/projects/{project.pk}/dashboard/loop"


def test_loop_reports_the_active_job_history_and_policy(world):
    project = world["project"]
    job(project, state="failed", progress=0.4, log="epoch 1\nboom")
    running = job(project, state="running", progress=0.35, log="epoch 1 loss 0.7")
    TrainingJob.objects.filter(pk=running.pk).update(heartbeat=timezone.now() - timedelta(seconds=5))
    body = client_for(world["ann"]).get(loop_url(project)).json()
    assert body["active"]["id"] == running.pk and body["active"]["progress"] == pytest.approx(0.35)
    assert [j["state"] for j in body["jobs"]] == ["running", "failed"]
    assert body["jobs"][1]["log"].endswith("boom")
    assert body["worker"]["state"] == "running" and 4 < body["worker"]["heartbeat_age_s"] < 60
    assert body["policy"]["retrain_every_n"] == project.retrain_every_n
    assert body["policy"]["training_annotations"] == 1 and body["scoring_pass"] is None


def test_worker_state_follows_the_heartbeat(world):
    # given one job of each situation and a clock
    now = timezone.now()
    project = world["project"]
    queued = job(project, state="queued", progress=0.0)
    TrainingJob.objects.filter(pk=queued.pk).update(created=now - timedelta(seconds=30))
    queued.refresh_from_db()
    fresh = TrainingJob(state="running", heartbeat=now - timedelta(seconds=10), created=now)
    stale = TrainingJob(state="running", heartbeat=now - timedelta(seconds=500), created=now)
    never = TrainingJob(state="running", heartbeat=None, created=now)
    # then each reads as the worker's state, against the reaper's threshold
    assert worker_status(active=None, now=now, stale_after_s=120)["state"] == "idle"
    waiting = worker_status(active=queued, now=now, stale_after_s=120)
    assert waiting["state"] == "waiting" and waiting["waiting_s"] == pytest.approx(30, abs=1)
    assert worker_status(active=fresh, now=now, stale_after_s=120)["heartbeat_age_s"] == pytest.approx(10)
    assert worker_status(active=fresh, now=now, stale_after_s=120)["state"] == "running"
    assert worker_status(active=stale, now=now, stale_after_s=120)["state"] == "silent"
    assert worker_status(active=never, now=now, stale_after_s=120)["state"] == "silent"


def test_a_scoring_pass_in_flight_shows_its_chunks(world):
    project = world["project"]
    scoring_pass = ScoringPass.objects.create(project=project, model_version="m/v2", chunks_total=4)
    for i in range(4):
        ScoringChunk.objects.create(scoring_pass=scoring_pass, index=i, chip_ids=[i], done=i < 3)
    ScoringPass.objects.create(project=project, model_version="m/v1", chunks_total=2, activated=True)
    body = client_for(world["mia"]).get(loop_url(project)).json()
    assert body["scoring_pass"] == {
        "id": scoring_pass.pk,
        "model_version": "m/v2",
        "chunks_done": 3,
        "chunks_total": 4,
    }


def test_a_manager_retrains_and_rescores_through_the_training_service(world):
    project = world["project"]
    client = client_for(world["mia"])
    # when the manager presses "retrain now"
    response = client.post(f"/api/projects/{project.pk}/training/retrain")
    # then one queued retrain job exists, requested by the manager, and the loop panel shows it as active
    assert response.status_code == 202
    created = TrainingJob.objects.get(project=project)
    assert (created.kind, created.state, created.requested_by_id) == ("retrain", "queued", world["mia"].pk)
    body = client.get(loop_url(project)).json()
    assert body["active"]["id"] == created.pk and body["worker"]["state"] == "waiting"
    # and a second press while it is active is a 409 that adds nothing
    assert client.post(f"/api/projects/{project.pk}/training/score").status_code == 409
    assert TrainingJob.objects.filter(project=project).count() == 1


def test_rescoring_needs_a_model(world):
    response = client_for(world["mia"]).post(f"/api/projects/{world['project'].pk}/training/score")
    assert response.status_code == 409 and not TrainingJob.objects.exists()


@pytest.mark.parametrize("who", ["ann", "rev"])
def test_annotators_and_reviewers_cannot_retrain_or_rescore(world, who):
    project = world["project"]
    project.current_model_version = "m/v1"
    project.save()
    client = client_for(world[who])
    for action in ("retrain", "score"):
        assert client.post(f"/api/projects/{project.pk}/training/{action}").status_code == 403
    # no row changed: no job, no retrain request
    assert not TrainingJob.objects.exists() and not project.retrain_requests.exists()


def test_only_managers_get_the_buttons(world):
    pages = {
        who: client_for(world[who]).get(f"/dashboard/{world['project'].pk}/").content.decode()
        for who in ("mia", "ann", "rev")
    }
    assert 'id="retrain-now"' in pages["mia"] and 'id="score-now"' in pages["mia"]
    assert 'id="retrain-now"' not in pages["ann"] and 'id="score-now"' not in pages["rev"]
