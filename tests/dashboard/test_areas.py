"""Areas of interest renamed and deleted through the API: managers only, an area of another project is 404 like
a missing one, bad bodies are 400 naming the field, and nothing changes on any refusal."""

import pytest

from eolabel.dashboard.models import AreaOfInterest
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[1.0, 43.0], [1.1, 43.0], [1.1, 43.1], [1.0, 43.1], [1.0, 43.0]]],
}


@pytest.fixture
def world():
    manager = make_user("mia")
    project = make_project(manager=manager)
    other = make_project(manager=make_user("otto"))
    port = AreaOfInterest.objects.create(project=project, name="port", geometry=SQUARE)
    depot = AreaOfInterest.objects.create(project=project, name="depot", geometry=SQUARE)
    foreign = AreaOfInterest.objects.create(project=other, name="airfield", geometry=SQUARE)
    return {
        "manager": manager,
        "project": project,
        "other": other,
        "port": port,
        "depot": depot,
        "foreign": foreign,
    }


def url(project, area_id: int) -> str:
    return f"/api/projects/{project.pk}/dashboard/areas/{area_id}"


def rename(client, project, area_id: int, body):
    return client.patch(url(project, area_id), body, content_type="application/json")


def names() -> list[tuple[int, str]]:
    return list(AreaOfInterest.objects.order_by("pk").values_list("project_id", "name"))


def test_a_manager_renames_an_area(world):
    client = client_for(world["manager"])

    response = rename(client, world["project"], world["port"].pk, {"name": "  harbour "})

    assert response.status_code == 200
    assert response.json() == {"id": world["port"].pk, "name": "harbour", "geometry": SQUARE}
    world["port"].refresh_from_db()
    assert world["port"].name == "harbour"
    listed = client.get(f"/api/projects/{world['project'].pk}/dashboard/areas").json()["features"]
    assert [f["properties"]["name"] for f in listed] == ["depot", "harbour"]


def test_renaming_an_area_to_its_own_name_is_allowed(world):
    response = rename(client_for(world["manager"]), world["project"], world["port"].pk, {"name": "port"})

    assert response.status_code == 200
    assert response.json()["name"] == "port"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "depot"}, "name"),  # taken by another area of the project
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({}, "name"),
        ({"name": "quay", "geometry": SQUARE}, "geometry"),
        ({"name": "quay", "project": 2}, "project"),
    ],
)
def test_bad_rename_bodies_are_400_naming_the_field_and_change_nothing(world, body, field):
    before = names()

    response = rename(client_for(world["manager"]), world["project"], world["port"].pk, body)

    assert response.status_code == 400
    assert field in response.json()["detail"] or field in response.json().get("errors", {})
    assert names() == before


def test_a_manager_deletes_an_area(world):
    client = client_for(world["manager"])

    response = client.delete(url(world["project"], world["port"].pk))

    assert response.status_code == 204
    assert list(AreaOfInterest.objects.filter(project=world["project"]).values_list("name", flat=True)) == [
        "depot"
    ]
    assert client.delete(url(world["project"], world["port"].pk)).status_code == 404


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotators_and_reviewers_get_403_and_change_nothing(world, role):
    user = make_user(f"{role}-1")
    add_member(world["project"], user, role)
    client = client_for(user)
    before = names()

    renamed = rename(client, world["project"], world["port"].pk, {"name": "harbour"})
    deleted = client.delete(url(world["project"], world["port"].pk))

    assert (renamed.status_code, deleted.status_code) == (403, 403)
    assert names() == before


def test_no_role_is_404_and_changes_nothing(world):
    client = client_for(make_user("stranger"))
    before = names()

    renamed = rename(client, world["project"], world["port"].pk, {"name": "harbour"})
    deleted = client.delete(url(world["project"], world["port"].pk))

    assert (renamed.status_code, deleted.status_code) == (404, 404)
    assert names() == before


def test_another_projects_area_through_ones_own_project_is_404_and_changes_nothing(world):
    client = client_for(world["manager"])
    before = names()

    renamed = rename(client, world["project"], world["foreign"].pk, {"name": "harbour"})
    deleted = client.delete(url(world["project"], world["foreign"].pk))
    direct = client.delete(url(world["other"], world["foreign"].pk))

    assert (renamed.status_code, deleted.status_code, direct.status_code) == (404, 404, 404)
    assert names() == before


def test_put_and_get_on_an_area_are_405(world):
    client = client_for(world["manager"])

    assert client.get(url(world["project"], world["port"].pk)).status_code == 405
    assert (
        client.put(url(world["project"], world["port"].pk), {}, content_type="application/json").status_code
        == 405
    )


def test_the_schema_documents_rename_and_delete(world):
    schema = client_for(world["manager"]).get("/api/schema/?format=json").json()

    operations = schema["paths"]["/api/projects/{project_id}/dashboard/areas/{area_id}"]

    assert set(operations) - {"parameters"} == {"patch", "delete"}
    assert {"200", "400", "403", "404"} <= set(operations["patch"]["responses"])
    assert {"204", "403", "404"} <= set(operations["delete"]["responses"])
