"""Projects and members through the API: creation (staff), chips made for the scenes, strict PATCH, roles."""

import pytest

from eolabel.archive.models import Chip
from eolabel.labelling.models import Lease, Membership, Project, ProjectChip
from eolabel.labelling.services import chip_is_validation, lease_next
from tests.labelling.factories import (
    CLOUD_CLASSES,
    add_member,
    client_for,
    make_project,
    make_scene,
    make_sensor,
    make_user,
)

pytestmark = pytest.mark.django_db


def create_body(**overrides) -> dict:
    scene = make_scene(width=100, height=64)
    body = {
        "name": "clouds over Occitanie",
        "task_type": "cloud-segmentation",
        "classes": CLOUD_CLASSES,
        "sensors": [scene.sensor.name],
        "scenes": [scene.pk],
        "chip_size": 32,
        "strategy": "bald",
        "validation_fraction": 0.25,
    }
    return {**body, **overrides}


def test_staff_create_a_project_and_become_its_manager(manager, manager_client):
    response = manager_client.post("/api/projects/", create_body(), content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert body["my_role"] == "manager" and body["strategy"] == "bald" and body["overlap"] == 1
    assert Membership.objects.get(project=project).user == manager
    # 100x64 px at 32 px: 4 columns (the last one 4 px wide) x 2 rows, made by archive's chips_ensure
    assert body["progress"] == {
        "chips": 8, "available": 8, "leased": 0, "done": 0, "annotations": 0,
        "validation_chips": ProjectChip.objects.filter(project=project, is_validation=True).count(),
    }  # fmt: skip
    assert Chip.objects.filter(scene_id=body["scenes"][0], size=32).count() == 8
    assert sorted(Chip.objects.filter(size=32).values_list("width", flat=True)) == [4, 4] + [32] * 6


def test_validation_split_is_a_deterministic_hash_of_project_and_chip():
    flags = [chip_is_validation(project_id=7, chip_id=c, fraction=0.2) for c in range(5000)]
    assert flags == [chip_is_validation(project_id=7, chip_id=c, fraction=0.2) for c in range(5000)]
    assert 0.17 < sum(flags) / len(flags) < 0.23
    assert flags != [chip_is_validation(project_id=8, chip_id=c, fraction=0.2) for c in range(5000)]
    assert not any(chip_is_validation(project_id=7, chip_id=c, fraction=0.0) for c in range(500))


def test_stored_split_matches_the_hash(manager):
    project = make_project(
        manager=manager, scenes=[make_scene(width=256, height=256)], validation_fraction=0.3
    )
    chips = ProjectChip.objects.filter(project=project)
    assert chips.count() == 64
    assert all(
        pc.is_validation == chip_is_validation(project_id=project.pk, chip_id=pc.chip_id, fraction=0.3)
        for pc in chips
    )
    assert 0 < chips.filter(is_validation=True).count() < 64


def test_non_staff_cannot_create_projects(annotator_client):
    response = annotator_client.post("/api/projects/", create_body(), content_type="application/json")
    assert response.status_code == 403 and "staff" in response.json()["detail"]
    assert Project.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"classes": [{"value": 1, "name": "a", "colour": "blue"}]}, "classes"),
        ({"classes": []}, "classes"),
        ({"sensors": ["no-such-sensor"]}, "sensors"),
        ({"strategy": "coreset"}, "strategy"),
        ({"task_type": "counting"}, "task_type"),
        ({"chip_size": 8}, "chip_size"),
        ({"validation_fraction": 0.9}, "validation_fraction"),
        ({"overlap": 0}, "overlap"),
        ({"scenes": [999999]}, "scenes"),
        ({"current_model_version": "v1"}, "current_model_version"),
    ],
)
def test_bad_projects_are_400_naming_the_field(manager_client, overrides, field):
    response = manager_client.post(
        "/api/projects/", create_body(**overrides), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(f"{field}:")
    assert Project.objects.count() == 0


def test_scenes_must_match_the_project_sensors(manager_client):
    other = make_scene(sensor=make_sensor("other-sensor"))
    body = create_body()
    body["scenes"].append(other.pk)
    response = manager_client.post("/api/projects/", body, content_type="application/json")
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == f"scenes: scene {other.pk} is from sensor 'other-sensor', not one of the project's sensors"
    )
    assert Project.objects.count() == 0 and ProjectChip.objects.count() == 0


