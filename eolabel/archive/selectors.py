"""Archive reads: who may see which scene, scene queries with filters, and the grid facts of a stored scene."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from eolabel.archive.models import Scene


@dataclass(frozen=True)
class StoredGrid:
    width: int
    height: int
    crs: str | None
    transform: tuple[float, ...] | None


def scene_raster_info(*, scene: Scene) -> StoredGrid:
    return StoredGrid(
        width=scene.width,
        height=scene.height,
        crs=scene.crs or None,
        transform=tuple(scene.transform) if scene.transform else None,
    )


def scenes_visible_to(*, user: Any) -> QuerySet[Scene]:
    """The one rule for reading scenes (API, tiles, TileJSON, the map): staff (archive curators) see every scene;
    other users see the scenes of the projects where they hold any role; anonymous or inactive users none.

    For members it is one indexed ``EXISTS`` in the same query (the scene's project links, whose project has a
    membership of the user), so the tile fast path stays one query. Roles live in ``labelling``, which imports ``archive``: the model is looked
    up lazily to keep the import graph one-way."""
    scenes = Scene.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return scenes.none()
    if user.is_staff:
        return scenes
    projects = apps.get_model("labelling", "Membership").objects.filter(user_id=user.pk).values("project_id")
    scene_links = apps.get_model("labelling", "Project").scenes.through.objects
    return scenes.filter(Exists(scene_links.filter(scene_id=OuterRef("pk"), project_id__in=projects)))


def scene_list(
    *,
    user: Any,
    sensor: str | None = None,
    acquired_after: datetime | None = None,
    acquired_before: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    georeferenced: bool | None = None,
) -> QuerySet[Scene]:
    """Scenes ``user`` may see (``scenes_visible_to``) matching every given filter; ``bbox`` (west, south, east, north in EPSG:4326) keeps scenes whose
    bounds intersect it, including bounds that cross the antimeridian (west > east)."""
    scenes = scenes_visible_to(user=user).select_related("sensor").annotate(chip_count=Count("chips"))
    if sensor:
        scenes = scenes.filter(sensor__name=sensor)
    if acquired_after:
        scenes = scenes.filter(acquired__gte=acquired_after)
    if acquired_before:
        scenes = scenes.filter(acquired__lte=acquired_before)
    if georeferenced is not None:
        scenes = scenes.filter(georeferenced=georeferenced)
    if bbox:
        west, south, east, north = bbox
        lat = Q(north__gte=south, south__lte=north)
        normal = Q(west__lte=F("east")) & Q(west__lte=east, east__gte=west)
        crossing = Q(west__gt=F("east")) & (Q(west__lte=east) | Q(east__gte=west))
        scenes = scenes.filter(lat & (normal | crossing))
    return scenes
