"""Run one job by id: reap stale jobs, claim this one, do the work, close it. Safe to call any number of times
with the same id (what an at-least-once broker does): only the call that claims the job runs it."""

from __future__ import annotations

import logging
import traceback

from django.conf import settings

from eolabel.labelling.models import Project
from eolabel.training.errors import JobLost, NoModel
from eolabel.training.models import TrainingJob
from eolabel.training.services.jobs import (
    Claim,
    pending_request_follow_up,
    training_job_claim,
    training_job_finish,
    training_jobs_reap,
)
from eolabel.training.services.retrain import Hooks, project_rescore, project_retrain

logger = logging.getLogger(__name__)


def _hooks(claim: Claim) -> Hooks:
    def check() -> None:
        claim.heartbeat(force=True)

    return Hooks(beat=claim.progress, log=claim.log, should_stop=claim.lost, check=check)


def training_job_run(*, job_id: int) -> str:
    """Returns what happened: ``skipped`` (not claimable: done, or running elsewhere), ``succeeded``,
    ``failed`` or ``lost`` (reaped or re-claimed while running; the new owner finishes it)."""
    training_jobs_reap(stale_after_s=settings.EOLABEL_TRAIN_STALE_AFTER_S)
    claim = training_job_claim(job_id=job_id)
    if claim is None:
        return "skipped"
    job = TrainingJob.objects.select_related("project").get(pk=job_id)
    project: Project = job.project
    hooks = _hooks(claim)
    try:
        if job.kind == TrainingJob.Kind.RETRAIN:
            outcome = project_retrain(project=project, job=job, hooks=hooks)
            TrainingJob.objects.filter(pk=job_id, claim_token=claim.token).update(
                model_version=outcome.version
            )
            verdict = "promoted" if outcome.promoted else "not promoted"
            message = f"{outcome.version} {verdict} ({outcome.metric_name} {outcome.metric} vs {outcome.current_metric})"
        else:
            if not project.current_model_version:
                raise NoModel(f"project {project.pk} has no model to score with")
            scored = project_rescore(project=project, hooks=hooks)
            message = f"scored {scored} chips with {project.current_model_version}"
    except JobLost as exc:
        logger.warning("job %s: %s", job_id, exc)
        return "lost"
    except Exception as exc:  # a job records every failure rather than dying with it
        logger.exception("job %s failed", job_id)
        training_job_finish(
            claim=claim, succeeded=False, message=f"failed: {exc}"[:500], error=traceback.format_exc()
        )
        pending_request_follow_up(project_id=project.pk)
        return "failed"
    training_job_finish(claim=claim, succeeded=True, message=message)
    pending_request_follow_up(project_id=project.pk)
    return "succeeded"
