"""The retraining policy: every N new training annotations, at most every T minutes, one pending request."""

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from eolabel.labelling.models import ProjectChip, RetrainRequest
from eolabel.labelling.services import (
    annotation_submit,
    lease_next,
    retraining_decide,
    retraining_maybe_trigger,
)
from tests.labelling.factories import make_project, make_scene, png_bytes


@pytest.mark.parametrize(
    ("new", "minutes", "pending", "trigger", "reason"),
    [
        (4, None, False, False, "4 of 5 new training annotations"),
        (5, None, False, True, "5 new training annotations (every 5); first request"),
        (9, 29.5, False, False, "only 29.5 of 30 minutes since the last request"),
        (9, 30.0, False, True, "9 new training annotations (every 5); 30 min since the last request"),
        (50, 999.0, True, False, "a retraining request is already pending"),
    ],
)
def test_decision(new, minutes, pending, trigger, reason):
    decision = retraining_decide(
        new_annotations=new, minutes_since_last=minutes, every_n=5, min_interval_minutes=30, pending=pending
    )
    assert (decision.trigger, decision.reason) == (trigger, reason)


def annotate(project, user, count: int) -> None:
    for _ in range(count):
        lease = lease_next(project=project, user=user).lease
        annotation_submit(
            lease=lease, user=user, submission_id=uuid.uuid4(), mask_png=png_bytes(np.zeros((32, 32), np.uint8)),
            seconds_spent=1,
        )  # fmt: skip


@pytest.mark.django_db
def test_trigger_counts_new_training_annotations_and_waits_the_interval(manager):
    project = make_project(
        manager=manager,
        scenes=[make_scene(width=128, height=128)],
        retrain_every_n=3,
        retrain_min_interval_minutes=30,
    )
    t0 = timezone.now()
    annotate(project, manager, 2)
    assert retraining_maybe_trigger(project.pk, now=t0) is None
    annotate(project, manager, 1)
    first = retraining_maybe_trigger(project.pk, now=t0)
    assert first is not None and first.annotations_total == 3 and first.state == "pending"
    assert retraining_maybe_trigger(project.pk, now=t0) is None  # idempotent: one pending request

    RetrainRequest.objects.filter(pk=first.pk).update(state="done")  # what the trainer will do
    annotate(project, manager, 3)
    assert retraining_maybe_trigger(project.pk, now=t0 + timedelta(minutes=29)) is None
    second = retraining_maybe_trigger(project.pk, now=t0 + timedelta(minutes=31))
    assert second is not None and second.annotations_total == 6
    assert RetrainRequest.objects.filter(project=project).count() == 2


@pytest.mark.django_db
def test_validation_annotations_do_not_count(manager):
    project = make_project(manager=manager, scenes=[make_scene(width=64, height=64)], retrain_every_n=1)
    ProjectChip.objects.filter(project=project).update(is_validation=True)
    annotate(project, manager, 2)
    assert retraining_maybe_trigger(project.pk) is None
    assert retraining_maybe_trigger(999_999) is None
