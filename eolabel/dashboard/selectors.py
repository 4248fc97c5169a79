"""Dashboard reads: labelling progress. (The loop, models and uncertainty reads live in loop.py, learning.py
and uncertainty.py.) Read-only; every figure comes from the database, never the browser.

Who sees what: the project's progress (chips labelled / reviewed / done, queue depth, leases held) is the
same for every member; the personal figures (the per-annotator table, the annotation count, the hourly
histogram and rate) are the caller's own for annotators, everyone's for reviewers and managers."""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count
from django.utils import timezone

from eolabel.labelling.codecs import IGNORE_VALUE, mask_decode
from eolabel.labelling.models import Annotation, Lease, Membership, Project, ProjectChip, Role
from ml.metrics import match_detections

HISTOGRAM_HOURS = 24


@dataclass(frozen=True)
class AnnotatorRow:
    user_id: int
    username: str
    role: str
    labels: int
    median_seconds: float | None
    agreement: float | None  # mean agreement with other annotators on shared chips; None without overlap
    shared_chips: int
    leases_held: int
    reviewed: int  # their annotations a reviewer accepted or corrected
    last_24h: int  # their annotations created in the last 24 hours


@dataclass(frozen=True)
class ProgressSummary:
    chips: int
    labelled: int  # chips with at least one annotation
    reviewed: int  # chips with at least one annotation a reviewer accepted or corrected
    done: int
    queue_depth: int  # chips available to lease now
    leases_held: int
    annotations: int  # the caller's own for annotators
    per_hour: float  # annotations per hour over the last 24 hours (the caller's own for annotators)
    last_hour: int  # annotations in the last hour (the caller's own for annotators)
    overlap: int
    scope: str  # "project" (reviewers, managers) or "own" (annotators)
    annotators: list[AnnotatorRow] = field(default_factory=list)
    hourly: list[dict[str, Any]] = field(default_factory=list)


def sees_everyone(role: str) -> bool:
    return role in (Role.REVIEWER, Role.MANAGER)


