"""Annotation writes: submit a leased task's label, and edit an annotation without losing earlier versions.

Masks are stored in the database (``Annotation.mask_png``, re-encoded as canonical 8-bit grayscale PNG), not
as files under DATA_DIR: a mask is a few KB, and a row commits or rolls back together with the lease and queue
updates, so a rejected or interrupted submission can never leave an orphan file or a row pointing at a file
that was not written; revisions are rows too, and one database backup holds every label.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from eolabel.archive.models import Chip
from eolabel.labelling import codecs
from eolabel.labelling.errors import BoxesInvalid, Forbidden, InvalidInput, StaleVersion, SubmissionReused
from eolabel.labelling.models import Annotation, AnnotationRevision, Lease, Project, ProjectChip, TaskType
from eolabel.labelling.services._db import write_lock
from eolabel.labelling.services.leasing import lease_refusal
from eolabel.labelling.services.policy import retraining_maybe_trigger

MAX_SECONDS_SPENT = 86400


@dataclass(frozen=True)
class LabelContent:
    """A validated label: a canonical mask PNG, or pixel boxes as dicts."""

    kind: str
    mask_png: bytes | None = None
    boxes: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Submitted:
    annotation: Annotation
    created: bool  # False: a retry of an earlier submission, which is returned unchanged


def label_content_parse(
    *, project: Project, chip: Chip, mask_png: bytes | None = None, boxes: Any = None, geojson: Any = None
) -> LabelContent:
    """Validate what an annotator sent against the chip and the class list. Segmentation projects take a
    ``mask_png``; detection projects take pixel ``boxes`` or a ``geojson`` FeatureCollection in EPSG:4326."""
    allowed: Collection[int] = project.class_values
    given = [
        name
        for name, value in (("mask_png", mask_png), ("boxes", boxes), ("geojson", geojson))
        if value is not None
    ]
    if project.task_type == TaskType.CLOUD_SEGMENTATION:
        if given != ["mask_png"]:
            raise InvalidInput(
                "a segmentation project takes exactly one mask_png", field=(given or ["mask_png"])[-1]
            )
        array = codecs.mask_decode(mask_png, width=chip.width, height=chip.height, allowed=allowed)
        return LabelContent(kind=Annotation.Kind.MASK, mask_png=codecs.mask_encode(array))
    if len(given) != 1 or given[0] == "mask_png":
        raise InvalidInput(
            "a detection project takes either boxes or geojson", field=(given or ["boxes"])[-1]
        )
    if boxes is not None:
        parsed = codecs.boxes_validate(boxes, width=chip.width, height=chip.height, allowed=allowed)
    else:
        geo = chip_geo(chip)
        if geo is None:
            raise BoxesInvalid("the scene has no georeference: send pixel boxes", field="geojson")
        parsed = codecs.boxes_from_geojson(
            geojson, geo=geo, width=chip.width, height=chip.height, allowed=allowed
        )
    return LabelContent(kind=Annotation.Kind.BOXES, boxes=[b.as_dict() for b in parsed])


def chip_geo(chip: Chip) -> codecs.ChipGeo | None:
    scene = chip.scene
    if not scene.georeferenced or not scene.transform or not scene.crs:
        return None
    return codecs.ChipGeo(
        crs=scene.crs, transform=tuple(scene.transform), col_off=chip.col_off, row_off=chip.row_off
    )


def annotation_submit(
    *,
    lease: Lease,
    user: AbstractBaseUser,
    submission_id: uuid.UUID,
    seconds_spent: float,
    mask_png: bytes | None = None,
    boxes: Any = None,
    geojson: Any = None,
    started_from_prelabel: bool = True,
    now: datetime | None = None,
) -> Submitted:
    """Store the label of a leased chip (see ``label_content_parse``) and close the lease. A retry with the same
    ``submission_id`` returns the first annotation unchanged, also after the lease ended. Refused with
    LeaseExpired after the lease's time, with an InvalidInput subclass for a bad label; a refused submission
    changes nothing. After commit, the retraining policy is asked whether to retrain."""
    replay = _replay(submission_id, lease=lease, user=user)
    if replay is not None:
        return replay
    if lease.user_id != user.pk:
        raise Forbidden("only the annotator holding this task may submit it")
    seconds_spent_check(seconds_spent)
    content = label_content_parse(
        project=lease.project, chip=lease.project_chip.chip, mask_png=mask_png, boxes=boxes, geojson=geojson
    )
    try:
        with transaction.atomic():
            write_lock()
            moment = now or timezone.now()
            closed = Lease.objects.filter(
                pk=lease.pk, state=Lease.State.ACTIVE, expires_at__gt=moment
            ).update(state=Lease.State.SUBMITTED, ended_at=moment)
            if not closed:
                replay = _replay(submission_id, lease=lease, user=user)  # a concurrent retry committed first
                if replay is not None:
                    return replay
                raise lease_refusal(Lease.objects.get(pk=lease.pk), now=moment)
            _chip_count_submission(lease)
            annotation = Annotation.objects.create(
                project_id=lease.project_id,
                project_chip_id=lease.project_chip_id,
                lease=lease,
                author=user,
                submission_id=submission_id,
                kind=content.kind,
                mask_png=content.mask_png,
                boxes=content.boxes,
                seconds_spent=float(seconds_spent),
                model_version=lease.model_version,
                strategy=lease.strategy,
                score=lease.score,
                prelabel_model_version=lease.prelabel_model_version if started_from_prelabel else "",
                updated_by=user,
                updated=moment,
            )
            transaction.on_commit(partial(retraining_maybe_trigger, lease.project_id), robust=True)
    except IntegrityError:
        replay = _replay(submission_id, lease=lease, user=user)
        if replay is None:
            raise
        return replay
    return Submitted(annotation=annotation, created=True)


def annotation_edit(
    *,
    annotation: Annotation,
    user: AbstractBaseUser,
    version: int,
    mask_png: bytes | None = None,
    boxes: Any = None,
    geojson: Any = None,
    seconds_spent: float = 0.0,
    now: datetime | None = None,
) -> Annotation:
    """Replace the label if ``version`` is still the annotation's version (optimistic concurrency), keeping
    the replaced version as an AnnotationRevision. ``seconds_spent`` (this edit's time) adds to the total."""
    seconds_spent_check(seconds_spent)
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
        if current.version != version:
            raise StaleVersion(
                f"version {version} is stale: the annotation is at version {current.version}; reload it and edit again",
                field="version",
            )
        annotation_revise(
            current=current,
            content=content,
            user=user,
            seconds_spent=seconds_spent,
            moment=now or timezone.now(),
        )
    return current


def annotation_revise(
    *,
    current: Annotation,
    content: LabelContent,
    user: AbstractBaseUser,
    seconds_spent: float,
    moment: datetime,
) -> None:
    """Make ``content`` (already parsed) the next version of ``current``, keeping the replaced version as an
    AnnotationRevision. The caller holds ``current`` locked (select_for_update) and has checked its version."""
    AnnotationRevision.objects.create(
        annotation=current,
        version=current.version,
        mask_png=current.mask_png,
        boxes=current.boxes,
        seconds_spent=current.seconds_spent,
        made_by_id=current.updated_by_id,
        made_at=current.updated,
    )
    current.mask_png = content.mask_png
    current.boxes = content.boxes
    current.seconds_spent = current.seconds_spent + float(seconds_spent)
    current.version = current.version + 1
    current.updated_by = user
    current.updated = moment
    current.save(update_fields=["mask_png", "boxes", "seconds_spent", "version", "updated_by", "updated"])


def _replay(submission_id: uuid.UUID, *, lease: Lease, user: AbstractBaseUser) -> Submitted | None:
    existing = Annotation.objects.filter(submission_id=submission_id).first()
    if existing is None:
        return None
    if existing.lease_id != lease.pk or existing.author_id != user.pk:
        raise SubmissionReused(
            f"submission_id {submission_id} was already used for another task; generate a new one",
            field="submission_id",
        )
    return Submitted(annotation=existing, created=False)


def _chip_count_submission(lease: Lease) -> None:
    overlap = Project.objects.filter(pk=lease.project_id).values_list("overlap", flat=True).get()
    counted = ProjectChip.objects.filter(pk=lease.project_chip_id, state=ProjectChip.State.LEASED).update(
        done_count=F("done_count") + 1,
        state=Case(
            When(done_count__gte=overlap - 1, then=Value(ProjectChip.State.DONE)),
            default=Value(ProjectChip.State.AVAILABLE),
        ),
    )
    if counted != 1:  # the active lease guarantees the chip is leased; anything else is a bug, so roll back
        raise RuntimeError(
            f"queue invariant broken: chip {lease.project_chip_id} of lease {lease.pk} is not leased"
        )


def seconds_spent_check(seconds: float) -> None:
    if not 0 <= seconds <= MAX_SECONDS_SPENT:
        raise InvalidInput(f"must be between 0 and {MAX_SECONDS_SPENT}", field="seconds_spent")
