"""The retraining policy: after every stored annotation, decide whether the project's model should be retrained
(``retrain_every_n`` new training annotations and ``retrain_min_interval_minutes`` since the last request), and
record the decision as a pending RetrainRequest.

Starting the training itself belongs to the second half of the active-learning loop: it connects
``retrain_request_created`` (called after the request commits) to its Celery task.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from eolabel.labelling.models import Annotation, Project, RetrainRequest
from eolabel.labelling.services._db import write_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainDecision:
    trigger: bool
    reason: str


def retraining_decide(
    *,
    new_annotations: int,
    minutes_since_last: float | None,
    every_n: int,
    min_interval_minutes: float,
    pending: bool,
) -> RetrainDecision:
    """Pure decision. ``minutes_since_last`` is None before the project's first request."""
    if pending:
        return RetrainDecision(False, "a retraining request is already pending")
    if new_annotations < every_n:
        return RetrainDecision(False, f"{new_annotations} of {every_n} new training annotations")
    if minutes_since_last is not None and minutes_since_last < min_interval_minutes:
        return RetrainDecision(
            False, f"only {minutes_since_last:.1f} of {min_interval_minutes:g} minutes since the last request"
        )
    since = (
        "first request"
        if minutes_since_last is None
        else f"{minutes_since_last:.0f} min since the last request"
    )
    return RetrainDecision(True, f"{new_annotations} new training annotations (every {every_n}); {since}")


def retraining_maybe_trigger(project_id: int, *, now: datetime | None = None) -> RetrainRequest | None:
    """Ask the policy about the project now; record a pending RetrainRequest when it says so. Safe to call any
    number of times, concurrently too: at most one request is pending per project (a partial unique index)."""
    moment = now or timezone.now()
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    total = Annotation.objects.filter(project_id=project_id, project_chip__is_validation=False).count()
    last = RetrainRequest.objects.filter(project_id=project_id).order_by("-requested_at", "-id").first()
    decision = retraining_decide(
        new_annotations=total - (last.annotations_total if last else 0),
        minutes_since_last=(moment - last.requested_at).total_seconds() / 60 if last else None,
        every_n=project.retrain_every_n,
        min_interval_minutes=project.retrain_min_interval_minutes,
        pending=RetrainRequest.objects.filter(
            project_id=project_id, state=RetrainRequest.State.PENDING
        ).exists(),
    )
    if not decision.trigger:
        logger.debug("project %s: no retraining (%s)", project_id, decision.reason)
        return None
    try:
        with transaction.atomic():
            write_lock()
            request = RetrainRequest.objects.create(
                project_id=project_id, requested_at=moment, reason=decision.reason, annotations_total=total
            )
            transaction.on_commit(lambda: retrain_request_created(request_id=request.pk))
    except IntegrityError:
        return None  # a concurrent call recorded the pending request first
    logger.info("project %s: retraining requested (%s)", project_id, decision.reason)
    return request


def retrain_request_created(*, request_id: int) -> None:
    """Start training for this pending request, after it is committed: a queued job and its Celery message.
    A failure to reach the broker must not fail the annotator's request (the annotation is already stored):
    it is logged and the job stays queued."""
    from eolabel.training.services.jobs import retrain_request_dispatch

    try:
        retrain_request_dispatch(request_id=request_id)
    except Exception:  # noqa: BLE001 - the broker or worker side may be down; annotating goes on
        logger.exception("retrain request %s: could not start training now; it stays queued", request_id)
