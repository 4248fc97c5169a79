"""Roles: no role in a project = 404 on every route of it; a role too weak for the action = 403."""

import uuid

import numpy as np
import pytest

from eolabel.labelling.models import Annotation, Lease, Project
from eolabel.labelling.services import annotation_submit, lease_next
from tests.labelling.factories import add_member, client_for, make_project, make_user, png_b64, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(manager):
    """Project B with an annotator who submitted one chip and holds a lease on another."""
    project = make_project(manager=manager)
    worker = make_user("bert")
    add_member(project, worker, "annotator")
    first = lease_next(project=project, user=worker).lease
    annotation = annotation_submit(
        lease=first,
        user=worker,
        submission_id=uuid.uuid4(),
        mask_png=png_bytes(np.zeros((32, 32), np.uint8)),
        seconds_spent=3,
    ).annotation
    held = lease_next(project=project, user=worker).lease
    return {"project": project, "worker": worker, "annotation": annotation, "lease": held}


def project_b_routes(world) -> list[tuple[str, str, dict | None]]:
    p, t, a = world["project"].pk, world["lease"].pk, world["annotation"].pk
    mask = {
        "submission_id": str(uuid.uuid4()),
        "seconds_spent": 1,
        "mask_png": png_b64(np.zeros((32, 32), np.uint8)),
    }
    return [
        ("get", f"/api/projects/{p}/", None),
        ("patch", f"/api/projects/{p}/", {"name": "mine now"}),
        ("get", f"/api/projects/{p}/members/", None),
        ("post", f"/api/projects/{p}/members/", {"user": "eve", "role": "manager"}),
        ("delete", f"/api/projects/{p}/members/", {"user": "bert"}),
        ("post", f"/api/projects/{p}/tasks/next", None),
        ("get", f"/api/tasks/{t}", None),
        ("get", f"/api/tasks/{t}/prelabel.png", None),
        ("post", f"/api/tasks/{t}/skip", {"reason": "x"}),
        ("post", f"/api/tasks/{t}/annotations", mask),
        ("get", f"/api/annotations/{a}", None),
        ("patch", f"/api/annotations/{a}", {"version": 1, "mask_png": mask["mask_png"]}),
        ("get", f"/api/annotations/{a}/mask.png", None),
        ("get", f"/api/annotations/{a}/revisions", None),
    ]


def call(client, method: str, url: str, body: dict | None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


def test_outsiders_get_404_on_every_route_of_a_project(world):
    eve = make_user("eve", staff=True)  # staff grants nothing inside a project
    make_project(manager=eve)  # eve manages project A
    client = client_for(eve)
    before = (
        Project.objects.get(pk=world["project"].pk).name,
        Annotation.objects.count(),
        Lease.objects.count(),
    )

    for method, url, body in project_b_routes(world):
        response = call(client, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)

    assert world["project"].pk not in [p["id"] for p in client.get("/api/projects/").json()["results"]]
    after = (
        Project.objects.get(pk=world["project"].pk).name,
        Annotation.objects.count(),
        Lease.objects.count(),
    )
    assert after == before


def test_anonymous_users_are_refused(client, world):
    for method, url, body in project_b_routes(world):
        assert call(client, method, url, body).status_code == 403, url


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "annotator",
            {"view": 200, "patch": 403, "add_member": 403, "next": 200, "see_other": 403, "edit_other": 403},
        ),
        (
            "reviewer",
            {"view": 200, "patch": 403, "add_member": 403, "next": 403, "see_other": 200, "edit_other": 200},
        ),
        (
            "manager",
            {"view": 200, "patch": 200, "add_member": 201, "next": 200, "see_other": 200, "edit_other": 200},
        ),
    ],
)
def test_role_matrix(world, role, expected):
    user = make_user(f"u-{role}")
    make_user("zoe")
    add_member(world["project"], user, role)
    client = client_for(user)
    p, a = world["project"].pk, world["annotation"].pk
    mask = png_b64(np.ones((32, 32), np.uint8))

    got = {
        "view": client.get(f"/api/projects/{p}/").status_code,
        "patch": call(client, "patch", f"/api/projects/{p}/", {"name": "renamed"}).status_code,
        "add_member": call(
            client, "post", f"/api/projects/{p}/members/", {"user": "zoe", "role": "annotator"}
        ).status_code,
        "next": call(client, "post", f"/api/projects/{p}/tasks/next", None).status_code,
        "see_other": client.get(f"/api/annotations/{a}").status_code,
        "edit_other": call(
            client, "patch", f"/api/annotations/{a}", {"version": 1, "mask_png": mask}
        ).status_code,
    }

    assert got == expected


def test_only_the_lease_holder_submits_or_skips(world):
    other = make_user("carl")
    add_member(world["project"], other, "manager")
    client = client_for(other)
    t = world["lease"].pk
    mask = png_b64(np.zeros((32, 32), np.uint8))

    submit = call(
        client,
        "post",
        f"/api/tasks/{t}/annotations",
        {"submission_id": str(uuid.uuid4()), "seconds_spent": 1, "mask_png": mask},
    )
    skip = call(client, "post", f"/api/tasks/{t}/skip", {"reason": "mine"})

    assert submit.status_code == 403 and "holding this task" in submit.json()["detail"]
    assert skip.status_code == 403
    world["lease"].refresh_from_db()
    assert world["lease"].state == "active"


def test_annotators_see_their_own_annotations(world):
    client = client_for(world["worker"])
    assert client.get(f"/api/annotations/{world['annotation'].pk}").status_code == 200
    assert client.get(f"/api/annotations/{world['annotation'].pk}/mask.png").status_code == 200
