"""Archive writes: register sensors, ingest scenes, cut chips, attach reference labels."""

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from pyproj import Transformer
from rasterio.errors import RasterioError

from eolabel.archive.errors import IngestRejected, SensorDefinitionError, SensorError, UnreadableRaster
from eolabel.archive.ingest import references as refs
from eolabel.archive.ingest.cog import cog_write
from eolabel.archive.ingest.raster import RasterInfo, file_sha256, first_line, raster_inspect
from eolabel.archive.ingest.recognise import sensor_check, sensor_recognise
from eolabel.archive.ingest.stac import StacAsset, looks_like_stac_item, stac_read
from eolabel.archive.ingest.when import acquired_from_name, acquired_from_tags
from eolabel.archive.models import Chip, ReferenceLayer, Scene, Sensor
from eolabel.archive.paths import archive_relative, archive_root

logger = logging.getLogger(__name__)

SENSOR_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class ReferenceSpec:
    """A reference label file to attach to the scene being ingested."""

    path: Path
    kind: str = ReferenceLayer.Kind.MASK
    name: str | None = None
    classes: dict[str, str] | None = None


@dataclass(frozen=True)
class IngestOutcome:
    scene: Scene
    created: bool
    translated: bool = False


# --- sensors -------------------------------------------------------------------------------------------


def sensor_register(
    *,
    name: str,
    bands: Sequence[dict[str, Any]],
    presets: dict[str, Any] | None = None,
    default_preset: str = "",
    title: str = "",
    resolution_m: float | None = None,
    match: dict[str, Any] | None = None,
) -> Sensor:
    """Register a new band layout. Band names must be unique; presets may only name those bands."""
    if not SENSOR_NAME.match(name):
        raise SensorDefinitionError(f"sensor name {name!r}: use 2-64 lowercase letters, digits and '-'")
    if Sensor.objects.filter(name=name).exists():
        raise SensorDefinitionError(f"sensor {name!r} already exists")
    clean_bands = [_clean_band(i, band) for i, band in enumerate(bands)]
    names = [band["name"] for band in clean_bands]
    if not clean_bands or len(set(names)) != len(names):
        raise SensorDefinitionError("a sensor needs at least one band and unique band names")
    presets = presets or {}
    for preset_name, preset in presets.items():
        _check_preset(preset_name, preset, names)
    if default_preset and default_preset not in presets:
        raise SensorDefinitionError(f"default preset {default_preset!r} is not among the presets")
    return Sensor.objects.create(
        name=name,
        title=title,
        bands=clean_bands,
        presets=presets,
        default_preset=default_preset or next(iter(presets), ""),
        resolution_m=resolution_m,
        match=match or {},
    )


def sensor_define_from_file(*, name: str, info: RasterInfo, stac: StacAsset | None = None) -> Sensor:
    """A new sensor from a file's own band descriptions (or STAC eo:bands), with display presets
    stretched on the file's 2-98 percentiles."""
    names = [(d or f"b{i + 1}").strip() for i, d in enumerate(info.descriptions)]
    if stac and len(stac.band_names) == info.count and all(stac.band_names):
        names = stac.band_names
    if len(set(names)) != len(names):
        names = [f"b{i + 1}" for i in range(info.count)]
    wavelengths = (
        stac.wavelengths_nm if stac and len(stac.wavelengths_nm) == info.count else [None] * info.count
    )
    resolution = info.metre_resolution
    bands = [
        {"name": n, "common_name": n.lower(), "wavelength_nm": w, "resolution_m": resolution}
        for n, w in zip(names, wavelengths, strict=True)
    ]
    stretch = _percentile_stretch(info.path, min(info.count, 3))
    shown = names[:3] if info.count >= 3 else names[:1]
    presets = {"default": {"bands": shown, "rescale": stretch[: len(shown)]}}
    return sensor_register(
        name=name,
        bands=bands,
        presets=presets,
        default_preset="default",
        title=f"registered from {info.path.name}",
        resolution_m=resolution,
        match={"dtypes": [info.dtype]},
    )


