"""The queue: lease the best chip to an annotator, skip it, and return expired leases to the pool.

How two annotators are kept off the same chip:
- every claim is a conditional ``UPDATE projectchip SET state='leased' WHERE id=? AND state='available'`` whose
  row count says who won (a loser moves on to the next candidate), inside the transaction that creates the
  lease; a partial unique index allows one active lease per chip and one per user and project;
- PostgreSQL: the candidate is read with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent annotators pick
  different rows without waiting on each other;
- SQLite: the transaction takes the database write lock before reading (``write_lock``), so claims are
  serialised, and the conditional UPDATE stays as the check.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.utils import timezone

from eolabel.labelling.errors import Conflict, Forbidden, LeaseExpired, LeaseNotActive
from eolabel.labelling.models import Annotation, Lease, Project, ProjectChip
from eolabel.labelling.services._db import write_lock
from eolabel.ranking.models import Strategy
from eolabel.ranking.selectors import chip_score_get, prelabel_exists

CLAIM_ATTEMPTS = 20


@dataclass(frozen=True)
class NextTask:
    """The outcome of "next": a lease, or None with the reason the queue is empty for this user."""

    lease: Lease | None
    resumed: bool = False
    reason: str = ""


def lease_seconds() -> int:
    return int(getattr(settings, "EOLABEL_LEASE_SECONDS", 900))


def lease_next(*, project: Project, user: AbstractBaseUser, now: datetime | None = None) -> NextTask:
    """Lease the best chip the user may label: highest current score, then cold-start order; never a chip
    that is leased, done, or already annotated or skipped by this user. A user who already holds an active
    lease in the project gets it back (idempotent). Expired leases of the project are returned first."""
    for attempt in range(CLAIM_ATTEMPTS):
        if attempt:
            time.sleep(
                min(0.01 * 2**attempt, 0.5)
            )  # back off: other claimers or a ranking update hold the rows
        try:
            with transaction.atomic():
                write_lock()
                moment = now or timezone.now()
                _expire(project_id=project.pk, now=moment)
                held = _active_lease(project, user)
                if held is not None:
                    return NextTask(lease=held, resumed=True)
                current = Project.objects.get(pk=project.pk)
                candidate = _candidates(current, user).select_for_update(skip_locked=True).first()
                if candidate is None:
                    if _candidates(current, user).exists():
                        # Open chips exist but every one is row-locked: being claimed by other annotators, or
                        # being re-ranked by a promotion (it updates every chip in one transaction). Not empty.
                        continue
                    return NextTask(lease=None, reason=_empty_reason(current, user))
                if _ranking_changed(current):
                    continue  # a promotion committed between reading the project and its chips: read again
                claimed = ProjectChip.objects.filter(
                    pk=candidate.pk, state=ProjectChip.State.AVAILABLE
                ).update(state=ProjectChip.State.LEASED)
                if claimed:
                    # stamped after the claim: a lease never starts before the previous lease of the chip ended
                    return NextTask(lease=_lease_create(current, candidate, user, now or timezone.now()))
        except IntegrityError:
            # The same user's concurrent "next" won (one active lease per user and project): return that one.
            held = _active_lease(project, user)
            if held is not None:
                return NextTask(lease=held, resumed=True)
    raise Conflict("the queue is busy: no chip could be claimed, try again")


def lease_skip(*, lease: Lease, user: AbstractBaseUser, reason: str, now: datetime | None = None) -> Lease:
    """Give the chip back with a reason; it is not served to this user again. Skipping twice is a no-op."""
    if lease.user_id != user.pk:
        raise Forbidden("only the annotator holding this task may skip it")
    with transaction.atomic():
        write_lock()
        moment = now or timezone.now()
        moved = Lease.objects.filter(pk=lease.pk, state=Lease.State.ACTIVE, expires_at__gt=moment).update(
            state=Lease.State.SKIPPED, ended_at=moment, skip_reason=reason
        )
        current = Lease.objects.get(pk=lease.pk)
        if moved:
            ProjectChip.objects.filter(pk=lease.project_chip_id, state=ProjectChip.State.LEASED).update(
                state=ProjectChip.State.AVAILABLE
            )
            return current
    if current.state == Lease.State.SKIPPED:
        return current
    raise lease_refusal(current, now=moment)


def leases_expire(*, now: datetime | None = None, project: Project | None = None) -> int:
    """Return every lease past its time to the pool; returns how many. "next" also does this lazily."""
    with transaction.atomic():
        write_lock()
        return _expire(project_id=project.pk if project else None, now=now or timezone.now())


def lease_refusal(lease: Lease, *, now: datetime) -> Conflict:
    """Why a lease cannot be submitted or skipped any more."""
    if lease.state == Lease.State.EXPIRED or (lease.state == Lease.State.ACTIVE and lease.expires_at <= now):
        return LeaseExpired(
            f"lease expired at {lease.expires_at:%Y-%m-%dT%H:%M:%SZ}: the chip went back to the queue; "
            "request a new task"
        )
    if lease.state == Lease.State.SUBMITTED:
        annotation_id = Annotation.objects.filter(lease=lease).values_list("pk", flat=True).first()
        return LeaseNotActive(
            f"task already submitted (annotation {annotation_id}); edit that annotation instead"
        )
    return LeaseNotActive("task was skipped")


def _active_lease(project: Project, user: AbstractBaseUser) -> Lease | None:
    return Lease.objects.filter(project=project, user=user, state=Lease.State.ACTIVE).first()


def _candidates(project: Project, user: AbstractBaseUser) -> QuerySet[ProjectChip]:
    return (
        ProjectChip.objects.filter(project=project, state=ProjectChip.State.AVAILABLE)
        .filter(~Exists(_annotated_by(user)), ~Exists(_skipped_by(user)))
        .order_by(F("score").desc(nulls_last=True), F("rank").asc(nulls_last=True), "cold_key", "pk")
    )


def _excluded_for(project: Project, user: AbstractBaseUser) -> QuerySet[ProjectChip]:
    """Open chips this user may not take: annotated or skipped by them."""
    return ProjectChip.objects.filter(project=project, state=ProjectChip.State.AVAILABLE).filter(
        Exists(_annotated_by(user)) | Exists(_skipped_by(user))
    )


def _annotated_by(user: AbstractBaseUser) -> QuerySet[Annotation]:
    return Annotation.objects.filter(project_chip=OuterRef("pk"), author=user)


def _skipped_by(user: AbstractBaseUser) -> QuerySet[Lease]:
    return Lease.objects.filter(project_chip=OuterRef("pk"), user=user, state=Lease.State.SKIPPED)


def _ranking_changed(project: Project) -> bool:
    """Whether another model version was activated since ``project`` was read. On PostgreSQL (read committed)
    the chip rows are read after the project row, so a promotion committing in between would pair one version's
    name with the next version's scores; checking again after the chip is locked closes that gap (the
    activation's update of the locked chip waits for this transaction)."""
    now = Project.objects.filter(pk=project.pk).values_list("current_model_version", flat=True).first()
    return now != project.current_model_version


