"""Archive reads: scene queries with filters, and the grid facts of a stored scene."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

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


def scene_list(
    *,
    sensor: str | None = None,
    acquired_after: datetime | None = None,
    acquired_before: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    georeferenced: bool | None = None,
) -> QuerySet[Scene]:
    """Scenes matching every given filter; ``bbox`` (west, south, east, north in EPSG:4326) keeps scenes whose
    bounds intersect it, including bounds that cross the antimeridian (west > east)."""
    scenes = Scene.objects.select_related("sensor").annotate(chip_count=Count("chips"))
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
