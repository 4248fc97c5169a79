"""Training reads: jobs and model versions of a project."""

from django.db.models import QuerySet

from eolabel.training.models import ModelVersion, TrainingJob


def training_jobs(*, project_id: int) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.filter(project_id=project_id).order_by("-created", "-id")


def training_job_get(*, project_id: int, job_id: int) -> TrainingJob | None:
    return TrainingJob.objects.filter(project_id=project_id, pk=job_id).first()


def training_job_active(*, project_id: int) -> TrainingJob | None:
    return TrainingJob.objects.filter(
        project_id=project_id, state__in=(TrainingJob.State.QUEUED, TrainingJob.State.RUNNING)
    ).first()


def model_versions(*, project_id: int) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(project_id=project_id).order_by("-created", "-id")


def model_version_get(*, project_id: int, version: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(project_id=project_id, version=version).first()