def _lease_create(project: Project, chip: ProjectChip, user: AbstractBaseUser, now: datetime) -> Lease:
    version = project.current_model_version
    ranked = chip.score is not None and bool(version)
    score_row = (
        chip_score_get(project_id=project.pk, chip_id=chip.chip_id, model_version=version) if ranked else None
    )
    has_prelabel = prelabel_exists(project_id=project.pk, chip_id=chip.chip_id, model_version=version)
    return Lease.objects.create(
        project=project,
        project_chip=chip,
        user=user,
        state=Lease.State.ACTIVE,
        leased_at=now,
        expires_at=now + timedelta(seconds=lease_seconds()),
        model_version=version if ranked else "",
        strategy=score_row.strategy if score_row else (project.strategy if ranked else Strategy.RANDOM),
        score=(score_row.score if score_row else chip.score) if ranked else None,
        prelabel_model_version=version if has_prelabel else "",
    )


def _expire(*, project_id: int | None, now: datetime) -> int:
    stale = Lease.objects.filter(state=Lease.State.ACTIVE, expires_at__lte=now)
    if project_id is not None:
        stale = stale.filter(project_id=project_id)
    rows = list(stale.select_for_update(skip_locked=True).values_list("pk", "project_chip_id"))
    if not rows:
        return 0
    Lease.objects.filter(pk__in=[r[0] for r in rows], state=Lease.State.ACTIVE).update(
        state=Lease.State.EXPIRED, ended_at=now
    )
    ProjectChip.objects.filter(pk__in=[r[1] for r in rows], state=ProjectChip.State.LEASED).update(
        state=ProjectChip.State.AVAILABLE
    )
    return len(rows)


def _empty_reason(project: Project, user: AbstractBaseUser) -> str:
    counts = dict(
        ProjectChip.objects.filter(project=project)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    if not counts:
        return "this project has no chips yet: a manager needs to add scenes"
    available = counts.get(ProjectChip.State.AVAILABLE, 0)
    leased = counts.get(ProjectChip.State.LEASED, 0)
    if not available and not leased:
        return f"every chip is done ({project.overlap} annotation(s) each)"
    parts = []
    if available:
        yours = _excluded_for(project, user).count()
        if yours:
            parts.append(f"the {yours} open chip(s) were already annotated or skipped by you")
        if available > yours:
            parts.append(f"{available - yours} are being handed to other annotators right now")
    if leased:
        parts.append(f"{leased} are leased to other annotators and come back if their leases expire")
    return "no chip for you now: " + "; ".join(parts)
