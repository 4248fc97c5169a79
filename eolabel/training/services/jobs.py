"""Job lifecycle: enqueue (one active job per project), atomic claim, heartbeat/progress/log, finish, reap.

A job row is claimed with one conditional UPDATE (queued -> running, or running with a stale heartbeat ->
running again under a new claim token), so two deliveries of the same message cannot both run it. Every later
write of the run is conditional on the claim token: a worker whose job was reaped or re-claimed finds out
(JobLost) at its next heartbeat and stops without touching the project.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from eolabel.labelling.models import Project, RetrainRequest
from eolabel.training.errors import JobActive, JobLost
from eolabel.training.models import TrainingJob

logger = logging.getLogger(__name__)
State = TrainingJob.State
HEARTBEAT_EVERY_S = 2.0


def _send(job_id: int) -> None:
    from eolabel.training.tasks import training_job_run_task

    training_job_run_task.delay(job_id)


def _send_or_leave_queued(job_id: int) -> None:
    """Send the job's message after commit. With the broker down the job row stays queued (nothing is lost) and
    the periodic reaper sends it again; the caller (an annotator's submission, a manager's button) is not
    failed for it."""
    try:
        _send(job_id)
    except Exception:  # noqa: BLE001 - kombu raises several kinds; every one means "not sent now"
        logger.warning(
            "job %s: broker unreachable, left queued for the reaper to re-send", job_id, exc_info=True
        )


def training_job_enqueue(
    *,
    project: Project,
    kind: str = TrainingJob.Kind.RETRAIN,
    reason: str = "",
    retrain_request: RetrainRequest | None = None,
    requested_by=None,
    send: bool = True,
) -> TrainingJob:
    """A queued job, its Celery message sent after commit. Raises JobActive when the project already has a
    queued or running job (the partial unique index decides, so concurrent callers cannot both win)."""
    try:
        with transaction.atomic():
            job = TrainingJob.objects.create(
                project=project, kind=kind, reason=reason[:500], retrain_request=retrain_request,
                requested_by=requested_by,
            )  # fmt: skip
            if send:
                transaction.on_commit(lambda: _send_or_leave_queued(job.pk))
    except IntegrityError as exc:
        active = TrainingJob.objects.filter(project=project, state__in=(State.QUEUED, State.RUNNING)).first()
        raise JobActive(
            f"job {active.pk if active else '?'} of project {project.pk} is still active"
        ) from exc
    return job


def retrain_request_dispatch(*, request_id: int, send: bool = True) -> TrainingJob | None:
    """Start training for a pending RetrainRequest (the labelling policy's hook calls this after commit).
    With a job already active, the request stays pending and that job picks it up when it ends."""
    request = RetrainRequest.objects.select_related("project").filter(pk=request_id).first()
    if request is None or request.state != RetrainRequest.State.PENDING:
        return None
    try:
        return training_job_enqueue(
            project=request.project, reason=f"policy: {request.reason}", retrain_request=request, send=send
        )
    except JobActive:
        logger.info("retrain request %s waits for the project's active job", request_id)
        return None


@dataclass
class Claim:
    """The right to run one job, held by ``token``."""

    job_id: int
    token: str
    _last_beat: float = 0.0

    def _mine(self):
        return TrainingJob.objects.filter(pk=self.job_id, claim_token=self.token, state=State.RUNNING)

    def heartbeat(self, *, force: bool = False) -> None:
        """Refresh the heartbeat (at most every 2 s unless forced); JobLost when the claim is gone."""
        now = time.monotonic()
        if not force and now - self._last_beat < HEARTBEAT_EVERY_S:
            return
        if not self._mine().update(heartbeat=timezone.now()):
            raise JobLost(f"job {self.job_id} is no longer ours")
        self._last_beat = now

    def lost(self) -> bool:
        try:
            self.heartbeat()
        except JobLost:
            return True
        return False

    def progress(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if not self._mine().update(progress=fraction, message=message[:500], heartbeat=timezone.now()):
            raise JobLost(f"job {self.job_id} is no longer ours")
        self._last_beat = time.monotonic()

    def log(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self._mine().update(log=Concat(F("log"), Value(f"{stamp} {line}\n")))
        logger.info("job %s: %s", self.job_id, line)


def training_job_claim(*, job_id: int, stale_after_s: float | None = None) -> Claim | None:
    """Take the job: queued, or running with a heartbeat older than ``stale_after_s`` (its worker died).
    None when it is finished, or running under a live worker (a duplicate delivery)."""
    stale_after_s = settings.EOLABEL_TRAIN_STALE_AFTER_S if stale_after_s is None else stale_after_s
    now = timezone.now()
    token = uuid.uuid4().hex
    claimable = Q(state=State.QUEUED) | Q(
        state=State.RUNNING, heartbeat__lt=now - timedelta(seconds=stale_after_s)
    )
    taken = TrainingJob.objects.filter(claimable, pk=job_id).update(
        state=State.RUNNING, claim_token=token, heartbeat=now, started=now, attempts=F("attempts") + 1,
        progress=0.0, message="claimed",
    )  # fmt: skip
    if not taken:
        return None
    claim = Claim(job_id=job_id, token=token, _last_beat=time.monotonic())
    job = TrainingJob.objects.get(pk=job_id)
    claim.log(f"attempt {job.attempts}: claimed by {token[:8]}")
    if job.retrain_request_id:
        RetrainRequest.objects.filter(pk=job.retrain_request_id).update(state=RetrainRequest.State.STARTED)
    return claim


def training_job_finish(*, claim: Claim, succeeded: bool, message: str, error: str = "") -> bool:
    """Close the run (only if still ours) and its retrain request; True when this call closed it."""
    state = State.SUCCEEDED if succeeded else State.FAILED
    with transaction.atomic():
        closed = claim._mine().update(
            state=state, finished=timezone.now(), message=message[:500], error=error,
            progress=1.0 if succeeded else F("progress"),
        )  # fmt: skip
        if closed:
            job = TrainingJob.objects.get(pk=claim.job_id)
            if job.retrain_request_id:
                done = RetrainRequest.State.DONE if succeeded else RetrainRequest.State.FAILED
                RetrainRequest.objects.filter(pk=job.retrain_request_id).update(state=done)
    if closed:
        claim.log(f"{state}: {message}")
    return bool(closed)


def pending_request_follow_up(*, project_id: int) -> TrainingJob | None:
    """A request recorded while a job ran waited for it: start it now."""
    request = RetrainRequest.objects.filter(project_id=project_id, state=RetrainRequest.State.PENDING).first()
    return retrain_request_dispatch(request_id=request.pk) if request else None


def training_jobs_reap(*, stale_after_s: float | None = None, now=None) -> dict[str, int]:
    """Jobs whose worker stopped beating: re-queued (and re-sent) while attempts remain, else failed. Queued jobs
    left unclaimed for ``stale_after_s`` (a lost message) are sent again; the claim makes extra copies harmless."""
    stale_after_s = settings.EOLABEL_TRAIN_STALE_AFTER_S if stale_after_s is None else stale_after_s
    moment = now or timezone.now()
    cutoff = moment - timedelta(seconds=stale_after_s)
    stale = Q(state=State.RUNNING) & (Q(heartbeat__lt=cutoff) | Q(heartbeat=None))
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    unclaimed = Q(state=State.QUEUED, created__lt=cutoff) & (Q(heartbeat__lt=cutoff) | Q(heartbeat=None))
    for job_id in TrainingJob.objects.filter(unclaimed).values_list("pk", flat=True):
        with transaction.atomic():
            if TrainingJob.objects.filter(unclaimed, pk=job_id).update(heartbeat=moment):
                counts["resent"] += 1
                transaction.on_commit(lambda pk=job_id: _send_or_leave_queued(pk))
    for job in TrainingJob.objects.filter(stale):
        base = TrainingJob.objects.filter(stale, pk=job.pk, claim_token=job.claim_token)
        note = f"{moment:%H:%M:%S} reaper: no heartbeat for {stale_after_s:g} s (worker lost)\n"
        if job.attempts < settings.EOLABEL_TRAIN_MAX_ATTEMPTS:
            with transaction.atomic():
                if base.update(state=State.QUEUED, claim_token="", message="re-queued by the reaper", heartbeat=moment,
                               log=Concat(F("log"), Value(note))):  # fmt: skip
                    counts["requeued"] += 1
                    transaction.on_commit(lambda pk=job.pk: _send_or_leave_queued(pk))
        elif base.update(
            state=State.FAILED, finished=moment, error="worker lost", message="failed: worker lost",
            log=Concat(F("log"), Value(note)),
        ):  # fmt: skip
            counts["failed"] += 1
            if job.retrain_request_id:
                RetrainRequest.objects.filter(pk=job.retrain_request_id).update(
                    state=RetrainRequest.State.FAILED
                )
    return counts
