"""Reference labels made elsewhere (MAJA/THEIA or s2cloudless cloud masks, ukis-csmask codes, ground truth)
attached to scenes as ReferenceLayers, never as Annotations: evaluation reads them, annotators never see them
as their own work.

Every file of a call is checked (scene found, grid, kind, name free) before any is stored, so a refused call
changes nothing. A mask with ``value_map`` is rewritten with the foreign codes mapped onto the project's
(values the map does not name become 255, unlabelled, unless the map has a ``*`` default) and that rewritten
file is what gets stored."""

import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from django.db import transaction
from rasterio.errors import NotGeoreferencedWarning

from eolabel.archive.errors import ArchiveError
from eolabel.archive.ingest import references as refs
from eolabel.archive.ingest.raster import gdal_env, open_gtiff
from eolabel.archive.models import ReferenceLayer, Scene
from eolabel.archive.selectors import scene_raster_info
from eolabel.archive.services import ReferenceSpec, reference_attach
from eolabel.exports.errors import ImportRefused

UNMAPPED = 255


@dataclass(frozen=True)
class ReferenceImport:
    """One file to attach: to ``scene_id``, or to the scene its file name starts with when None."""

    path: Path
    kind: str = ReferenceLayer.Kind.MASK
    scene_id: int | None = None
    scene_name: str | None = None
    name: str | None = None
    classes: dict[str, str] | None = None
    value_map: dict[str, int] | None = None


def reference_import(*, items: Sequence[ReferenceImport]) -> list[ReferenceLayer]:
    """Attach every item or none: ImportRefused (one line) before anything is stored when one does not fit."""
    with tempfile.TemporaryDirectory(prefix="eolabel-ref-") as tmp:
        planned = [_plan(item, Path(tmp), index) for index, item in enumerate(items)]
        _check_names_distinct(planned)
        try:
            with transaction.atomic():
                return [reference_attach(scene=scene, spec=spec) for scene, spec in planned]
        except ArchiveError as exc:
            raise ImportRefused(str(exc)) from exc


def parse_pairs(text: str | None, *, what: str) -> dict[str, str]:
    """'0:clear,1:cloud' -> {'0': 'clear', '1': 'cloud'}; ImportRefused naming ``what`` when malformed."""
    if not text:
        return {}
    pairs: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ImportRefused(f'{what}: {item.strip()!r} is not KEY:VALUE (e.g. "0:clear,1:cloud")')
        if key in pairs:
            raise ImportRefused(f"{what}: {key} is given twice")
        pairs[key] = value
    return pairs


def parse_classes(text: str | None) -> dict[str, str]:
    """'0:clear,1:cloud' -> {'0': 'clear', '1': 'cloud'}: names of the stored mask values."""
    classes = parse_pairs(text, what="--classes")
    for key in classes:
        if not key.isdigit():
            raise ImportRefused(f"--classes: {key!r} is not a class value (0..255)")
    return classes


def parse_value_map(text: str | None) -> dict[str, int]:
    """'4:1,0:0,*:255' -> {'4': 1, '0': 0, '*': 255}: foreign code -> project class value (0..255)."""
    mapping: dict[str, int] = {}
    for key, value in parse_pairs(text, what="--value-map").items():
        if key != "*" and not key.lstrip("-").isdigit():
            raise ImportRefused(f"--value-map: {key!r} is not an integer code (or * for the rest)")
        if not value.isdigit() or not 0 <= int(value) <= 255:
            raise ImportRefused(f"--value-map: {key}:{value} maps to a value outside 0..255")
        mapping[key] = int(value)
    return mapping


