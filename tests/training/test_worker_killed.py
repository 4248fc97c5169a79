"""A worker killed with SIGKILL in the middle of training (issue 7): the active model never changes, nothing
half-written is referenced, the reaper re-queues the job and a new worker finishes it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from eolabel.labelling.models import Project
from eolabel.training.models import ModelVersion, TrainingJob
from eolabel.training.services.jobs import training_job_enqueue, training_jobs_reap
from tests.training.conftest import annotate_n, registry_versions
from tests.worker import wait_for, worker_kill, worker_process


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_training_changes_nothing_and_the_job_is_retried(
    builtin_sensors, cloud_project, user, registry_root, settings, monkeypatch
):
    # given a project with labels and a worker that trains for a long time
    annotate_n(cloud_project, user, training=4, validation=2)
    monkeypatch.setenv("EOLABEL_TRAIN_THREADS", "1")
    monkeypatch.setenv("EOLABEL_TRAIN_STEPS", "100000")
    monkeypatch.setenv("EOLABEL_TRAIN_TIME_BUDGET_S", "600")
    job = training_job_enqueue(project=cloud_project, reason="test")

    with worker_process() as proc:
        running = wait_for(
            lambda: TrainingJob.objects.filter(pk=job.pk, state="running", progress__gt=0.05).first(),
            timeout=90,
        )
        assert "train" in running.message or running.progress > 0.05
        # when the worker dies without any chance to clean up
        worker_kill(proc)

    # then the job is still "running" under a dead worker, and nothing of it was registered or activated
    killed = TrainingJob.objects.get(pk=job.pk)
    assert killed.state == TrainingJob.State.RUNNING and killed.attempts == 1
    assert not ModelVersion.objects.filter(project=cloud_project).exists()
    assert Project.objects.get(pk=cloud_project.pk).current_model_version == ""
    assert [
        name for name in registry_versions(registry_root, cloud_project) if not name.startswith(".")
    ] == []

    # when the reaper sees its heartbeat is stale, the job is queued again and sent to a new worker
    later = timezone.now() + timedelta(seconds=settings.EOLABEL_TRAIN_STALE_AFTER_S + 1)
    assert training_jobs_reap(now=later)["requeued"] == 1
    monkeypatch.setenv("EOLABEL_TRAIN_STEPS", "20")
    with worker_process():
        done = wait_for(
            lambda: TrainingJob.objects.filter(pk=job.pk, state__in=("succeeded", "failed")).first(),
            timeout=150,
        )

    # then it ran to the end once more: one version, registered complete and promoted
    assert done.state == TrainingJob.State.SUCCEEDED, done.error or done.log
    assert done.attempts == 2 and "reaper" in done.log
    versions = list(ModelVersion.objects.filter(project=cloud_project))
    assert [v.version for v in versions] == [done.model_version]
    assert Project.objects.get(pk=cloud_project.pk).current_model_version == done.model_version
    assert [n for n in registry_versions(registry_root, cloud_project) if not n.startswith(".")] == ["v1"]
