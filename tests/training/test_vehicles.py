"""Retraining a vehicle project: annotated boxes from the demo ground truth train the detector, which is
evaluated by AP50, registered, promoted, and scores and pre-labels (boxes) the pool."""

import uuid

import pytest
from django.utils import timezone

from eolabel.archive.models import ReferenceLayer, Scene
from eolabel.labelling.models import Annotation, Lease, Project, ProjectChip
from eolabel.labelling.services.projects import project_create
from eolabel.ranking.models import ChipScore, Prelabel
from eolabel.training.models import ModelVersion
from eolabel.training.services.pixels import reference_boxes_read
from eolabel.training.services.retrain import project_retrain

pytestmark = pytest.mark.django_db


def _annotate_boxes(project_chip: ProjectChip, user) -> int:
    chip = project_chip.chip
    reference = ReferenceLayer.objects.get(scene_id=chip.scene_id, kind=ReferenceLayer.Kind.BOXES)
    boxes = [
        {"x0": float(b[0]), "y0": float(b[1]), "x1": float(b[2]), "y1": float(b[3]), "class": 0}
        for b in reference_boxes_read(reference=reference, chip=chip)
    ]
    now = timezone.now()
    lease = Lease.objects.create(
        project=project_chip.project, project_chip=project_chip, user=user, state=Lease.State.SUBMITTED,
        leased_at=now, expires_at=now, ended_at=now, strategy=project_chip.project.strategy,
    )  # fmt: skip
    Annotation.objects.create(
        project=project_chip.project, project_chip=project_chip, lease=lease, author=user,
        submission_id=uuid.uuid4(), kind=Annotation.Kind.BOXES, boxes=boxes, strategy=project_chip.project.strategy,
        updated_by=user, updated=now,
    )  # fmt: skip
    ProjectChip.objects.filter(pk=project_chip.pk).update(state=ProjectChip.State.DONE, done_count=1)
    return len(boxes)


def test_a_vehicle_project_retrains_promotes_and_prelabels_boxes(demo_archive, registry_root, user, settings):
    # given a vehicle project over the small demo's VHR scenes, with the ground-truth boxes of 6 training chips
    settings.EOLABEL_TRAIN_STEPS = 40
    settings.EOLABEL_TRAIN_THREADS = 1
    scenes = list(Scene.objects.filter(sensor__name="vhr-rgbn").order_by("pk").values_list("pk", flat=True))
    project = project_create(
        name="cars", task_type="vehicle-detection", classes=[{"value": 0, "name": "vehicle", "colour": "#ff6f00"}],
        sensor_names=["vhr-rgbn"], scene_ids=scenes, created_by=user, chip_size=64, validation_fraction=0.3,
    )  # fmt: skip
    chips = list(
        ProjectChip.objects.filter(project=project).order_by(
            "chip__scene_id", "chip__row_off", "chip__col_off"
        )
    )
    for i, pc in enumerate(chips):
        ProjectChip.objects.filter(pk=pc.pk).update(is_validation=i % 4 == 1)
    training = [pc for i, pc in enumerate(chips) if i % 4 != 1][:6]
    drawn = sum(_annotate_boxes(pc, user) for pc in training)
    assert drawn > 0

    # when the project retrains
    outcome = project_retrain(project=Project.objects.get(pk=project.pk))

    # then a first version is registered with an AP50 on the reference boxes, promoted, and the pool is ranked
    # and pre-labelled with boxes
    assert outcome.promoted and outcome.training_size == 6
    assert outcome.metric_name == "reference.ap50" and 0.0 <= outcome.metric <= 1.0
    version = ModelVersion.objects.get(version=outcome.version)
    assert version.metrics["training"]["chips"] == 6
    assert Project.objects.get(pk=project.pk).current_model_version == outcome.version
    open_chips = ProjectChip.objects.filter(project=project).exclude(state=ProjectChip.State.DONE)
    assert (
        ChipScore.objects.filter(project=project, model_version=outcome.version).count() == open_chips.count()
    )
    assert all(s is not None for s in open_chips.values_list("score", flat=True))
    prelabels = Prelabel.objects.filter(project=project, model_version=outcome.version)
    assert prelabels.count() == open_chips.count()
    for prelabel in prelabels:
        assert isinstance(prelabel.boxes, list)
        for box in prelabel.boxes:
            assert 0 <= box["x0"] < box["x1"] <= 64 and 0 <= box["y0"] < box["y1"] <= 64
