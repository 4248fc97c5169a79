"""Promotion: a better version becomes current (and ranks the queue); a worse one is registered, not promoted."""

import math

import numpy as np
import pytest

from eolabel.labelling.models import Project, ProjectChip
from eolabel.ranking.models import ChipScore
from eolabel.training.models import ModelVersion
from eolabel.training.services.datasets import cloud_values
from eolabel.training.services.evaluation import candidate_wins, primary_metric
from eolabel.training.services.retrain import project_retrain
from tests.training.conftest import annotate, annotate_n, registry_versions


def test_cloud_values_are_thick_and_thin_cloud_not_shadow_or_clear():
    names = {
        0: "clear",
        1: "thick cloud",
        2: "thin_cloud",
        3: "cloud shadow",
        4: "snow",
        5: "not cloud",
        6: "cirrus",
    }

    assert cloud_values(names) == {1, 2, 6}


def test_candidate_wins_only_when_strictly_better_or_first():
    assert candidate_wins(candidate=None, current=None, has_current=False)
    assert candidate_wins(candidate=0.6, current=0.5, has_current=True)
    assert not candidate_wins(candidate=0.5, current=0.5, has_current=True)
    assert not candidate_wins(candidate=0.4, current=0.5, has_current=True)
    assert not candidate_wins(candidate=math.nan, current=0.5, has_current=True)


def test_primary_metric_prefers_validation_annotations_then_reference():
    both = {"validation": {"f2": 0.7}, "reference": {"f2": 0.4}}

    assert primary_metric(both, task="cloud") == ("validation.f2", 0.7)
    assert primary_metric({"validation": None, "reference": {"f2": 0.4}}, task="cloud") == (
        "reference.f2",
        0.4,
    )
    assert primary_metric({"validation": None, "reference": None}, task="vehicles") == ("ap50", None)


@pytest.mark.django_db
def test_a_worse_version_is_registered_but_not_promoted(cloud_project, user, registry_root, settings):
    # given a good first model trained on true labels
    settings.EOLABEL_TRAIN_STEPS = 60
    annotate_n(cloud_project, user, training=5, validation=3)
    good = project_retrain(project=cloud_project)
    order_before = list(ProjectChip.objects.filter(project=cloud_project).values_list("chip_id", "score"))
    # when the labels of the training chips are replaced by "all clear" and the model is fine-tuned on them
    chips = ProjectChip.objects.filter(project=cloud_project, is_validation=False, annotations__isnull=False)
    for pc in chips:
        pc.annotations.all().delete()
        annotate(pc, user, mask=np.zeros((pc.chip.height, pc.chip.width), np.uint8))
    project = Project.objects.get(pk=cloud_project.pk)
    settings.EOLABEL_TRAIN_STEPS = 20
    worse = project_retrain(project=project)

    # then the worse version exists, with its metric, but the project keeps the good one and its ranking
    assert good.promoted and good.metric > 0.5
    assert not worse.promoted and worse.metric < worse.current_metric == pytest.approx(good.metric)
    row = ModelVersion.objects.get(version=worse.version)
    assert (row.promoted, row.parent, row.metric) == (False, good.version, pytest.approx(worse.metric))
    assert row.metrics["current"]["version"] == good.version
    assert Project.objects.get(pk=project.pk).current_model_version == good.version
    assert registry_versions(registry_root, project) == ["v1", "v2"]
    assert not ChipScore.objects.filter(model_version=worse.version).exists()
    assert list(ProjectChip.objects.filter(project=project).values_list("chip_id", "score")) == order_before
