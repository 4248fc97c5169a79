"""Who sees which scene: staff (archive curators) every scene; other users the scenes of the projects where they
hold a role; everyone else a 404, as for a scene that does not exist. Checked on the scene list, detail and chips,
tiles and TileJSON, through ``scenes_visible_to``."""

from dataclasses import dataclass
from pathlib import Path

import morecantile
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eolabel.archive.models import Scene
from eolabel.archive.selectors import scenes_visible_to
from eolabel.archive.services import scene_ingest
from fixtures.tiny import make_geotiff
from tests.labelling.factories import add_member, client_for, make_project, make_user

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


@dataclass
class Archive:
    scene_a: Scene
    scene_b: Scene
    member_a: User  # annotator of project A only, not staff
    outsider: User  # no role anywhere, not staff
    curator: User  # staff, no role anywhere
    tile: str  # "z/x/y" of a tile inside both scenes (same footprint)


def ingest(tmp_path: Path, name: str, seed: int) -> Scene:
    source = make_geotiff(tmp_path / f"{name}.tif", width=64, height=64, bands=3, dtype="uint8", seed=seed)
    return scene_ingest(path=source, new_sensor="vis-rgb", chip_size=32).scene


@pytest.fixture
def archive(db, archive_root, tmp_path) -> Archive:
    scene_a, scene_b = ingest(tmp_path, "scene-a", 1), ingest(tmp_path, "scene-b", 2)
    project_a = make_project(manager=make_user("mia"), scenes=[scene_a])
    make_project(manager=make_user("max"), scenes=[scene_b])
    member_a = make_user("ann")
    add_member(project_a, member_a, "annotator")
    curator = make_user("cora", staff=True)
    lon, lat, zoom = client_for(curator).get(f"/tiles/{scene_a.pk}/tilejson.json").json()["center"]
    t = WEB_MERCATOR.tile(lon, lat, zoom)
    return Archive(scene_a, scene_b, member_a, make_user("otto"), curator, f"{t.z}/{t.x}/{t.y}")


def listed(client: Client) -> list[str]:
    response = client.get("/api/scenes/")
    assert response.status_code == 200, response.content
    return sorted(s["name"] for s in response.json()["results"])


def scene_urls(scene: Scene, tile: str) -> list[str]:
    return [
        f"/api/scenes/{scene.pk}/",
        f"/api/scenes/{scene.pk}/chips/",
        f"/tiles/{scene.pk}/tilejson.json",
        f"/tiles/{scene.pk}/{tile}.png",
    ]


def test_staff_see_every_scene_everywhere(archive):
    client = client_for(archive.curator)

    assert listed(client) == sorted([archive.scene_a.name, archive.scene_b.name])
    for scene in (archive.scene_a, archive.scene_b):
        assert [client.get(u).status_code for u in scene_urls(scene, archive.tile)] == [200] * 4


def test_a_member_sees_only_the_scenes_of_their_projects(archive):
    client = client_for(archive.member_a)

    assert listed(client) == [archive.scene_a.name]
    assert [client.get(u).status_code for u in scene_urls(archive.scene_a, archive.tile)] == [200] * 4
    assert [client.get(u).status_code for u in scene_urls(archive.scene_b, archive.tile)] == [404] * 4


def test_an_outsider_gets_404_as_for_a_missing_scene_and_an_empty_list(archive):
    client = client_for(archive.outsider)
    missing = Scene(pk=archive.scene_b.pk + 1000)

    assert listed(client) == []
    hidden = [client.get(u) for u in scene_urls(archive.scene_b, archive.tile)]
    absent = [client.get(u) for u in scene_urls(missing, archive.tile)]
    assert [r.status_code for r in hidden] == [404] * 4
    assert [r.json()["detail"].replace(str(archive.scene_b.pk), "N") for r in hidden] == [
        r.json()["detail"].replace(str(missing.pk), "N") for r in absent
    ]


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager"])
def test_every_role_in_a_project_shows_its_scenes(archive, role):
    project_b = archive.scene_b.labelling_projects.get()
    add_member(project_b, archive.outsider, role)
    client = client_for(archive.outsider)

    assert listed(client) == [archive.scene_b.name]
    assert client.get(f"/tiles/{archive.scene_b.pk}/{archive.tile}.png").status_code == 200


def test_a_scene_in_two_of_my_projects_is_listed_once(archive):
    make_project(
        manager=archive.member_a, scenes=[archive.scene_a]
    )  # member_a: annotator of one, manager of another

    assert listed(client_for(archive.member_a)) == [archive.scene_a.name]


def test_anonymous_callers_are_refused_as_before(archive):
    client = Client()

    assert client.get("/api/scenes/").status_code == 403
    assert [client.get(u).status_code for u in scene_urls(archive.scene_a, archive.tile)] == [403] * 4


def test_inactive_users_and_lost_roles_see_nothing(archive):
    archive.curator.is_active = False
    archive.member_a.labelling_roles.all().delete()

    assert not scenes_visible_to(user=archive.curator).exists()
    assert not scenes_visible_to(user=archive.member_a).exists()


def test_a_members_tile_still_reads_the_scene_in_one_query(archive):
    client = client_for(archive.member_a)
    url = f"/tiles/{archive.scene_a.pk}/{archive.tile}.png"
    client.get(url)  # warm the sensor cache and the session

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)

    assert response.status_code == 200
    archive_sql = [q["sql"] for q in queries.captured_queries if "archive_" in q["sql"]]
    assert (
        len(archive_sql) == 1 and "EXISTS" in archive_sql[0] and "labelling_project_scenes" in archive_sql[0]
    )


def test_a_manager_cannot_pull_a_scene_they_cannot_see_into_their_project(archive):
    project_a = archive.scene_a.labelling_projects.get()
    add_member(project_a, archive.outsider, "manager")
    client = client_for(archive.outsider)
    both = [archive.scene_a.pk, archive.scene_b.pk]

    response = client.patch(
        f"/api/projects/{project_a.pk}/", {"scenes": both}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == f"scenes: no scene with id {archive.scene_b.pk}"
    assert list(project_a.scenes.values_list("pk", flat=True)) == [archive.scene_a.pk]
    assert client.get(f"/api/scenes/{archive.scene_b.pk}/").status_code == 404