def scene_for_file(*, path: Path, scene_id: int | None = None, scene_name: str | None = None) -> Scene:
    """The scene by id, by name, or the one whose name (or source file stem) the file name starts with
    (the longest such name wins)."""
    if scene_id is not None:
        scene = Scene.objects.filter(pk=scene_id).first()
        if scene is None:
            raise ImportRefused(f"no scene with id {scene_id}")
        return scene
    if scene_name:
        found = list(Scene.objects.filter(name=scene_name)[:2])
        if len(found) != 1:
            raise ImportRefused(f"{len(found) or 'no'} scene(s) named {scene_name!r}: use --scene ID")
        return found[0]
    stem = path.stem
    matches: list[tuple[int, Scene]] = []
    for scene in Scene.objects.only("pk", "name", "source_name"):
        prefixes = {scene.name, Path(scene.source_name).stem} - {""}
        longest = max((len(p) for p in prefixes if stem.startswith(p)), default=0)
        if longest:
            matches.append((longest, scene))
    if not matches:
        raise ImportRefused(
            f"{path.name}: no scene name starts its file name; use --scene ID or --scene-name"
        )
    matches.sort(key=lambda m: -m[0])
    if len(matches) > 1 and matches[0][0] == matches[1][0]:
        raise ImportRefused(
            f"{path.name}: scenes {matches[0][1].pk} and {matches[1][1].pk} both match; use --scene"
        )
    return matches[0][1]


def _plan(item: ReferenceImport, tmp: Path, index: int) -> tuple[Scene, ReferenceSpec]:
    if item.kind not in ReferenceLayer.Kind.values:
        raise ImportRefused(f"unknown kind {item.kind!r}: mask or boxes")
    if not item.path.is_file():
        raise ImportRefused(f"{item.path}: no such file")
    scene = scene_for_file(path=item.path, scene_id=item.scene_id, scene_name=item.scene_name)
    path = item.path
    if item.value_map:
        if item.kind != ReferenceLayer.Kind.MASK:
            raise ImportRefused("--value-map applies to masks only")
        path = _remapped(item.path, tmp / f"{index}_{item.path.stem}.tif", item.value_map, item.classes)
    spec = ReferenceSpec(
        path=path, kind=item.kind, name=item.name or _default_name(item, scene), classes=item.classes
    )
    try:
        refs.reference_check(spec_path=spec.path, kind=spec.kind, info=scene_raster_info(scene=scene))
    except ArchiveError as exc:
        raise ImportRefused(f"{item.path.name} -> scene {scene.pk}: {exc}") from exc
    name = refs.reference_name(spec=spec, scene=scene)
    if scene.references.filter(name=name).exists():
        raise ImportRefused(f"scene {scene.pk} already has a reference layer named {name!r}: use --name")
    return scene, spec


def _default_name(item: ReferenceImport, scene: Scene) -> str:
    """The name archive ingest would give the original file (the remapped copy has another stem)."""
    return refs.reference_name(spec=ReferenceSpec(path=item.path, kind=item.kind), scene=scene)


def _check_names_distinct(planned: list[tuple[Scene, ReferenceSpec]]) -> None:
    seen: set[tuple[int, str]] = set()
    for scene, spec in planned:
        key = (scene.pk, refs.reference_name(spec=spec, scene=scene))
        if key in seen:
            raise ImportRefused(f"two files would both become reference {key[1]!r} of scene {scene.pk}")
        seen.add(key)


def _remapped(source: Path, dest: Path, value_map: dict[str, int], classes: dict[str, str] | None) -> Path:
    """A uint8 copy of a one-band integer mask with its codes mapped (unnamed codes -> the '*' value or 255)."""
    default = value_map.get("*", UNMAPPED)
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            src = open_gtiff(source)
        except ArchiveError as exc:
            raise ImportRefused(str(exc)) from exc
        with src:
            if src.count != 1 or not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
                raise ImportRefused(f"{source.name}: a reference mask is one band of integer class values")
            data = src.read(1)
            profile = {k: v for k, v in src.profile.items() if k in ("crs", "transform", "width", "height")}
    out = np.full(data.shape, default, dtype=np.uint8)
    for key, value in value_map.items():
        if key != "*":
            out[data == int(key)] = value
    description = ", ".join(f"{v} {n}" for v, n in sorted((classes or {}).items(), key=lambda kv: int(kv[0])))
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            dest, "w", driver="GTiff", count=1, dtype="uint8", nodata=UNMAPPED, compress="deflate", **profile
        ) as dst:
            dst.write(out, 1)
            if description:
                dst.set_band_description(1, description)
    return dest
