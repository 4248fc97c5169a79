"""Inputs are an allowlist: write bodies with an unknown or read-only key are a 400 naming the key (and change
nothing); query parameters reach the ORM only through declared filters, never as request keys."""

import ast
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.test import Client

from tests.labelling.factories import png_b64
from tests.security.conftest import SQUARE, World, db_snapshot

REPO = Path(__file__).resolve().parents[2]
MASK = png_b64(np.zeros((32, 32), np.uint8))
ORM_CALLS = {
    "filter", "exclude", "get", "order_by", "update", "update_or_create", "get_or_create", "create", "values",
    "values_list", "annotate", "aggregate", "only", "defer", "select_related", "prefetch_related", "distinct",
}  # fmt: skip


def manager_client(world: World) -> Client:
    client = Client()
    client.force_login(world.manager_b)
    return client


def writes(world: World) -> list[tuple[str, str, dict]]:
    """A valid body for each write route of project B (as its manager or the lease holder)."""
    p, a = world.project_b.pk, world.annotation_b.pk
    return [
        ("patch", f"/api/projects/{p}/", {"description": "fine"}),
        ("patch", f"/api/annotations/{a}", {"version": 1, "mask_png": MASK}),
        ("post", f"/api/projects/{p}/members/", {"user": "bert", "role": "reviewer"}),
        ("delete", f"/api/projects/{p}/members/", {"user": "bert"}),
        ("post", f"/api/projects/{p}/dashboard/areas", {"name": "harbour", "geometry": SQUARE}),
        (
            "post",
            "/api/projects/",
            {"name": "new", "task_type": "cloud-segmentation", "sensors": ["sec-rgb"], "classes": [
                {"value": 0, "name": "clear", "colour": "#000000"}]},
        ),
    ]  # fmt: skip


@pytest.mark.parametrize("key", ["is_staff", "project", "created_by", "__class__", "author"])
def test_an_unknown_key_in_any_write_body_is_a_400_naming_it(world, key):
    client = manager_client(world)
    before = db_snapshot()
    failures = []

    for method, url, body in writes(world):
        response = getattr(client, method)(url, {**body, key: 1}, content_type="application/json")
        named = key in str(response.json().get("errors", {})) if response.status_code == 400 else False
        if not named:
            failures.append(f"{method.upper()} {url}: {response.status_code} {response.content[:200]!r}")

    assert failures == []
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "key", ["id", "task_type", "chip_size", "current_model_version", "created", "my_role"]
)
def test_read_only_project_fields_are_refused_by_name(world, key):
    client = manager_client(world)

    response = client.patch(f"/api/projects/{world.project_b.pk}/", {key: 7}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {key: ["read-only field"]}


@pytest.mark.parametrize("key", ["author", "version_", "project", "kind", "created", "submission_id"])
def test_read_only_annotation_fields_are_refused_by_name(world, key):
    client = manager_client(world)
    body = {"version": 1, "mask_png": MASK, key: "x"}

    response = client.patch(
        f"/api/annotations/{world.annotation_b.pk}", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert key in response.json()["errors"]


def test_a_submission_with_an_extra_key_is_refused_and_stores_nothing(world):
    client = Client()
    client.force_login(world.annotator_b)
    body = {"submission_id": str(uuid.uuid4()), "seconds_spent": 1, "mask_png": MASK, "author": "mona"}
    before = db_snapshot()

    response = client.post(
        f"/api/tasks/{world.lease_b.pk}/annotations", body, content_type="application/json"
    )

    assert response.status_code == 400 and "author" in response.json()["errors"]
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "query",
    [
        "sensor__name__startswith=s",
        "id__gt=0",
        "pk=1",
        "checksum__startswith=0",
        "ordering=-checksum",
        "or=1",
    ],
)
def test_unknown_query_parameters_never_filter_scenes(world, query):
    client = manager_client(world)
    plain = client.get("/api/scenes/").json()["results"]

    filtered = client.get(f"/api/scenes/?{query}").json()["results"]

    assert [s["id"] for s in filtered] == [s["id"] for s in plain]


def test_unknown_query_parameters_never_filter_chips(world):
    client = manager_client(world)
    url = f"/api/scenes/{world.scene_b.pk}/chips/"
    plain = [c["id"] for c in client.get(url).json()["results"]]

    tricked = [c["id"] for c in client.get(url + "?col_off__gt=0&scene_id=999").json()["results"]]

    assert tricked == plain and len(plain) == 4


def orm_calls_with_dynamic_keys(root: Path) -> list[str]:
    """ORM calls that take ``**mapping`` or ``*sequence`` (request keys could become lookups), ``order_by`` with a
    non-literal argument, and raw SQL built from anything but a literal."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name, where = node.func.attr, f"{path.relative_to(root)}:{node.lineno}"
            splat = any(k.arg is None for k in node.keywords) or any(
                isinstance(a, ast.Starred) for a in node.args
            )
            if name in ORM_CALLS and splat:
                found.append(f"{where} {ast.unparse(node)[:100]}")
            elif name == "order_by" and any(isinstance(a, ast.Name | ast.Subscript) for a in node.args):
                found.append(f"{where} order_by with a variable")
            elif name in ("raw", "extra", "execute") and not all(
                isinstance(a, ast.Constant) for a in node.args[:1]
            ):
                found.append(f"{where} raw SQL from a variable")
    return found


def test_no_orm_call_takes_request_keys():
    assert orm_calls_with_dynamic_keys(REPO / "eolabel") == []


def test_the_orm_scan_can_fail(tmp_path):
    (tmp_path / "views.py").write_text(
        "def v(request):\n    return Scene.objects.filter(**request.GET.dict()).order_by(request.GET['o'])\n"
    )

    found = orm_calls_with_dynamic_keys(tmp_path)

    assert len(found) == 2
