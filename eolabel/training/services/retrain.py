"""One retraining of a project: fine-tune (or start a seeded tiny net), evaluate against the current model on
the same chips, register, and promote only a winner — after its pool scores are written, in one transaction
with the ranking switch. Until then the project's ``current_model_version`` does not move."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from django.conf import settings
from django.db import transaction
from torch import nn

from eolabel.labelling.models import Project
from eolabel.labelling.services.projects import project_ranking_activate
from eolabel.ranking.models import ChipScore
from eolabel.training.errors import JobLost, NothingToTrain
from eolabel.training.models import ModelVersion, TrainingJob
from eolabel.training.services.datasets import (
    LabelledChips,
    annotated_chips_load,
    num_classes,
    project_cloud_values,
    project_task,
    reference_chips_load,
)
from eolabel.training.services.evaluation import candidate_wins, model_evaluate, primary_metric
from eolabel.training.services.pixels import scenes_band_stats
from eolabel.training.services.registry import project_registry, registry_name
from eolabel.training.services.scoring import pool_score
from ml.data import ChipDataset
from ml.data.normalization import BandStats
from ml.errors import RegistryError
from ml.models import UNet, VehicleNet
from ml.training import TrainProgress, train

logger = logging.getLogger(__name__)
Beat = Callable[[float, str], None]
Log = Callable[[str], None]


@dataclass(frozen=True)
class RetrainOutcome:
    version: str
    promoted: bool
    metric_name: str
    metric: float | None
    current_metric: float | None
    training_size: int


@dataclass
class Hooks:
    """How a run reports and learns it must stop; a job passes its claim's methods."""

    beat: Beat = lambda fraction, message: None  # noqa: E731
    log: Log = lambda line: None  # noqa: E731
    should_stop: Callable[[], bool] = lambda: False  # noqa: E731
    check: Callable[[], None] = lambda: None  # noqa: E731