def test_managers_patch_settings_and_add_scenes(manager, manager_client):
    project = make_project(manager=manager)
    new_scene = make_scene(width=32, height=32)

    response = manager_client.patch(
        f"/api/projects/{project.pk}/",
        {
            "overlap": 2,
            "strategy": "margin",
            "scenes": [*project.scenes.values_list("pk", flat=True), new_scene.pk],
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["overlap"] == 2 and body["strategy"] == "margin" and body["progress"]["chips"] == 5
    assert ProjectChip.objects.filter(project=project, chip__scene=new_scene).count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chip_size": 64}, "chip_size: read-only field"),
        ({"task_type": "vehicle-detection"}, "task_type: read-only field"),
        ({"validation_fraction": 0.2}, "validation_fraction: read-only field"),
        ({"colour": "red"}, "colour: unknown field"),
        ({}, "nothing to change"),
        ({"scenes": []}, "cannot be removed"),
        ({"classes": CLOUD_CLASSES[:2]}, "classes: class value(s) 2 cannot be removed"),
        ({"overlap": 11}, "overlap:"),
    ],
)
def test_patch_refuses_unknown_and_read_only_fields(manager, manager_client, change, message):
    project = make_project(manager=manager)
    response = manager_client.patch(f"/api/projects/{project.pk}/", change, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    project.refresh_from_db()
    assert project.chip_size == 32 and project.overlap == 1 and project.task_type == "cloud-segmentation"


def test_members_are_managed_by_managers(manager, manager_client, annotator):
    project = make_project(manager=manager)
    url = f"/api/projects/{project.pk}/members/"

    added = manager_client.post(url, {"user": "anna", "role": "annotator"}, content_type="application/json")
    changed = manager_client.post(url, {"user": "anna", "role": "reviewer"}, content_type="application/json")
    listed = manager_client.get(url).json()

    assert (added.status_code, changed.status_code) == (201, 200)
    assert [(m["user"], m["role"]) for m in listed] == [("mona", "manager"), ("anna", "reviewer")]
    assert (
        manager_client.post(
            url, {"user": "nobody", "role": "reviewer"}, content_type="application/json"
        ).json()["detail"]
        == "user: no user named 'nobody'"
    )

    removed = manager_client.delete(url, {"user": "anna"}, content_type="application/json")
    assert removed.status_code == 204
    assert not Membership.objects.filter(project=project, user=annotator).exists()
    assert client_for(annotator).get(f"/api/projects/{project.pk}/").status_code == 404


def test_the_last_manager_cannot_leave(manager, manager_client):
    project = make_project(manager=manager)
    url = f"/api/projects/{project.pk}/members/"
    response = manager_client.delete(url, {"user": "mona"}, content_type="application/json")
    assert response.status_code == 409 and "at least one manager" in response.json()["detail"]
    demote = manager_client.post(url, {"user": "mona", "role": "annotator"}, content_type="application/json")
    assert demote.status_code == 409
    assert Membership.objects.get(project=project, user=manager).role == "manager"


def test_removing_an_annotator_returns_their_chip(manager, manager_client, annotator):
    project = make_project(manager=manager)
    add_member(project, annotator, "annotator")
    lease = lease_next(project=project, user=annotator).lease
    manager_client.delete(
        f"/api/projects/{project.pk}/members/", {"user": "anna"}, content_type="application/json"
    )
    lease.refresh_from_db()
    assert lease.state == Lease.State.EXPIRED
    assert lease.project_chip.__class__.objects.get(pk=lease.project_chip_id).state == "available"


def test_list_shows_only_projects_with_a_role(manager, annotator):
    mine = make_project(manager=manager)
    make_project(manager=make_user("other-boss", staff=True))
    add_member(mine, annotator, "annotator")

    body = client_for(annotator).get("/api/projects/").json()
    assert [(p["id"], p["my_role"]) for p in body["results"]] == [(mine.pk, "annotator")]
    assert body["count"] == 1
