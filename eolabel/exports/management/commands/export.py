"""python manage.py export PROJECT --format geotiff|geojson|coco [--out PATH]"""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.exports.errors import ExportError
from eolabel.exports.services import EXPORT_FORMATS, export_filename, project_export
from eolabel.labelling.models import Project


class Command(BaseCommand):
    help = (
        "Export a project's annotations: masks as a zip of per-scene GeoTIFFs (geotiff), boxes as GeoJSON in "
        "the scene CRS (geojson) or COCO JSON (coco). PROJECT is an id or an exact name. Exits 1 with a "
        "one-line reason on any error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("--format", required=True, choices=sorted(EXPORT_FORMATS), dest="fmt")
        parser.add_argument("--out", type=Path, help="output file (default: ./project-<id>-<format>.<ext>)")

    def handle(self, *args, **opts) -> None:
        project = _project(opts["project"])
        fmt: str = opts["fmt"]
        out: Path = opts["out"] or Path(export_filename(project=project, fmt=fmt))
        if out.is_dir():
            raise CommandError(f"--out {out}: is a directory; give a file name", returncode=1)
        if not out.parent.resolve().is_dir():
            raise CommandError(f"--out {out}: folder {out.parent} does not exist", returncode=1)
        try:
            handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write there ({exc.strerror})", returncode=1) from exc
        try:
            with os.fdopen(handle, "wb") as stream:
                counts = project_export(project=project, fmt=fmt, out=stream)
            os.replace(tmp, out)
        except ExportError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write there ({exc.strerror})", returncode=1) from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        self.stdout.write(f"project {project.pk} exported as {fmt} to {out} ({summary})")


def _project(key: str) -> Project:
    project = Project.objects.filter(pk=int(key)).first() if key.isdigit() else None
    if project is None:
        named = list(Project.objects.filter(name=key)[:2])
        if len(named) > 1:
            raise CommandError(f"several projects are named {key!r}: give its id", returncode=1)
        project = named[0] if named else None
    if project is None:
        raise CommandError(f"no project {key!r} (give an id or an exact name)", returncode=1)
    return project
