"""Ranking reads: the scores of one model version, and the pre-label a lease was offered."""

from django.db.models import Max, QuerySet

from eolabel.ranking.models import ChipScore, Prelabel


def chip_scores(*, project_id: int, model_version: str) -> QuerySet[ChipScore]:
    """The scores of one pass, best first (score descending, then rank, then chip id)."""
    return ChipScore.objects.filter(project_id=project_id, model_version=model_version).order_by(
        "-score", "rank", "chip_id"
    )


def chip_score_get(*, project_id: int, chip_id: int, model_version: str) -> ChipScore | None:
    return ChipScore.objects.filter(
        project_id=project_id, chip_id=chip_id, model_version=model_version
    ).first()


def model_versions(*, project_id: int) -> list[str]:
    """Model versions that have scores for the project, most recent pass first."""
    passes = (
        ChipScore.objects.filter(project_id=project_id)
        .values("model_version")
        .annotate(last=Max("created"))
        .order_by("-last", "model_version")
    )
    return [row["model_version"] for row in passes]


def prelabel_get(*, project_id: int, chip_id: int, model_version: str) -> Prelabel | None:
    if not model_version:
        return None
    return Prelabel.objects.filter(
        project_id=project_id, chip_id=chip_id, model_version=model_version
    ).first()


def prelabel_exists(*, project_id: int, chip_id: int, model_version: str) -> bool:
    if not model_version:
        return False
    return Prelabel.objects.filter(
        project_id=project_id, chip_id=chip_id, model_version=model_version
    ).exists()
