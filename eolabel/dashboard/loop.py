"""The training loop as the dashboard shows it: the active job with its live progress, what the worker is
doing (read from the job's heartbeat: no broker round trip in a web request), the distributed scoring pass
in flight, recent jobs with their logs, and the state of the retraining policy. Read-only."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from eolabel.labelling.models import Annotation, Project
from eolabel.training.models import ScoringPass, TrainingJob

JOB_HISTORY = 20
State = TrainingJob.State


def worker_status(
    *, active: TrainingJob | None, now: datetime | None = None, stale_after_s: float | None = None
) -> dict[str, Any]:
    """What the worker is doing, from the active job alone:

    - ``idle``: no queued or running job;
    - ``waiting``: a job is queued and no worker has claimed it yet (``waiting_s`` since it was created);
    - ``running``: a worker holds the job and its heartbeat is fresh;
    - ``silent``: the job is running but its heartbeat is older than the reaper's threshold (the worker
      probably died; the reaper will re-queue or fail the job)."""
    moment = now or timezone.now()
    stale = settings.EOLABEL_TRAIN_STALE_AFTER_S if stale_after_s is None else stale_after_s
    out: dict[str, Any] = {
        "state": "idle",
        "stale_after_s": stale,
        "heartbeat_age_s": None,
        "waiting_s": None,
    }
    if active is None:
        return out
    if active.state == State.QUEUED:
        return {**out, "state": "waiting", "waiting_s": (moment - active.created).total_seconds()}
    age = (moment - active.heartbeat).total_seconds() if active.heartbeat else None
    state = "running" if age is not None and age <= stale else "silent"
    return {**out, "state": state, "heartbeat_age_s": age}


def scoring_pass_progress(*, project: Project) -> dict[str, Any] | None:
    """The latest scoring pass not yet activated: chunks done of chunks total; None when there is none."""
    scoring_pass = (
        ScoringPass.objects.filter(project=project, activated=False, finished__isnull=True)
        .annotate(done=Count("chunks", filter=Q(chunks__done=True)))
        .order_by("-created", "-id")
        .first()
    )
    if scoring_pass is None:
        return None
    return {
        "id": scoring_pass.pk,
        "model_version": scoring_pass.model_version,
        "chunks_done": scoring_pass.done,
        "chunks_total": scoring_pass.chunks_total,
    }


def dashboard_loop(*, project: Project, now: datetime | None = None) -> dict[str, Any]:
    """The active job (if any), the worker's state, recent jobs with their logs, and the retraining policy."""
    jobs = list(TrainingJob.objects.filter(project=project).order_by("-created", "-id")[:JOB_HISTORY])
    active = TrainingJob.objects.filter(project=project, state__in=(State.QUEUED, State.RUNNING)).first()
    trained = Annotation.objects.filter(project=project, project_chip__is_validation=False).count()
    last_request = project.retrain_requests.order_by("-requested_at").first()
    since = last_request.annotations_total if last_request else 0
    return {
        "active": _job(active) if active else None,
        "worker": worker_status(active=active, now=now),
        "scoring_pass": scoring_pass_progress(project=project),
        "jobs": [_job(j) for j in jobs],
        "policy": {
            "retrain_every_n": project.retrain_every_n,
            "retrain_min_interval_minutes": project.retrain_min_interval_minutes,
            "training_annotations": trained,
            "new_since_last_request": max(trained - since, 0),
            "last_request_at": last_request.requested_at.isoformat() if last_request else None,
            "last_request_state": last_request.state if last_request else None,
            "current_model_version": project.current_model_version,
            "strategy": project.strategy,
        },
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _job(job: TrainingJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "message": job.message,
        "log": job.log,
        "error": job.error,
        "reason": job.reason,
        "model_version": job.model_version,
        "promoted": job.promoted,
        "attempts": job.attempts,
        "created": _iso(job.created),
        "started": _iso(job.started),
        "finished": _iso(job.finished),
        "heartbeat": _iso(job.heartbeat),
    }
