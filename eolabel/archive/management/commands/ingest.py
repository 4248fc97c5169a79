"""python manage.py ingest PATH... — GeoTIFF/COG files, folders (recursive) and local STAC Item JSON."""

import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from eolabel.archive.errors import ArchiveError
from eolabel.archive.ingest.stac import looks_like_stac_item
from eolabel.archive.ingest.when import parse_when
from eolabel.archive.services import ReferenceSpec, scene_ingest

RASTER_SUFFIXES = {".tif", ".tiff"}


class Command(BaseCommand):
    help = (
        "Ingest GeoTIFF/COG files, folders (recursive) and local STAC Items into the archive: validate, write a "
        "COG under the archive root, register the scene and cut it into chips. Idempotent; exits 1 if any "
        "file was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument(
            "--sensor", help="name of a registered sensor (default: recognised from the file)"
        )
        parser.add_argument(
            "--new-sensor", metavar="NAME", help="register the files' band layout as a new sensor"
        )
        parser.add_argument("--acquired", help="acquisition time (ISO 8601) when the file does not say")
        parser.add_argument("--chip-size", type=int, default=None, help="chip size in pixels (default 256)")
        parser.add_argument(
            "--reference-mask", type=Path, help="a reference class mask for a single input file"
        )
        parser.add_argument(
            "--reference-boxes", type=Path, help="reference boxes (GeoJSON) for a single input file"
        )
        parser.add_argument(
            "--reference-suffix",
            action="append",
            default=[],
            metavar="SUFFIX",
            help="attach <stem>SUFFIX.tif (mask) or <stem>SUFFIX.geojson (boxes) found beside each scene; "
            "such files are not ingested as scenes. Repeatable, e.g. --reference-suffix _mask",
        )
        parser.add_argument(
            "--reference-name", help="name of the reference layer (default: from the file name)"
        )
        parser.add_argument(
            "--reference-classes", help='class names of the mask values, e.g. "0:clear,1:cloud"'
        )

    def handle(self, *args, **opts) -> None:
        acquired = _parse_acquired(opts["acquired"])
        classes = _parse_classes(opts["reference_classes"])
        suffixes: list[str] = opts["reference_suffix"]
        files = list(_expand(opts["paths"], suffixes))
        explicit = [p for p in (opts["reference_mask"], opts["reference_boxes"]) if p]
        if explicit and len(files) != 1:
            raise CommandError("--reference-mask/--reference-boxes need exactly one input file")
        created = duplicates = 0
        rejected: list[tuple[Path, str]] = []
        for path in tqdm(files, desc="ingest", unit="file", disable=None, file=sys.stderr):
            specs = _references(path, opts, suffixes, classes)
            try:
                outcome = scene_ingest(
                    path=path,
                    sensor_name=opts["sensor"],
                    new_sensor=opts["new_sensor"],
                    acquired=acquired,
                    chip_size=opts["chip_size"],
                    references=specs,
                )
            except ArchiveError as exc:
                rejected.append((path, str(exc)))
                self.stderr.write(f"rejected {path}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                rejected.append((path, f"{exc.__class__.__name__}: {exc}"))
                self.stderr.write(f"rejected {path}: unexpected {exc.__class__.__name__}: {exc}")
                continue
            if outcome.created:
                created += 1
                scene = outcome.scene
                self.stdout.write(
                    f"scene {scene.pk}: {path.name} -> {scene.sensor.name}, {scene.width}x{scene.height}, "
                    f"{scene.chips.count()} chips" + (", converted to COG" if outcome.translated else ""),
                )
            else:
                duplicates += 1
                self.stdout.write(f"already in the archive: {path.name} is scene {outcome.scene.pk}")
        summary = f"ingested {created}, already in the archive {duplicates}, rejected {len(rejected)}"
        if rejected:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary)


def _expand(paths: Iterable[Path], suffixes: list[str]) -> Iterator[Path]:
    """Input files in a stable order: folders walked recursively, hidden files and reference files skipped."""
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            raise CommandError(f"{given}: no such file or folder")
        candidates = sorted(p for p in given.rglob("*") if p.is_file()) if given.is_dir() else [given]
        for path in candidates:
            if given.is_dir() and not _is_candidate(path, suffixes):
                continue
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield path


def _is_candidate(path: Path, suffixes: list[str]) -> bool:
    if any(part.startswith(".") for part in path.parts[-1:]):
        return False
    if any(path.stem.endswith(suffix) for suffix in suffixes):
        return False
    if path.suffix.lower() in RASTER_SUFFIXES:
        return True
    return looks_like_stac_item(path)


def _references(
    path: Path, opts: dict, suffixes: list[str], classes: dict[str, str] | None
) -> list[ReferenceSpec]:
    specs = []
    if opts["reference_mask"]:
        specs.append(
            ReferenceSpec(
                path=opts["reference_mask"], kind="mask", name=opts["reference_name"], classes=classes
            )
        )
    if opts["reference_boxes"]:
        specs.append(ReferenceSpec(path=opts["reference_boxes"], kind="boxes", name=opts["reference_name"]))
    for suffix in suffixes:
        name = opts["reference_name"] or suffix.strip("_-. ").replace("_", "-") or "reference"
        for candidate, kind in _siblings_with_suffix(path, suffix):
            specs.append(ReferenceSpec(path=candidate, kind=kind, name=name, classes=classes))
    return specs


def _siblings_with_suffix(path: Path, suffix: str) -> list[tuple[Path, str]]:
    """Reference files beside ``path`` named <base><suffix>.tif|.geojson where <base> is the scene's stem or a
    prefix of it ending at a separator: landsat5_mask.tif belongs to landsat5_toa_6band.tif. The longest base wins."""
    found: list[tuple[int, Path, str]] = []
    for ext, kind in ((".tif", "mask"), (".tiff", "mask"), (".geojson", "boxes")):
        for candidate in path.parent.glob(f"*{suffix}{ext}"):
            base = candidate.stem[: -len(suffix)] if suffix else candidate.stem
            if candidate == path or not base:
                continue
            if path.stem == base or (path.stem.startswith(base) and path.stem[len(base)] in "_-."):
                found.append((len(base), candidate, kind))
    if not found:
        return []
    longest = max(length for length, _, _ in found)
    return [(candidate, kind) for length, candidate, kind in sorted(found) if length == longest]


def _parse_acquired(text: str | None) -> datetime | None:
    if not text:
        return None
    when = parse_when(text)
    if when is None:
        raise CommandError(f"--acquired {text!r}: not an ISO 8601 date or time")
    return when


def _parse_classes(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        pairs = [item.split(":", 1) for item in text.split(",")]
        return {str(int(value)): name.strip() for value, name in pairs if name.strip()}
    except ValueError as exc:
        raise CommandError(f'--reference-classes {text!r}: expected "0:clear,1:cloud"') from exc
