"""Job lifecycle: one active job per project, atomic claim, duplicate deliveries, reaper, failures that leave the
active model alone."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from eolabel.labelling.models import Project, RetrainRequest
from eolabel.training.errors import JobActive
from eolabel.training.models import ModelVersion, TrainingJob
from eolabel.training.services import jobs
from eolabel.training.services.runner import training_job_run
from tests.training.conftest import annotate_n, registry_versions

pytestmark = pytest.mark.django_db


def test_a_project_has_at_most_one_active_job(cloud_project, sent):
    first = jobs.training_job_enqueue(project=cloud_project)

    with pytest.raises(JobActive):
        jobs.training_job_enqueue(project=cloud_project)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingJob.objects.create(project=cloud_project, state=TrainingJob.State.RUNNING)

    TrainingJob.objects.filter(pk=first.pk).update(state=TrainingJob.State.SUCCEEDED)
    assert jobs.training_job_enqueue(project=cloud_project).state == TrainingJob.State.QUEUED


def test_the_same_message_delivered_twice_runs_once(cloud_project, user, registry_root, fast_training, sent):
    annotate_n(cloud_project, user, training=3, validation=2)
    job = jobs.training_job_enqueue(project=cloud_project)

    first = training_job_run(job_id=job.pk)
    second = training_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (first, second) == ("succeeded", "skipped")
    assert job.state == TrainingJob.State.SUCCEEDED and job.attempts == 1
    assert list(ModelVersion.objects.values_list("version", flat=True)) == [f"project-{cloud_project.pk}/v1"]
    assert registry_versions(registry_root, cloud_project) == ["v1"]


def test_a_job_running_under_a_live_worker_is_not_claimed_again(cloud_project, sent):
    job = jobs.training_job_enqueue(project=cloud_project)
    claim = jobs.training_job_claim(job_id=job.pk)

    assert claim is not None
    assert jobs.training_job_claim(job_id=job.pk, stale_after_s=60) is None
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat=timezone.now() - timedelta(seconds=61))
    retry = jobs.training_job_claim(job_id=job.pk, stale_after_s=60)
    assert retry is not None and retry.token != claim.token
    assert TrainingJob.objects.get(pk=job.pk).attempts == 2
    with pytest.raises(jobs.JobLost):
        claim.heartbeat(force=True)  # the crashed run's owner, should it wake up, is told it lost the job


def test_the_reaper_requeues_a_crashed_job_then_fails_it(
    cloud_project, settings, sent, django_capture_on_commit_callbacks
):
    settings.EOLABEL_TRAIN_MAX_ATTEMPTS = 2
    request = RetrainRequest.objects.create(
        project=cloud_project, requested_at=timezone.now(), reason="t", annotations_total=1
    )
    job = jobs.training_job_enqueue(project=cloud_project, retrain_request=request, send=False)
    stale = timezone.now() - timedelta(seconds=500)
    jobs.training_job_claim(job_id=job.pk)
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat=stale)

    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.training_jobs_reap(stale_after_s=300)
    job.refresh_from_db()
    assert (
        first == {"requeued": 1, "failed": 0, "resent": 0}
        and job.state == TrainingJob.State.QUEUED
        and sent == [job.pk]
    )

    jobs.training_job_claim(job_id=job.pk)
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat=stale)
    second = jobs.training_jobs_reap(stale_after_s=300)
    job.refresh_from_db()
    request.refresh_from_db()
    assert second == {"requeued": 0, "failed": 1, "resent": 0}
    assert (job.state, job.attempts, job.error) == (TrainingJob.State.FAILED, 2, "worker lost")
    assert request.state == RetrainRequest.State.FAILED
    assert "reaper: no heartbeat" in job.log


def test_a_fresh_job_is_left_alone_by_the_reaper(cloud_project, sent):
    job = jobs.training_job_enqueue(project=cloud_project)
    jobs.training_job_claim(job_id=job.pk)

    assert jobs.training_jobs_reap(stale_after_s=300) == {"requeued": 0, "failed": 0, "resent": 0}
    assert TrainingJob.objects.get(pk=job.pk).state == TrainingJob.State.RUNNING


def test_a_queued_job_whose_message_was_lost_is_sent_again_once(
    cloud_project, sent, django_capture_on_commit_callbacks
):
    job = jobs.training_job_enqueue(project=cloud_project, send=False)
    later = timezone.now() + timedelta(seconds=301)

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.training_jobs_reap(stale_after_s=300)["resent"] == 0
        assert jobs.training_jobs_reap(stale_after_s=300, now=later)["resent"] == 1
        assert (
            jobs.training_jobs_reap(stale_after_s=300, now=later)["resent"] == 0
        )  # not again until stale again
    assert sent == [job.pk]


def _crash_mid_training(monkeypatch, *, at_step: int = 3):
    from eolabel.training.services import retrain

    real = retrain.train

    def crashing(*args, **kwargs):
        report = kwargs["progress"]

        def progress(p):
            report(p)
            if p.step == at_step:
                raise RuntimeError("simulated crash in the middle of training")

        return real(*args, **{**kwargs, "progress": progress})

    monkeypatch.setattr(retrain, "train", crashing)


def test_a_failure_mid_training_leaves_the_active_model_alone(
    cloud_project, user, registry_root, fast_training, sent, monkeypatch
):
    annotate_n(cloud_project, user, training=2, validation=2)
    first = jobs.training_job_enqueue(project=cloud_project)
    assert training_job_run(job_id=first.pk) == "succeeded"
    current = Project.objects.get(pk=cloud_project.pk).current_model_version
    annotate_n(cloud_project, user, training=2, validation=0)
    _crash_mid_training(monkeypatch)

    job = jobs.training_job_enqueue(project=cloud_project)
    outcome = training_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert outcome == "failed" and job.state == TrainingJob.State.FAILED
    assert "simulated crash" in job.error and job.model_version == ""
    assert current == f"project-{cloud_project.pk}/v1"
    assert Project.objects.get(pk=cloud_project.pk).current_model_version == current
    assert ModelVersion.objects.count() == 1
    assert registry_versions(registry_root, cloud_project) == ["v1"]


def test_a_reaped_job_stops_without_registering(
    cloud_project, user, registry_root, fast_training, sent, monkeypatch
):
    annotate_n(cloud_project, user, training=2, validation=1)
    job = jobs.training_job_enqueue(project=cloud_project)
    monkeypatch.setattr(jobs, "HEARTBEAT_EVERY_S", 0.0)
    from eolabel.training.services import retrain

    real = retrain.train

    def taken_over(*args, **kwargs):  # another worker re-claims the job while this one trains
        TrainingJob.objects.filter(pk=job.pk).update(claim_token="someone-else")
        return real(*args, **kwargs)

    monkeypatch.setattr(retrain, "train", taken_over)

    assert training_job_run(job_id=job.pk) == "lost"
    assert ModelVersion.objects.count() == 0 and registry_versions(registry_root, cloud_project) == []
    assert Project.objects.get(pk=cloud_project.pk).current_model_version == ""
