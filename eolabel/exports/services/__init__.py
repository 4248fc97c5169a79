"""Export writes: a project's chosen annotations as GeoTIFF masks (zip), GeoJSON boxes or COCO JSON; and the
import of reference labels made elsewhere."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from eolabel.exports.services._common import FORMAT_TASK, format_check
from eolabel.exports.services.boxes import export_coco, export_geojson
from eolabel.exports.services.geotiff import export_geotiff
from eolabel.labelling.models import Project


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    content_type: str
    write: Callable[..., dict[str, int]]


EXPORT_FORMATS = {
    "geotiff": ExportFormat("geotiff", "zip", "application/zip", export_geotiff),
    "geojson": ExportFormat("geojson", "geojson", "application/geo+json", export_geojson),
    "coco": ExportFormat("coco", "json", "application/json", export_coco),
}


def project_export(*, project: Project, fmt: str, out: BinaryIO) -> dict[str, int]:
    """Write the project in ``fmt`` to ``out``; raises an ExportError subclass with a one-line reason."""
    format_check(project=project, fmt=fmt)
    return EXPORT_FORMATS[fmt].write(project=project, out=out)


def export_filename(*, project: Project, fmt: str) -> str:
    return f"project-{project.pk}-{fmt}.{EXPORT_FORMATS[fmt].extension}"


__all__ = [
    "EXPORT_FORMATS",
    "FORMAT_TASK",
    "ExportFormat",
    "export_coco",
    "export_filename",
    "export_geojson",
    "export_geotiff",
    "project_export",
]
