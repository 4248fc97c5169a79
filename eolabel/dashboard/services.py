"""Dashboard writes: areas of interest, created, renamed and deleted (managers only; the view checks the role)."""

from typing import Any

import shapely
from django.contrib.auth.base_user import AbstractBaseUser

from eolabel.dashboard.errors import AreaInvalid, AreaNotFound
from eolabel.dashboard.models import AreaOfInterest
from eolabel.labelling.models import Project

MAX_VERTICES = 1000


def area_of_interest_create(
    *, project: Project, name: str, geometry: Any, created_by: AbstractBaseUser | None = None
) -> AreaOfInterest:
    """Store a named GeoJSON Polygon (EPSG:4326 lon/lat, one outer ring, valid, non-empty)."""
    name = _name(name)
    polygon = _polygon(geometry)
    if AreaOfInterest.objects.filter(project=project, name=name).exists():
        raise AreaInvalid(f"an area named {name!r} already exists", field="name")
    return AreaOfInterest.objects.create(
        project=project, name=name, geometry=shapely.geometry.mapping(polygon), created_by=created_by
    )


def area_of_interest_get(*, project: Project, area_id: int) -> AreaOfInterest:
    """The project's area with that id; an area of another project is not found, like a missing one."""
    area = AreaOfInterest.objects.filter(project=project, pk=area_id).first()
    if area is None:
        raise AreaNotFound(f"no area of interest {area_id} in this project")
    return area


def area_of_interest_rename(*, area: AreaOfInterest, name: str) -> AreaOfInterest:
    """Give the area a new name (1 to 200 characters, unique in its project; its own name is a no-op)."""
    name = _name(name)
    if AreaOfInterest.objects.filter(project_id=area.project_id, name=name).exclude(pk=area.pk).exists():
        raise AreaInvalid(f"an area named {name!r} already exists", field="name")
    if area.name != name:
        area.name = name
        area.save(update_fields=["name"])
    return area


def area_of_interest_delete(*, area: AreaOfInterest) -> None:
    """Remove the area; its vehicle counts disappear with it (they are computed, not stored)."""
    area.delete()


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise AreaInvalid("give the area a name of 1 to 200 characters", field="name")
    return name


def _polygon(geometry: Any) -> shapely.Polygon:
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise AreaInvalid("expected a GeoJSON Polygon", field="geometry")
    try:
        polygon = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise AreaInvalid(f"not a readable polygon ({exc})", field="geometry") from exc
    coords = list(polygon.exterior.coords) if not polygon.is_empty else []
    if len(coords) < 4 or len(coords) > MAX_VERTICES + 1:
        raise AreaInvalid(f"a polygon needs 3 to {MAX_VERTICES} vertices", field="geometry")
    west, south, east, north = polygon.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise AreaInvalid("coordinates must be lon/lat degrees (EPSG:4326)", field="geometry")
    if not polygon.is_valid or polygon.area <= 0:
        raise AreaInvalid("the polygon is empty or crosses itself", field="geometry")
    return polygon
