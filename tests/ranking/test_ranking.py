"""Chip scores: one per (project, chip, model version); selectors order them; strategy names match ml's."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from eolabel.labelling.models import ProjectChip
from eolabel.ranking.models import ChipScore, Prelabel, Strategy
from eolabel.ranking.selectors import chip_score_get, chip_scores, model_versions, prelabel_get
from tests.labelling.factories import make_project, make_scene, make_user


def test_strategy_names_are_those_of_ml():
    from ml.strategies import MEASURES

    assert set(MEASURES) <= set(Strategy.values)
    assert Strategy.values == ["random", "entropy", "margin", "least-confidence", "bald", "ranked-batch"]


@pytest.fixture
def project(db):
    return make_project(manager=make_user("mona", staff=True), scenes=[make_scene(width=96, height=32)])


@pytest.mark.django_db
def test_one_score_per_chip_and_version(project):
    chip_id = ProjectChip.objects.filter(project=project).first().chip_id
    ChipScore.objects.create(project=project, chip_id=chip_id, model_version="v1", strategy="bald", score=0.3)
    ChipScore.objects.create(project=project, chip_id=chip_id, model_version="v2", strategy="bald", score=0.4)
    with pytest.raises(IntegrityError):
        ChipScore.objects.create(
            project=project, chip_id=chip_id, model_version="v1", strategy="margin", score=0.9
        )


@pytest.mark.django_db
def test_selectors(project):
    chips = list(ProjectChip.objects.filter(project=project).order_by("pk").values_list("chip_id", flat=True))
    for chip_id, score in zip(chips, [0.1, 0.8, 0.5], strict=True):
        ChipScore.objects.create(
            project=project, chip_id=chip_id, model_version="v1", strategy="entropy", score=score
        )
    ChipScore.objects.create(
        project=project, chip_id=chips[0], model_version="v2", strategy="margin", score=0.2
    )
    ChipScore.objects.filter(model_version="v2").update(
        created=timezone.now() + timedelta(seconds=5)
    )  # a later pass

    assert [s.chip_id for s in chip_scores(project_id=project.pk, model_version="v1")] == [
        chips[1],
        chips[2],
        chips[0],
    ]
    assert chip_score_get(project_id=project.pk, chip_id=chips[0], model_version="v2").score == 0.2
    assert chip_score_get(project_id=project.pk, chip_id=chips[1], model_version="v2") is None
    assert model_versions(project_id=project.pk) == ["v2", "v1"]
    assert prelabel_get(project_id=project.pk, chip_id=chips[0], model_version="") is None


@pytest.mark.django_db
def test_a_prelabel_needs_content(project):
    chip_id = ProjectChip.objects.filter(project=project).first().chip_id
    with pytest.raises(IntegrityError):
        Prelabel.objects.create(project=project, chip_id=chip_id, model_version="v1")