def _clean_band(index: int, band: dict[str, Any]) -> dict[str, Any]:
    name = str(band.get("name", "")).strip()
    if not name or len(name) > 32:
        raise SensorDefinitionError(f"band {index + 1}: a name of 1-32 characters is required")
    wavelength = band.get("wavelength_nm")
    resolution = band.get("resolution_m")
    for label, value in (("wavelength_nm", wavelength), ("resolution_m", resolution)):
        if value is not None and (not isinstance(value, int | float) or not 0 < float(value) < 1e6):
            raise SensorDefinitionError(f"band {name}: {label} must be a positive number")
    return {
        "name": name,
        "common_name": str(band.get("common_name") or name).strip(),
        "wavelength_nm": float(wavelength) if wavelength is not None else None,
        "resolution_m": float(resolution) if resolution is not None else None,
    }


def _check_preset(name: str, preset: Any, band_names: list[str]) -> None:
    if not isinstance(preset, dict) or not isinstance(preset.get("bands"), list):
        raise SensorDefinitionError(f"preset {name!r}: needs a list of bands")
    shown = preset["bands"]
    if len(shown) not in (1, 3) or any(b not in band_names for b in shown):
        raise SensorDefinitionError(f"preset {name!r}: 1 or 3 bands among {', '.join(band_names)}")
    rescale = preset.get("rescale")
    if rescale is not None and (
        len(rescale) != len(shown) or any(len(r) != 2 or not float(r[0]) < float(r[1]) for r in rescale)
    ):
        raise SensorDefinitionError(f"preset {name!r}: one [min, max] rescale range per band")


