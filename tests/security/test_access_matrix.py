"""Role x action: what each role in project B may do, and what a user without a role there gets (404, the
project's existence not disclosed). Denied actions change no row."""

import uuid

import numpy as np
import pytest
from django.test import Client

from tests.labelling.factories import add_member, make_user, png_b64
from tests.security.conftest import World, db_snapshot

MASK = png_b64(np.zeros((32, 32), np.uint8))
ACTIONS = ("list", "next", "submit", "edit", "review", "manage", "export", "retrain")
EXPECTED = {
    #            list  next  submit edit  review manage export retrain
    "annotator": (200, 200, 201, 403, 403, 403, 403, 403),
    "reviewer": (200, 403, 403, 200, 200, 403, 200, 403),
    "manager": (200, 200, 201, 200, 200, 200, 200, 202),
    None: (404, 404, 404, 404, 404, 404, 404, 404),
}


def json_call(client: Client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def act(action: str, client: Client, world: World) -> int:
    p, a = world.project_b.pk, world.annotation_b.pk
    if action == "list":
        listed = [row["id"] for row in client.get("/api/projects/").json()["results"]]
        return 200 if p in listed else 404
    if action == "next":
        return json_call(client, "post", f"/api/projects/{p}/tasks/next").status_code
    if action == "submit":
        mine = json_call(client, "post", f"/api/projects/{p}/tasks/next")
        task = mine.json()["task"]["id"] if mine.status_code == 200 else world.lease_b.pk
        body = {"submission_id": str(uuid.uuid4()), "seconds_spent": 2, "mask_png": MASK}
        return json_call(client, "post", f"/api/tasks/{task}/annotations", body).status_code
    if action == "edit":
        body = {"version": 1, "mask_png": MASK}
        return json_call(client, "patch", f"/api/annotations/{a}", body).status_code
    if action == "review":
        return client.get(f"/api/annotations/{a}/revisions").status_code
    if action == "manage":
        return json_call(client, "patch", f"/api/projects/{p}/", {"description": "changed"}).status_code
    if action == "export":
        return client.get(f"/api/projects/{p}/export?format=geotiff").status_code
    if action == "retrain":
        return json_call(client, "post", f"/api/projects/{p}/training/retrain").status_code
    raise AssertionError(action)


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", None])
def test_role_by_action_matrix(world, role):
    user = make_user(f"u-{role}")
    if role:
        add_member(world.project_b, user, role)
    client = Client()
    client.force_login(user)

    got = tuple(act(action, client, world) for action in ACTIONS)

    assert dict(zip(ACTIONS, got, strict=True)) == dict(zip(ACTIONS, EXPECTED[role], strict=True))


@pytest.mark.parametrize("role", ["annotator", "reviewer", None])
def test_refused_actions_change_no_row(world, role):
    user = make_user(f"v-{role}")
    if role:
        add_member(world.project_b, user, role)
    client = Client()
    client.force_login(user)
    refused = [a for a, code in zip(ACTIONS, EXPECTED[role], strict=True) if code in (403, 404)]
    refused = [a for a in refused if a not in ("next", "submit")]  # those lease first when allowed
    before = db_snapshot()

    for action in refused:
        act(action, client, world)

    assert db_snapshot() == before


def test_staff_status_grants_nothing_inside_a_project(world):
    client = Client()
    client.force_login(world.eve)  # staff, manager of project A only

    assert act("manage", client, world) == 404
    assert act("export", client, world) == 404
    assert act("retrain", client, world) == 404