def dashboard_progress(
    *, project: Project, user: Any, role: str, now: datetime | None = None
) -> ProgressSummary:
    moment = now or timezone.now()
    chips = ProjectChip.objects.filter(project=project)
    annotations = Annotation.objects.filter(project=project)
    states = dict(chips.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n"))
    own = None if sees_everyone(role) else user.pk
    hourly = hourly_counts(project=project, only_user_id=own, now=moment)
    mine = annotations if own is None else annotations.filter(author_id=own)
    return ProgressSummary(
        chips=sum(states.values()),
        labelled=annotations.values("project_chip").distinct().count(),
        reviewed=annotations.exclude(review_state=Annotation.ReviewState.PENDING)
        .values("project_chip")
        .distinct()
        .count(),
        done=states.get(ProjectChip.State.DONE, 0),
        queue_depth=states.get(ProjectChip.State.AVAILABLE, 0),
        leases_held=Lease.objects.filter(project=project, state=Lease.State.ACTIVE).count(),
        annotations=mine.count(),
        per_hour=mine.filter(created__gt=moment - timedelta(hours=24), created__lte=moment).count() / 24,
        last_hour=mine.filter(created__gt=moment - timedelta(hours=1), created__lte=moment).count(),
        overlap=project.overlap,
        scope="project" if own is None else "own",
        annotators=annotator_rows(project=project, only_user_id=own, now=moment),
        hourly=hourly,
    )


def annotator_rows(
    *, project: Project, only_user_id: int | None = None, now: datetime | None = None
) -> list[AnnotatorRow]:
    """One row per member who annotates (or has annotated); ``only_user_id`` restricts to that user's row."""
    since = (now or timezone.now()) - timedelta(hours=24)
    members = Membership.objects.filter(project=project).select_related("user")
    annotations = list(
        Annotation.objects.filter(project=project)
        .select_related("project_chip__chip")
        .order_by("project_chip_id", "author_id")
    )
    by_author: dict[int, list[Annotation]] = defaultdict(list)
    for annotation in annotations:
        by_author[annotation.author_id].append(annotation)
    agreement = _agreements(project=project, annotations=annotations)
    leases = dict(
        Lease.objects.filter(project=project, state=Lease.State.ACTIVE)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values_list("user", "n")
    )
    rows = []
    for member in members:
        mine = by_author.get(member.user_id, [])
        if member.role == Role.REVIEWER and not mine:
            continue
        if only_user_id is not None and member.user_id != only_user_id:
            continue
        scores = agreement.get(member.user_id, [])
        rows.append(
            AnnotatorRow(
                user_id=member.user_id,
                username=member.user.get_username(),
                role=member.role,
                labels=len(mine),
                median_seconds=statistics.median(a.seconds_spent for a in mine) if mine else None,
                agreement=float(np.mean(scores)) if scores else None,
                shared_chips=len(scores),
                leases_held=leases.get(member.user_id, 0),
                reviewed=sum(a.review_state != Annotation.ReviewState.PENDING for a in mine),
                last_24h=sum(a.created > since for a in mine),
            )
        )
    return sorted(rows, key=lambda r: (-r.labels, r.username))


def _agreements(*, project: Project, annotations: list[Annotation]) -> dict[int, list[float]]:
    """Per author, one figure per chip they share with another annotator: the mean over the other annotators
    of pixel agreement (masks: share of pixels both labelled that got the same class) or box agreement
    (boxes: 2 x matches at IoU 0.5 / (boxes of one + boxes of the other); 1 when both drew none)."""
    by_chip: dict[int, list[Annotation]] = defaultdict(list)
    for annotation in annotations:
        by_chip[annotation.project_chip_id].append(annotation)
    out: dict[int, list[float]] = defaultdict(list)
    for group in by_chip.values():
        if len(group) < 2:
            continue
        decoded = {a.pk: _content(a, project=project) for a in group}
        for a in group:
            pairs = [
                _pair_agreement(decoded[a.pk], decoded[b.pk]) for b in group if b.author_id != a.author_id
            ]
            pairs = [p for p in pairs if p is not None]
            if pairs:
                out[a.author_id].append(float(np.mean(pairs)))
    return out


def _content(annotation: Annotation, *, project: Project) -> np.ndarray:
    chip = annotation.project_chip.chip
    if annotation.kind == Annotation.Kind.MASK:
        return mask_decode(
            bytes(annotation.mask_png), width=chip.width, height=chip.height, allowed=project.class_values
        )
    boxes = annotation.boxes or []
    return np.array([[b["x0"], b["y0"], b["x1"], b["y1"]] for b in boxes], dtype=np.float64).reshape(-1, 4)


def _pair_agreement(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.dtype == np.uint8:  # masks (boxes are float arrays)
        if a.shape != b.shape:
            return None
        both = (a != IGNORE_VALUE) & (b != IGNORE_VALUE)
        return float((a[both] == b[both]).mean()) if both.any() else None
    if len(a) + len(b) == 0:
        return 1.0
    matches = match_detections(a, np.ones(len(a)), b, iou_threshold=0.5).sum()
    return float(2 * matches / (len(a) + len(b)))


def hourly_counts(
    *, project: Project, only_user_id: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Annotations created in each of the last 24 hours, oldest first: ``[{"hour": iso, "count": n}]``."""
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=HISTOGRAM_HOURS)
    rows = Annotation.objects.filter(project=project, created__gte=start, created__lt=end)
    if only_user_id is not None:
        rows = rows.filter(author_id=only_user_id)
    counts = [0] * HISTOGRAM_HOURS
    for created in rows.values_list("created", flat=True):
        counts[int((created - start).total_seconds() // 3600)] += 1
    return [{"hour": (start + timedelta(hours=i)).isoformat(), "count": n} for i, n in enumerate(counts)]