def _percentile_stretch(path: Path, count: int) -> list[list[float]]:
    import rasterio

    from eolabel.archive.ingest.raster import gdal_env

    try:
        with gdal_env(), rasterio.open(path, driver="GTiff") as src:
            factor = max(1, max(src.width, src.height) // 512)
            data = src.read(
                indexes=list(range(1, count + 1)),
                out_shape=(count, max(1, src.height // factor), max(1, src.width // factor)),
                masked=True,
            )
    except RasterioError as exc:  # a truncated or corrupt file: a reason, not a traceback
        raise UnreadableRaster(f"{path.name}: cannot be read to the end ({first_line(exc)})") from exc
    ranges = []
    for band in data:
        values = band.compressed() if np.ma.isMaskedArray(band) else band.ravel()
        if values.size == 0:
            ranges.append([0.0, 1.0])
            continue
        low, high = np.percentile(values, [2, 98])
        ranges.append([float(low), float(max(high, low + 1))])
    return ranges


# --- scenes --------------------------------------------------------------------------------------------


def scene_ingest(
    *,
    path: Path,
    sensor_name: str | None = None,
    new_sensor: str | None = None,
    acquired: datetime | None = None,
    chip_size: int | None = None,
    references: Sequence[ReferenceSpec] = (),
) -> IngestOutcome:
    """Ingest one GeoTIFF/COG or local STAC Item. Idempotent: the same file again returns its scene.
    Raises an IngestRejected subclass with a one-line reason; then nothing is stored."""
    path = Path(path)
    if path.is_symlink():
        raise IngestRejected(f"{path.name}: a symbolic link; ingest reads regular files only")
    stac = stac_read(path) if looks_like_stac_item(path) else None
    raster_path = stac.path if stac else path
    checksum = file_sha256(raster_path)
    existing = Scene.objects.filter(checksum=checksum).first()
    if existing is not None:
        _attach_new_references(existing, references)
        return IngestOutcome(scene=existing, created=False)

    info = raster_inspect(raster_path)
    sensor = _sensor_for(info=info, stac=stac, sensor_name=sensor_name, new_sensor=new_sensor)
    checked_refs = [refs.reference_check(spec_path=r.path, kind=r.kind, info=info) for r in references]

    dest = (
        archive_root()
        / "scenes"
        / sensor.name
        / checksum[:2]
        / f"{checksum[:16]}_{_safe_stem(raster_path)}.tif"
    )
    written: list[Path] = []
    try:
        try:
            translated = cog_write(raster_path, dest)
        except RasterioError as exc:
            raise UnreadableRaster(
                f"{raster_path.name}: cannot be read to the end ({first_line(exc)})"
            ) from exc
        written.append(dest)
        with transaction.atomic():
            scene = Scene.objects.create(
                sensor=sensor,
                name=stac.item_id if stac else raster_path.stem,
                acquired=acquired or _acquired(info, stac, raster_path),
                georeferenced=info.georeferenced,
                crs=info.crs or "",
                transform=list(info.transform) if info.georeferenced else None,
                west=info.bounds_4326[0] if info.bounds_4326 else None,
                south=info.bounds_4326[1] if info.bounds_4326 else None,
                east=info.bounds_4326[2] if info.bounds_4326 else None,
                north=info.bounds_4326[3] if info.bounds_4326 else None,
                footprint=info.footprint,
                asset_path=archive_relative(dest),
                source_name=path.name,
                width=info.width,
                height=info.height,
                band_count=info.count,
                dtype=info.dtype,
                nodata=info.nodata,
                checksum=checksum,
                cog_checksum=file_sha256(dest),
                properties=_properties(info, stac),
            )
            chips_ensure(scene=scene, size=chip_size or settings.EOLABEL_CHIP_SIZE)
            for spec, checked in zip(references, checked_refs, strict=True):
                layer_path = refs.reference_store(checked=checked, kind=spec.kind)
                written.append(layer_path)
                refs.reference_create(scene=scene, spec=spec, checked=checked, stored=layer_path)
    except IntegrityError:
        # Another process ingested the same file at the same time: its scene stands, ours is dropped.
        _discard(written)
        scene = Scene.objects.get(checksum=checksum)
        return IngestOutcome(scene=scene, created=False)
    except BaseException:
        _discard(written)
        raise
    logger.debug("ingested %s as scene %s (%s)", path.name, scene.pk, sensor.name)
    return IngestOutcome(scene=scene, created=True, translated=translated)


def _sensor_for(
    *, info: RasterInfo, stac: StacAsset | None, sensor_name: str | None, new_sensor: str | None
) -> Sensor:
    if new_sensor:
        existing = Sensor.objects.filter(name=new_sensor).first()
        if existing:
            sensor_check(existing, info)
            return existing
        return sensor_define_from_file(name=new_sensor, info=info, stac=stac)
    if sensor_name:
        sensor = Sensor.objects.filter(name=sensor_name).first()
        if sensor is None:
            known = ", ".join(Sensor.objects.values_list("name", flat=True))
            raise SensorError(f"no sensor named {sensor_name!r} (known: {known})")
        sensor_check(sensor, info)
        return sensor
    platform = (stac.platform if stac else None) or info.tags.get("SPACECRAFT") or info.tags.get("PLATFORM")
    return sensor_recognise(info, platform=platform)


def _acquired(info: RasterInfo, stac: StacAsset | None, path: Path) -> datetime | None:
    if stac and stac.acquired:
        return stac.acquired
    return acquired_from_tags(info.tags) or acquired_from_name(path.name)


def _properties(info: RasterInfo, stac: StacAsset | None) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": info.tags, "descriptions": list(info.descriptions)}
    if info.metre_resolution:
        props["gsd_m"] = info.metre_resolution
    if stac:
        props["stac"] = stac.properties
    return json.loads(json.dumps(props, default=str))


def _safe_stem(path: Path) -> str:
    return slugify(path.stem)[:60] or "scene"


def _discard(paths: list[Path]) -> None:
    for written in paths:
        relative = archive_relative(written)
        still_used = (
            Scene.objects.filter(asset_path=relative).exists()
            or ReferenceLayer.objects.filter(asset_path=relative).exists()
        )
        if not still_used:
            written.unlink(missing_ok=True)


def _attach_new_references(scene: Scene, references: Sequence[ReferenceSpec]) -> None:
    for spec in references:
        name = refs.reference_name(spec=spec, scene=scene)
        if scene.references.filter(name=name).exists():
            continue
        reference_attach(scene=scene, spec=spec)


# --- chips ---------------------------------------------------------------------------------------------


def chip_windows(*, width: int, height: int, size: int) -> list[tuple[int, int, int, int]]:
    """(col_off, row_off, w, h) covering the image, edge chips clipped to it."""
    if size < 16:
        raise IngestRejected(f"chip size {size} is below 16 px")
    return [
        (col, row, min(size, width - col), min(size, height - row))
        for row in range(0, height, size)
        for col in range(0, width, size)
    ]


def chips_ensure(*, scene: Scene, size: int) -> int:
    """Create the scene's chips of ``size`` (idempotent); returns how many the scene has at that size."""
    windows = chip_windows(width=scene.width, height=scene.height, size=size)
    bounds = _window_bounds(scene, windows)
    Chip.objects.bulk_create(
        [
            Chip(scene=scene, size=size, col_off=c, row_off=r, width=w, height=h, **b)
            for (c, r, w, h), b in zip(windows, bounds, strict=True)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return Chip.objects.filter(scene=scene, size=size).count()


def _window_bounds(scene: Scene, windows: list[tuple[int, int, int, int]]) -> list[dict[str, float | None]]:
    if not scene.georeferenced or not scene.transform:
        return [{"west": None, "south": None, "east": None, "north": None}] * len(windows)
    a, b, c, d, e, f = scene.transform
    cols = np.array([[w[0], w[0] + w[2], w[0] + w[2], w[0]] for w in windows], dtype=float)
    rows = np.array([[w[1], w[1], w[1] + w[3], w[1] + w[3]] for w in windows], dtype=float)
    xs, ys = a * cols + b * rows + c, d * cols + e * rows + f
    lon, lat = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    lon, lat = np.asarray(lon), np.asarray(lat)
    return [
        {"west": float(lo.min()), "south": float(la.min()), "east": float(lo.max()), "north": float(la.max())}
        for lo, la in zip(lon, lat, strict=True)
    ]


# --- reference labels ----------------------------------------------------------------------------------


def reference_attach(*, scene: Scene, spec: ReferenceSpec) -> ReferenceLayer:
    """Attach a reference mask (same grid as the scene) or box file to an existing scene."""
    from eolabel.archive.selectors import scene_raster_info

    checked = refs.reference_check(spec_path=spec.path, kind=spec.kind, info=scene_raster_info(scene=scene))
    stored = refs.reference_store(checked=checked, kind=spec.kind)
    try:
        with transaction.atomic():
            return refs.reference_create(scene=scene, spec=spec, checked=checked, stored=stored)
    except BaseException:
        _discard([stored])
        raise


# --- integrity -----------------------------------------------------------------------------------------


def scene_verify(*, scene_id: int) -> str:
    """Check that a scene's stored COG is present and unchanged; records and returns the status."""
    from eolabel.archive.paths import archive_resolve

    scene = Scene.objects.filter(pk=scene_id).first()
    if scene is None:
        return "gone"
    path = archive_resolve(scene.asset_path)
    if not path.is_file():
        status = Scene.Status.MISSING
    elif file_sha256(path) != scene.cog_checksum:
        status = Scene.Status.CORRUPT
    else:
        status = Scene.Status.READY
    Scene.objects.filter(pk=scene.pk).update(status=status)
    return str(status)


def sensors_ensure_builtin() -> int:
    """Create or refresh the built-in sensors (the data migration calls the same definitions)."""
    from eolabel.archive.sensors import BUILTIN_SENSORS

    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    return len(BUILTIN_SENSORS)
