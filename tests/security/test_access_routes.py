"""Every route of the URL router that names an object by an integer id, tried with every method by a user who
has no role in the object's project: never a 2xx, always 403/404/405, and no row anywhere changes.

Archive routes (scenes, chips, tiles, TileJSON) follow the same rule: a scene is seen by staff (archive curators)
and by users with a role in a project holding it. The walk runs as a plain manager of project A, who must get no
2xx anywhere on B's ids; and as staff eve (manager of A too), who may read B's scene but must refuse every write."""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from eolabel.labelling.models import Project
from tests.labelling.factories import add_member, make_user
from tests.security.conftest import World, db_snapshot

METHODS = ("get", "post", "put", "patch", "delete")
REFUSED = {403, 404, 405}
CURATOR_READS = {"archive:scene-detail", "archive:scene-chips", "tiles:tile", "tiles:tilejson"}
QUERY = {"exports:project-export": "?format=geotiff"}


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # e.g. "api/projects/<int:project_id>/"
    int_kwargs: tuple[str, ...]


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[Route]:
    found: list[Route] = []
    for entry in resolver.url_patterns:
        route = getattr(entry.pattern, "_route", None)
        if route is None:  # a regex pattern (the admin's app index): no integer ids in any of ours
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            found += walk(entry, prefix + route, inner)
        elif isinstance(entry, URLPattern):
            converters = entry.pattern.converters
            ints = tuple(k for k, c in converters.items() if type(c).__name__ == "IntConverter")
            if ints:
                name = f"{namespace}:{entry.name}".strip(":") if entry.name else route
                found.append(Route(name=name, route=prefix + route, int_kwargs=ints))
    return found


def all_routes() -> list[Route]:
    return walk(get_resolver())


def ids_of(world: World, project: Project) -> dict[str, str]:
    return {
        "project_id": str(project.pk),
        "task_id": str(world.lease_b.pk),
        "annotation_id": str(world.annotation_b.pk),
        "scene_id": str(world.scene_b.pk),
        "job_id": str(world.job_b.pk),
        "area_id": str(world.area_b.pk),
        "number": "1",
        "z": "0",
        "x": "0",
        "y": "0",
        "fmt": "png",
        "content_type_id": str(ContentType.objects.get_for_model(Project).pk),
        "object_id": str(world.project_b.pk),
    }


def fill(route: Route, values: dict[str, str]) -> str:
    url = "/" + route.route
    for converter in ("int", "str", "path", "slug"):
        for key, value in values.items():
            url = url.replace(f"<{converter}:{key}>", value)
    assert "<" not in url, f"{route.name}: a route parameter has no test value ({url}); add it to ids_of"
    return url + QUERY.get(route.name, "")


def urls_for(world: World) -> list[tuple[Route, str]]:
    """Each route with project B's ids, and, where it names a project and another object, project A's id (where
    the caller is manager) with B's object: the classic IDOR."""
    out = []
    for route in all_routes():
        out.append((route, fill(route, ids_of(world, world.project_b))))
        if "project_id" in route.int_kwargs and len(route.int_kwargs) > 1:
            out.append((route, fill(route, ids_of(world, world.project_a))))
    return out


def call(client: Client, method: str, url: str):
    return getattr(client, method)(url, {}, content_type="application/json")


def test_the_walk_finds_every_kind_of_object_route(world):
    names = {r.name for r in all_routes()}

    assert {
        "labelling:project-detail", "labelling:task-annotations", "labelling:annotation-detail",
        "training:job-detail", "training:model-detail", "training:retrain-now", "exports:project-export",
        "dashboard-api:areas", "dashboard-api:area-detail", "dashboard-api:comparison-png", "dashboard:project", "web:label", "tiles:tile",
    } <= names  # fmt: skip
    assert len(names) >= 35


def walk_failures(client: Client, world: World, *, readable: set[str]) -> list[str]:
    """Every route and method on B's ids whose status is not a refusal (or a 200 GET of a ``readable`` route)."""
    failures = []
    for route, url in urls_for(world):
        for method in METHODS:
            status = call(client, method, url).status_code
            allowed = REFUSED | ({200} if route.name in readable and method == "get" else set())
            if status not in allowed:
                failures.append(f"{method.upper()} {url} ({route.name}): {status}")
    return failures


def test_an_outsider_gets_403_404_or_405_on_every_route_and_method_scenes_and_tiles_included(world):
    outsider = make_user("olaf")  # not staff: manager of project A, no role in B
    add_member(world.project_a, outsider, "manager")
    client = Client()
    client.force_login(outsider)
    before = db_snapshot()

    failures = walk_failures(client, world, readable=set())

    assert failures == []
    assert db_snapshot() == before


def test_staff_outside_a_project_read_its_scene_but_change_nothing(world):
    client = Client()
    client.force_login(world.eve)  # staff (an archive curator), manager of project A only
    before = db_snapshot()

    failures = walk_failures(client, world, readable=CURATOR_READS)

    assert failures == []
    assert client.get(f"/api/scenes/{world.scene_b.pk}/").status_code == 200
    assert db_snapshot() == before


def test_anonymous_callers_never_get_a_2xx(world):
    client = Client()
    before = db_snapshot()
    failures = []

    for route, url in urls_for(world):
        for method in METHODS:
            status = call(client, method, url).status_code
            if 200 <= status < 300 or status >= 500:
                failures.append(f"{method.upper()} {url} ({route.name}): {status}")

    assert failures == []
    assert db_snapshot() == before


def test_a_scene_read_by_staff_shows_no_project_data(world):
    client = Client()
    client.force_login(world.eve)

    detail = client.get(f"/api/scenes/{world.scene_b.pk}/").json()

    assert "project" not in str(detail).lower()
    assert world.project_b.name not in str(detail)