def model_new(*, task: str, in_channels: int, classes: int, seed: int) -> nn.Module:
    """A tiny seeded net (width/depth from settings); the caller's RNG is left untouched."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        kwargs = {
            "depth": settings.EOLABEL_TRAIN_DEPTH,
            "width": settings.EOLABEL_TRAIN_WIDTH,
            "dropout": 0.2,
        }
        if task == "cloud":
            return UNet(in_channels, classes, **kwargs)
        return VehicleNet(in_channels, 1, stride=2, **kwargs)


def clean_json(value: Any) -> Any:
    """NaN/inf -> None, recursively (PostgreSQL's jsonb refuses NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def _current(project: Project, log: Log) -> tuple[nn.Module | None, Any]:
    if not project.current_model_version:
        return None, None
    try:
        return project_registry().load(project.current_model_version)
    except RegistryError as exc:
        log(f"current model {project.current_model_version} cannot be loaded ({exc}); training from scratch")
        return None, None


def _fit(model: nn.Module, train_set: LabelledChips, *, task: str, stats: BandStats, seed: int, hooks: Hooks):
    if task == "cloud":
        dataset = ChipDataset(train_set.images, train_set.masks, stats=stats, augment=True, seed=seed)
    else:
        dataset = ChipDataset(train_set.images, boxes=train_set.boxes, stats=stats, augment=True, seed=seed)
    batch_size = settings.EOLABEL_TRAIN_BATCH
    per_epoch = max(1, -(-len(dataset) // batch_size))
    epochs = settings.EOLABEL_TRAIN_EPOCHS or max(1, -(-settings.EOLABEL_TRAIN_STEPS // per_epoch))
    total = epochs * per_epoch

    def progress(p: TrainProgress) -> None:
        hooks.beat(
            0.1 + 0.6 * min(p.step / total, 1.0), f"training: epoch {p.epoch + 1}/{epochs}, loss {p.loss:.4f}"
        )

    result = train(
        model, dataset, task="segmentation" if task == "cloud" else "detection", epochs=epochs,
        time_budget_s=settings.EOLABEL_TRAIN_TIME_BUDGET_S, seed=seed, batch_size=batch_size,
        lr=settings.EOLABEL_TRAIN_LR, progress=progress, should_stop=hooks.should_stop,
        num_threads=settings.EOLABEL_TRAIN_THREADS,
    )  # fmt: skip
    if result.stopped:
        raise JobLost("training stopped: the job is no longer ours")
    return result


def project_retrain(
    *, project: Project, job: TrainingJob | None = None, hooks: Hooks | None = None
) -> RetrainOutcome:
    """Train, evaluate, register; if the candidate wins, score the pool and switch the ranking to it."""
    hooks = hooks or Hooks()
    task = project_task(project)
    current, current_meta = _current(project, hooks.log)
    hooks.beat(0.02, "loading chips")
    if current_meta is not None and current_meta.band_stats:
        stats = BandStats.from_dict(current_meta.band_stats)
    else:
        stats = scenes_band_stats(scenes=list(project.scenes.order_by("pk")))
    train_set = annotated_chips_load(project=project, stats=stats, validation=False, binary=False)
    if not len(train_set):
        raise NothingToTrain(f"project {project.pk} has no annotation on a training chip")
    seed = settings.EOLABEL_TRAIN_SEED + (job.pk if job else 0)
    in_channels = train_set.images[0].shape[0]
    model = (
        copy.deepcopy(current)
        if current is not None
        else model_new(task=task, in_channels=in_channels, classes=num_classes(project), seed=seed)
    )
    hooks.log(
        f"{len(train_set)} training chips; {'fine-tuning ' + project.current_model_version if current else 'new model'}"
    )
    result = _fit(model, train_set, task=task, stats=stats, seed=seed, hooks=hooks)
    hooks.log(
        f"trained {result.epochs_completed} epochs, {result.steps} steps ({result.reason}), loss {result.last_loss}"
    )
    hooks.beat(0.72, "evaluating")
    positive = project_cloud_values(project) if task == "cloud" else set()
    sets = {
        "validation": annotated_chips_load(project=project, stats=stats, validation=True, binary=True),
        "reference": reference_chips_load(project=project, stats=stats),
    }
    metrics = {
        k: model_evaluate(model, s, task=task, stats=stats, positive=positive) for k, s in sets.items()
    }
    metric_name, value = primary_metric(metrics, task=task)
    current_value = None
    if current is not None:
        current_metrics = {
            k: model_evaluate(current, s, task=task, stats=stats, positive=positive) for k, s in sets.items()
        }
        metrics["current"] = {"version": project.current_model_version, **current_metrics}
        source, _, key = metric_name.partition(".")
        scores = current_metrics.get(source) if key else None
        current_value = scores[key] if scores else None
    wins = candidate_wins(candidate=value, current=current_value, has_current=current is not None)
    metrics["training"] = {
        "chips": len(train_set), "epochs": result.epochs_completed, "steps": result.steps, "reason": result.reason,
        "last_loss": result.last_loss, "seconds": round(result.elapsed_s, 3),
    }  # fmt: skip
    metrics = clean_json({**metrics, "metric": metric_name, "value": value, "current_value": current_value})
    hooks.log(
        f"{metric_name}: candidate {value} vs current {current_value} -> {'promote' if wins else 'keep current'}"
    )
    hooks.check()
    version = _register(project, model, task=task, stats=stats, train_set=train_set, metrics=metrics, job=job,
                        metric_name=metric_name, value=value)  # fmt: skip
    hooks.log(f"registered {version.version}")
    if wins:
        model_version_promote(project=project, version=version, beat=hooks.beat, check=hooks.check)
        hooks.log(f"promoted {version.version}; ranking updated")
    return RetrainOutcome(version.version, wins, metric_name, value, current_value, len(train_set))


def _register(project, model, *, task, stats, train_set, metrics, job, metric_name, value) -> ModelVersion:
    sensor = project.sensors.order_by("name").first()
    meta = project_registry().register(
        model,
        task="segmentation" if task == "cloud" else "detection",
        name=registry_name(project_id=project.pk),
        classes=[c["name"] for c in sorted(project.classes, key=lambda c: c["value"])],
        bands=sensor.band_names if sensor and len(sensor.band_names) == stats.num_bands else [],
        sensor=sensor.name if sensor else None,
        parent=project.current_model_version or None,
        training_fingerprint=train_set.fingerprint(),
        metrics=metrics,
        band_stats=stats.to_dict(),
        extra={"project": project.pk, "job": job.pk if job else None, "chip_size": project.chip_size},
    )
    return ModelVersion.objects.create(
        project=project, version=meta.id, parent=project.current_model_version, job=job, task=meta.task,
        training_size=len(train_set), training_fingerprint=meta.training_fingerprint or "",
        metric_name=metric_name, metric=value if value is not None and math.isfinite(value) else None,
        metrics=metrics,
    )  # fmt: skip


def model_version_promote(
    *,
    project: Project,
    version: ModelVersion,
    beat: Beat | None = None,
    check: Callable[[], None] | None = None,
) -> int:
    """Score the pool with ``version``, then in one transaction mark it promoted and rank the queue by it (which
    sets the project's current model). Returns how many chips were scored."""
    scored = pool_score(project=project, model_version=version.version, beat=_scaled(beat, 0.75, 0.98))
    with transaction.atomic():
        if check is not None:
            check()
        ModelVersion.objects.filter(pk=version.pk).update(promoted=True)
        if version.job_id:
            TrainingJob.objects.filter(pk=version.job_id).update(promoted=True)
        if ChipScore.objects.filter(project=project, model_version=version.version).exists():
            project_ranking_activate(project=project, model_version=version.version)
        else:  # nothing left to rank: the version still becomes the current model
            Project.objects.filter(pk=project.pk).update(current_model_version=version.version)
            project.current_model_version = version.version
    return scored


def _scaled(beat: Beat | None, low: float, high: float) -> Beat | None:
    if beat is None:
        return None
    return lambda fraction, message: beat(low + (high - low) * fraction, message)


def project_rescore(*, project: Project, hooks: Hooks | None = None) -> int:
    """Re-score the pool with the project's current model and re-rank the queue by it (``manage.py score``)."""
    hooks = hooks or Hooks()
    version = project.current_model_version
    scored = pool_score(project=project, model_version=version, beat=_scaled(hooks.beat, 0.0, 0.98))
    with transaction.atomic():
        hooks.check()
        if scored:
            project_ranking_activate(project=project, model_version=version)
    return scored
