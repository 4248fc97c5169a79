"""What every export format shares: the task type a format needs, file-name-safe names, the class table."""

import re
from typing import Any

from pyproj import CRS

from eolabel.exports.errors import FormatNotForTask, UnknownFormat
from eolabel.labelling.models import Project, TaskType

FORMAT_TASK = {
    "geotiff": TaskType.CLOUD_SEGMENTATION,
    "geojson": TaskType.VEHICLE_DETECTION,
    "coco": TaskType.VEHICLE_DETECTION,
}
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def format_check(*, project: Project, fmt: str) -> None:
    """UnknownFormat, or FormatNotForTask when masks are asked of a boxes project or the other way round."""
    if fmt not in FORMAT_TASK:
        raise UnknownFormat(f"unknown format {fmt!r}: one of {', '.join(FORMAT_TASK)}")
    if project.task_type != FORMAT_TASK[fmt]:
        fits = [f for f, task in FORMAT_TASK.items() if task == project.task_type]
        raise FormatNotForTask(
            f"format {fmt} does not fit project {project.pk}, a {project.task_type} project "
            f"(use {' or '.join(fits) or 'no format'})"
        )


def safe_name(name: str, *, fallback: str) -> str:
    """A name usable as a file name in a zip or a COCO file_name: letters, digits, '.', '_', '-'."""
    cleaned = UNSAFE.sub("_", name).strip("._")
    return cleaned[:120] or fallback


def class_names(project: Project) -> dict[int, str]:
    return {int(c["value"]): str(c["name"]) for c in project.classes}


def class_description(project: Project) -> str:
    """'0 clear, 1 cloud': the form eolabel.archive.ingest.references parses, so an export re-imports as a
    reference layer."""
    return ", ".join(f"{value} {name}" for value, name in sorted(class_names(project).items()))


def crs_member(crs: str | None) -> dict[str, Any] | None:
    """The (2008 GeoJSON) named-CRS member for a CRS string: an OGC URN when it has an EPSG code, else its WKT."""
    if not crs:
        return None
    parsed = CRS.from_user_input(crs)
    authority = parsed.to_authority()
    if authority and authority[0] == "EPSG":
        name = f"urn:ogc:def:crs:EPSG::{authority[1]}"
    else:
        name = parsed.to_wkt()
    return {"type": "name", "properties": {"name": name}}
