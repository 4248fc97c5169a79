"""Review: a reviewer (or manager) accepts an annotation's current version as is, or corrects it. A correction is
a revision (``annotation_revise``, as an edit): it becomes the next version and the annotator's version is kept as a revision.

Both decisions name the version they are about (optimistic concurrency, 409 when it moved on) and are safe to
retry: accepting an accepted version again, or sending the same correction again after its answer was lost,
returns the stored result unchanged instead of a conflict or a second version."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from eolabel.labelling.errors import Forbidden, StaleVersion
from eolabel.labelling.models import Annotation
from eolabel.labelling.services._db import write_lock
from eolabel.labelling.services.annotations import (
    annotation_revise,
    label_content_parse,
    seconds_spent_check,
)


@dataclass(frozen=True)
class Reviewed:
    annotation: Annotation
    changed: bool  # False: a retry of a decision already stored, returned unchanged


def annotation_accept(
    *, annotation: Annotation, user: AbstractBaseUser, version: int, now: datetime | None = None
) -> Reviewed:
    """Accept ``version`` of the annotation as it is. StaleVersion when the annotation is at another version."""
    _not_own(annotation=annotation, user=user)
    with transaction.atomic():
        write_lock()
        current = Annotation.objects.select_for_update().get(pk=annotation.pk)
        _version_check(current, version=version)
        if (
            current.review_state == Annotation.ReviewState.ACCEPTED
            and current.reviewed_version == version
            and current.reviewed_by_id == user.pk
        ):
            return Reviewed(annotation=current, changed=False)
        _mark(current, user=user, state=Annotation.ReviewState.ACCEPTED, moment=now or timezone.now())
    return Reviewed(annotation=current, changed=True)


def annotation_correct(
    *,
    annotation: Annotation,
    user: AbstractBaseUser,
    version: int,
    mask_png: bytes | None = None,
    boxes: Any = None,
    geojson: Any = None,
    seconds_spent: float = 0.0,
    now: datetime | None = None,
) -> Reviewed:
    """Replace ``version`` with the reviewer's label, as version ``version + 1``, and mark it corrected. The label
    is validated like a submission (InvalidInput subclasses); StaleVersion when the annotation moved on."""
    _not_own(annotation=annotation, user=user)
    content = label_content_parse(
        project=annotation.project,
        chip=annotation.project_chip.chip,
        mask_png=mask_png,
        boxes=boxes,
        geojson=geojson,
    )
    with transaction.atomic():
        write_lock()
        current = Annotation.objects.select_for_update().get(pk=annotation.pk)
        if _is_replay(current, user=user, version=version, content=content):
            return Reviewed(annotation=current, changed=False)
        _version_check(current, version=version)
        seconds_spent_check(seconds_spent)
        moment = now or timezone.now()
        annotation_revise(
            current=current, content=content, user=user, seconds_spent=seconds_spent, moment=moment
        )
        _mark(current, user=user, state=Annotation.ReviewState.CORRECTED, moment=moment)
    return Reviewed(annotation=current, changed=True)


def _not_own(*, annotation: Annotation, user: AbstractBaseUser) -> None:
    if annotation.author_id == user.pk:
        raise Forbidden("you cannot review your own annotation: another reviewer or manager must")


def _version_check(current: Annotation, *, version: int) -> None:
    if current.version != version:
        raise StaleVersion(
            f"version {version} is stale: the annotation is at version {current.version} "
            f"({current.get_review_state_display()}); reload it and review again",
            field="version",
        )


def _is_replay(current: Annotation, *, user: AbstractBaseUser, version: int, content: Any) -> bool:
    """The same correction by the same reviewer, already stored as the next version."""
    return (
        current.review_state == Annotation.ReviewState.CORRECTED
        and current.reviewed_by_id == user.pk
        and current.version == version + 1
        and current.reviewed_version == current.version
        and (bytes(current.mask_png) if current.mask_png is not None else None) == content.mask_png
        and current.boxes == content.boxes
    )


def _mark(annotation: Annotation, *, user: AbstractBaseUser, state: str, moment: datetime) -> None:
    annotation.review_state = state
    annotation.reviewed_by = user
    annotation.reviewed_at = moment
    annotation.reviewed_version = annotation.version
    annotation.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "reviewed_version"])
