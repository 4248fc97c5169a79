"""tasks/next: ranking by the current model's ChipScores, deterministic cold start, idempotent next, expiry,
empty queue, overlap, skip, pre-labels."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from eolabel.labelling.codecs import mask_encode
from eolabel.labelling.models import Lease, ProjectChip
from eolabel.labelling.services import chip_cold_key, leases_expire, project_ranking_activate
from eolabel.ranking.models import ChipScore, Prelabel
from tests.labelling.factories import (
    add_member,
    client_for,
    make_project,
    make_scene,
    make_user,
    next_task,
    submit_mask,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(manager, annotator):
    project = make_project(manager=manager, scenes=[make_scene(width=128, height=64)])  # 8 chips of 32 px
    add_member(project, annotator, "annotator")
    return project


def take(client, project) -> dict:
    response = next_task(client, project)
    assert response.status_code == 200, response.content
    return response.json()


def drain_order(client, project) -> list[int]:
    """Chip ids in the order one annotator is served them, submitting each."""
    order = []
    while (task := take(client, project)["task"]) is not None:
        order.append(task["chip"]["id"])
        assert submit_mask(client, task).status_code == 201
    return order


def test_ranking_follows_the_current_model_scores(project, annotator_client):
    chips = list(ProjectChip.objects.filter(project=project).order_by("pk"))
    scores = {pc.chip_id: s for pc, s in zip(chips[:6], [0.2, 0.9, 0.5, 0.7, 0.1, 0.3], strict=True)}
    ChipScore.objects.bulk_create(
        [
            ChipScore(project=project, chip_id=c, model_version="v1", strategy="entropy", score=s)
            for c, s in scores.items()
        ]
        + [
            ChipScore(
                project=project, chip_id=chips[6].chip_id, model_version="v0", strategy="random", score=99.0
            )
        ]
    )
    assert project_ranking_activate(project=project, model_version="v1") == 6

    first = take(annotator_client, project)["task"]
    assert first["ranking"] == {"model_version": "v1", "strategy": "entropy", "score": 0.9}
    assert submit_mask(annotator_client, first).status_code == 201
    rest = drain_order(annotator_client, project)

    by_score = sorted(scores, key=lambda c: -scores[c])
    unscored = sorted(
        (pc.chip_id for pc in chips[6:]), key=lambda c: chip_cold_key(project_id=project.pk, chip_id=c)
    )
    assert [first["chip"]["id"], *rest] == by_score + unscored  # v0's 99.0 does not count: v1 is current


def test_activation_needs_scores_of_that_version(project):
    from eolabel.labelling.errors import ProjectInvalid

    with pytest.raises(ProjectInvalid, match="no chip scores"):
        project_ranking_activate(project=project, model_version="v9")
    project.refresh_from_db()
    assert project.current_model_version == ""


def test_cold_start_order_is_a_deterministic_shuffle(project, annotator_client):
    first = take(annotator_client, project)["task"]
    assert first["ranking"] == {"model_version": None, "strategy": "random", "score": None}
    assert first["prelabel"] is None and "no model" in first["prelabel_note"]
    assert submit_mask(annotator_client, first).status_code == 201
    order = [first["chip"]["id"], *drain_order(annotator_client, project)]

    chip_ids = list(ProjectChip.objects.filter(project=project).values_list("chip_id", flat=True))
    assert order == sorted(chip_ids, key=lambda c: chip_cold_key(project_id=project.pk, chip_id=c))
    assert order != sorted(chip_ids)  # a shuffle, not the archive's order

    # a second annotator on an overlap-2 copy of the queue is served the same order
    ProjectChip.objects.filter(project=project).update(state="available")
    project.overlap = 2
    project.save()
    other = make_user("otto")
    add_member(project, other, "annotator")
    assert drain_order(client_for(other), project) == order


def test_next_is_idempotent_while_a_lease_is_active(project, annotator_client):
    first = take(annotator_client, project)
    again = take(annotator_client, project)
    assert first["resumed"] is False and again["resumed"] is True
    assert again["task"]["id"] == first["task"]["id"]
    assert Lease.objects.filter(state="active").count() == 1


def test_task_carries_window_bounds_and_tile_url(project, annotator_client):
    task = take(annotator_client, project)["task"]
    chip = task["chip"]
    assert chip["window"] == [chip["col_off"], chip["row_off"], 32, 32] and chip["size"] == 32
    west, south, east, north = chip["bounds"]
    assert 2.999 < west < east < 3.02 and 43.3 < south < north < 43.4  # a chip of the scene at (3.0, 43.3)
    assert task["tile_url"] == f"/tiles/{task['scene']}/{{z}}/{{x}}/{{y}}.png?preset=true-colour"
    expires = timezone.datetime.fromisoformat(task["expires_at"]) - timezone.datetime.fromisoformat(
        task["leased_at"]
    )
    assert expires == timedelta(seconds=900)


def test_an_expired_lease_returns_the_chip_to_the_pool(project, annotator, annotator_client, settings):
    settings.EOLABEL_LEASE_SECONDS = 60
    task = take(annotator_client, project)["task"]
    Lease.objects.filter(pk=task["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    other = make_user("otto")
    add_member(project, other, "annotator")

    taken = take(client_for(other), project)["task"]

    assert taken["chip"]["id"] == task["chip"]["id"]  # the best chip again, now for otto
    assert Lease.objects.get(pk=task["id"]).state == "expired"
    assert ProjectChip.objects.get(project=project, chip_id=task["chip"]["id"]).state == "leased"
    mine = take(annotator_client, project)["task"]  # the expired holder simply gets a new task
    assert mine["id"] != task["id"] and mine["chip"]["id"] != task["chip"]["id"]


def test_leases_expire_service(project, annotator_client):
    task = take(annotator_client, project)["task"]
    assert leases_expire() == 0
    assert leases_expire(now=timezone.now() + timedelta(seconds=901)) == 1
    assert Lease.objects.get(pk=task["id"]).state == "expired"
    assert not ProjectChip.objects.filter(state="leased").exists()


def test_empty_queue_says_why(manager, annotator, annotator_client):
    empty = make_project(manager=manager, scenes=[])
    add_member(empty, annotator, "annotator")
    body = take(annotator_client, empty)
    assert body == {
        "task": None,
        "resumed": False,
        "reason": "this project has no chips yet: a manager needs to add scenes",
    }

    single = make_project(manager=manager, scenes=[make_scene(width=32, height=32)])
    add_member(single, annotator, "annotator")
    other = make_user("otto")
    add_member(single, other, "annotator")
    task = take(annotator_client, single)["task"]
    busy = take(client_for(other), single)
    assert busy["task"] is None and "leased to other annotators" in busy["reason"]
    assert submit_mask(annotator_client, task).status_code == 201
    done = take(client_for(other), single)
    assert done["task"] is None and done["reason"] == "every chip is done (1 annotation(s) each)"


def test_overlap_two_serves_each_chip_to_two_different_users(manager):
    project = make_project(manager=manager, scenes=[make_scene(width=64, height=32)], overlap=2)  # 2 chips
    users = [make_user(n) for n in ("ann", "bob", "cat")]
    for user in users:
        add_member(project, user, "annotator")
    ann, bob, cat = (client_for(u) for u in users)

    a1 = take(ann, project)["task"]
    b1 = take(bob, project)["task"]
    assert b1["chip"]["id"] != a1["chip"]["id"]  # a leased chip is never leased again, overlap or not
    assert submit_mask(ann, a1).status_code == 201
    waiting = take(ann, project)
    assert waiting["task"] is None
    assert "annotated or skipped by you" in waiting["reason"] and "1 are leased" in waiting["reason"]
    assert submit_mask(bob, b1).status_code == 201
    a2 = take(ann, project)["task"]
    assert a2["chip"]["id"] == b1["chip"]["id"]
    assert submit_mask(ann, a2).status_code == 201
    assert "annotated or skipped by you" in take(ann, project)["reason"]  # never the same chip twice

    b2 = take(bob, project)["task"]
    assert b2["chip"]["id"] == a1["chip"]["id"]
    assert submit_mask(bob, b2).status_code == 201
    assert take(cat, project)["reason"] == "every chip is done (2 annotation(s) each)"
    assert (
        sorted(ProjectChip.objects.filter(project=project).values_list("state", "done_count"))
        == [("done", 2)] * 2
    )


def test_skipped_chips_are_not_served_again_to_the_skipper(project, annotator_client):
    task = take(annotator_client, project)["task"]
    skipped = annotator_client.post(
        f"/api/tasks/{task['id']}/skip", {"reason": "all nodata"}, content_type="application/json"
    )
    again = annotator_client.post(
        f"/api/tasks/{task['id']}/skip", {"reason": "all nodata"}, content_type="application/json"
    )
    assert skipped.status_code == 200 and skipped.json()["state"] == "skipped" and again.status_code == 200
    assert Lease.objects.get(pk=task["id"]).skip_reason == "all nodata"

    served = drain_order(annotator_client, project)
    assert task["chip"]["id"] not in served and len(served) == 7
    other = make_user("otto")
    add_member(project, other, "annotator")
    assert take(client_for(other), project)["task"]["chip"]["id"] == task["chip"]["id"]


def test_skip_needs_a_reason(project, annotator_client):
    task = take(annotator_client, project)["task"]
    response = annotator_client.post(f"/api/tasks/{task['id']}/skip", {}, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"].startswith("reason:")
    assert Lease.objects.get(pk=task["id"]).state == "active"


def test_prelabel_mask_is_offered_and_served(project, annotator_client):
    chip_id = ProjectChip.objects.filter(project=project).order_by("pk").first().chip_id
    ChipScore.objects.create(
        project=project, chip_id=chip_id, model_version="v2", strategy="margin", score=1.0
    )
    mask = np.eye(32, dtype=np.uint8)
    Prelabel.objects.create(project=project, chip_id=chip_id, model_version="v2", mask_png=mask_encode(mask))
    project_ranking_activate(project=project, model_version="v2")

    task = take(annotator_client, project)["task"]

    assert task["prelabel"]["model_version"] == "v2" and task["prelabel_note"] is None
    png = annotator_client.get(task["prelabel"]["mask_url"])
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content == mask_encode(mask)
    assert Lease.objects.get(pk=task["id"]).prelabel_model_version == "v2"


def test_prelabel_boxes_come_as_pixels_and_geojson(manager, annotator, annotator_client):
    project = make_project(
        manager=manager, task_type="vehicle-detection", scenes=[make_scene(width=32, height=32)]
    )
    add_member(project, annotator, "annotator")
    chip_id = ProjectChip.objects.get(project=project).chip_id
    boxes = [{"x0": 1.0, "y0": 2.0, "x1": 5.0, "y1": 6.0, "class": 1}]
    ChipScore.objects.create(
        project=project, chip_id=chip_id, model_version="v1", strategy="entropy", score=0.5
    )
    Prelabel.objects.create(project=project, chip_id=chip_id, model_version="v1", boxes=boxes)
    project_ranking_activate(project=project, model_version="v1")

    prelabel = take(annotator_client, project)["task"]["prelabel"]

    assert prelabel["kind"] == "boxes" and prelabel["boxes"] == boxes and prelabel["mask_url"] is None
    feature = prelabel["geojson"]["features"][0]
    assert feature["properties"] == {"class": 1} and len(feature["geometry"]["coordinates"][0]) == 5
