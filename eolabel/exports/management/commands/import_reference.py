"""python manage.py import_reference PATH... [--scene ID | --scene-name NAME] [--kind mask|boxes] ..."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.exports.errors import ExportError
from eolabel.exports.services.references import (
    ReferenceImport,
    parse_classes,
    parse_value_map,
    reference_import,
)


class Command(BaseCommand):
    help = (
        "Attach reference labels made elsewhere (class masks on the scene's grid, or boxes as GeoJSON) to "
        "scenes as reference layers: evaluation uses them, they are never annotations. Each file goes to "
        "--scene/--scene-name, or to the scene whose name starts its file name. All files or none: on any "
        "refusal nothing is stored and the command exits 1 with a one-line reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="mask GeoTIFFs or box GeoJSON files")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--scene", type=int, help="scene id (all files go to it)")
        target.add_argument("--scene-name", help="exact scene name (all files go to it)")
        parser.add_argument(
            "--kind", choices=["mask", "boxes"], default=None, help="default: from the suffix"
        )
        parser.add_argument(
            "--name", help="reference layer name (default: from the file name); one file only"
        )
        parser.add_argument("--classes", help='names of the stored values, e.g. "0:clear,1:cloud"')
        parser.add_argument(
            "--value-map",
            help='masks: foreign code -> stored value, e.g. "4:1,3:0,*:255" (ukis-csmask cloud=4 -> 1, clear '
            "land=3 -> 0, the rest unlabelled); codes not named become 255 unless * is given",
        )

    def handle(self, *args, **opts) -> None:
        paths: list[Path] = opts["paths"]
        if opts["name"] and len(paths) > 1:
            raise CommandError("--name needs exactly one file", returncode=1)
        try:
            classes = parse_classes(opts["classes"]) or None
            value_map = parse_value_map(opts["value_map"]) or None
            items = [
                ReferenceImport(
                    path=path,
                    kind=opts["kind"] or _kind(path),
                    scene_id=opts["scene"],
                    scene_name=opts["scene_name"],
                    name=opts["name"],
                    classes=classes,
                    value_map=value_map,
                )
                for path in paths
            ]
            layers = reference_import(items=items)
        except ExportError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        for layer in layers:
            self.stdout.write(f"scene {layer.scene_id}: reference {layer.name!r} ({layer.kind}) attached")


def _kind(path: Path) -> str:
    return "boxes" if path.suffix.lower() in (".geojson", ".json") else "mask"
