"""Dashboard reads: labelling progress, the training loop, model versions and the learning curve, and the
uncertainty layer. Read-only; every figure comes from the database (or the simulator's CSV), never the browser.

Who sees what: annotators get their own row of the per-annotator table and their own hourly histogram;
reviewers and managers get everyone's."""

import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from eolabel.labelling.codecs import IGNORE_VALUE, mask_decode
from eolabel.labelling.models import Annotation, Lease, Membership, Project, ProjectChip, Role
from eolabel.ranking.models import ChipScore
from eolabel.training.models import ModelVersion, TrainingJob
from ml.metrics import match_detections

HISTOGRAM_HOURS = 24
JOB_HISTORY = 20


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


@dataclass(frozen=True)
class ProgressSummary:
    chips: int
    labelled: int  # chips with at least one annotation
    reviewed: int  # chips with an annotation last edited by someone other than its author
    done: int
    queue_depth: int  # chips available to lease now
    leases_held: int
    annotations: int
    overlap: int
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
    return ProgressSummary(
        chips=sum(states.values()),
        labelled=annotations.values("project_chip").distinct().count(),
        reviewed=annotations.filter(~Q(updated_by=F("author"))).values("project_chip").distinct().count(),
        done=states.get(ProjectChip.State.DONE, 0),
        queue_depth=states.get(ProjectChip.State.AVAILABLE, 0),
        leases_held=Lease.objects.filter(project=project, state=Lease.State.ACTIVE).count(),
        annotations=annotations.count(),
        overlap=project.overlap,
        annotators=annotator_rows(project=project, only_user_id=own),
        hourly=hourly_counts(project=project, only_user_id=own, now=moment),
    )


def annotator_rows(*, project: Project, only_user_id: int | None = None) -> list[AnnotatorRow]:
    """One row per member who annotates (or has annotated); ``only_user_id`` restricts to that user's row."""
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


# --- the loop ----------------------------------------------------------------------------------------------


def dashboard_loop(*, project: Project) -> dict[str, Any]:
    """The active job (if any), recent jobs with their logs, and the retraining policy's state."""
    jobs = list(TrainingJob.objects.filter(project=project).order_by("-created", "-id")[:JOB_HISTORY])
    active = next((j for j in jobs if j.state in (TrainingJob.State.QUEUED, TrainingJob.State.RUNNING)), None)
    trained = Annotation.objects.filter(project=project, project_chip__is_validation=False).count()
    last_request = project.retrain_requests.order_by("-requested_at").first()
    since = last_request.annotations_total if last_request else 0
    return {
        "active": _job(active) if active else None,
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


def _job(job: TrainingJob) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

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
        "created": iso(job.created),
        "started": iso(job.started),
        "finished": iso(job.finished),
        "heartbeat": iso(job.heartbeat),
    }


# --- models and the learning curve -------------------------------------------------------------------------


def dashboard_models(*, project: Project) -> dict[str, Any]:
    versions = list(ModelVersion.objects.filter(project=project).order_by("created", "id"))
    metric_name = versions[-1].metric_name if versions else ("f2" if _is_cloud(project) else "ap50")
    table = [
        {
            "version": v.version,
            "created": v.created.isoformat(),
            "parent": v.parent,
            "training_size": v.training_size,
            "metric_name": v.metric_name,
            "metric": v.metric,
            "metrics": v.metrics,
            "promoted": v.promoted,
            "current": v.version == project.current_model_version,
        }
        for v in reversed(versions)
    ]
    curve = [
        {"version": v.version, "n_labels": v.training_size, "value": v.metric, "promoted": v.promoted}
        for v in versions
        if v.metric is not None
    ]
    # The simulator's random baseline, and its curve for the project's own strategy where it ran one.
    simulation = simulation_curves(metric=metric_name) if _is_cloud(project) else {}
    simulation = {k: v for k, v in simulation.items() if k in ("random", project.strategy)}
    return {"metric_name": metric_name, "versions": table, "curve": curve, "simulation": simulation}


def _is_cloud(project: Project) -> bool:
    return project.task_type == "cloud-segmentation"


def simulation_csv_path() -> Path:
    default = Path(settings.BASE_DIR) / "docs" / "figures" / "al-cloud-binary.csv"
    return Path(getattr(settings, "EOLABEL_DASHBOARD_SIMULATION_CSV", default))


def simulation_curves(*, metric: str, path: Path | None = None) -> dict[str, list[dict[str, float]]]:
    """Mean of ``metric`` over seeds per number of labels, per strategy, from the simulator's CSV
    (``ml.simulate`` output). Empty when the file is missing or has no such column."""
    source = path or simulation_csv_path()
    if not source.is_file():
        return {}
    values: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    with source.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(metric) in (None, ""):
                continue
            values[row["strategy"]][int(row["n_labelled"])].append(float(row[metric]))
    return {
        strategy: [{"n_labels": n, "value": float(np.mean(v))} for n, v in sorted(by_n.items())]
        for strategy, by_n in sorted(values.items())
    }


# --- the uncertainty layer ----------------------------------------------------------------------------------


def uncertainty_geojson(*, project: Project, model_version: str | None = None) -> dict[str, Any]:
    """The chips scored by ``model_version`` (default: the project's current one) as EPSG:4326 rectangles
    with their score; chips without geographic bounds are left out."""
    version = model_version or project.current_model_version
    scores = (
        ChipScore.objects.filter(project=project, model_version=version, chip__west__isnull=False)
        .select_related("chip")
        .order_by("chip_id")
        if version
        else ChipScore.objects.none()
    )
    features = []
    for s in scores:
        c = s.chip
        ring = [[c.west, c.south], [c.east, c.south], [c.east, c.north], [c.west, c.north], [c.west, c.south]]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"chip": c.pk, "scene": c.scene_id, "score": s.score, "rank": s.rank},
            }
        )
    values = [f["properties"]["score"] for f in features]
    return {
        "type": "FeatureCollection",
        "model_version": version,
        "score_range": [min(values), max(values)] if values else None,
        "features": features,
    }
