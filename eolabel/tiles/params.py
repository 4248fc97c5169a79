"""Tile parameters: the query string and the z/x/y path validated into small frozen objects.

Nothing here touches a file or the database; a sensor's presets are parsed once per sensor version
(``sensor_display``) and every request only looks names up in the result."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from eolabel.tiles.errors import InvalidParameter, SensorMisconfigured

MAX_ZOOM = 24  # the last zoom level of WebMercatorQuad; also the cap for the pixel grid of non-geo images
TILE_SIZES = (256, 512)
DEFAULT_TILE_SIZE = 256
FORMATS = {"png": "PNG", "webp": "WEBP"}
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp"}
BAND_COUNTS = (1, 3)


@dataclass(frozen=True)
class Display:
    """Which bands (1-based file indexes) make the image, and the [min, max] stretched to 0..255 per band."""

    indexes: tuple[int, ...]
    rescale: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TileAddress:
    z: int
    x: int
    y: int
    fmt: str  # "png" | "webp"

    @property
    def driver(self) -> str:
        return FORMATS[self.fmt]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


@dataclass(frozen=True)
class TileParams:
    display: Display
    tilesize: int
    query: tuple[tuple[str, str], ...]  # the normalised query to carry into tile URLs

    def query_string(self) -> str:
        return urlencode(self.query, safe=",")

    def cache_key(self) -> str:
        """What the rendered image depends on, besides the file, the tile and the format."""
        return f"{self.display.indexes}|{self.display.rescale}|{self.tilesize}"


@dataclass(frozen=True)
class SensorDisplay:
    """A sensor's band names and presets, parsed. A preset that cannot be used maps to the reason why."""

    name: str
    band_index: Mapping[str, int]
    presets: Mapping[str, Display | str]
    default_preset: str


_SENSOR_CACHE: dict[tuple[int, str], SensorDisplay] = {}
_SENSOR_CACHE_MAX = 256


def sensor_display(
    *, sensor_id: int, name: str, bands: Sequence[str], presets: Mapping[str, Any], default_preset: str
) -> SensorDisplay:
    """The parsed display facts of a sensor, cached per sensor and per content (an edited preset is re-parsed)."""
    key = (sensor_id, repr((name, list(bands), presets, default_preset)))
    found = _SENSOR_CACHE.get(key)
    if found is None:
        if len(_SENSOR_CACHE) >= _SENSOR_CACHE_MAX:
            _SENSOR_CACHE.clear()
        found = _SENSOR_CACHE[key] = sensor_display_parse(
            name=name, bands=bands, presets=presets, default_preset=default_preset
        )
    return found


def sensor_display_parse(
    *, name: str, bands: Sequence[str], presets: Mapping[str, Any], default_preset: str
) -> SensorDisplay:
    band_index = MappingProxyType({band: i + 1 for i, band in enumerate(bands)})
    parsed: dict[str, Display | str] = {}
    for preset_name, preset in presets.items():
        try:
            parsed[preset_name] = _preset_parse(preset, band_index)
        except (InvalidParameter, TypeError, ValueError, KeyError) as exc:
            parsed[preset_name] = f"sensor {name} preset {preset_name!r} is invalid ({exc})"
    return SensorDisplay(
        name=name, band_index=band_index, presets=MappingProxyType(parsed), default_preset=default_preset
    )


def _preset_parse(preset: Mapping[str, Any], band_index: Mapping[str, int]) -> Display:
    indexes = _band_indexes(list(preset["bands"]), band_index, sensor_name="")
    pairs = tuple((float(lo), float(hi)) for lo, hi in preset["rescale"])
    return Display(indexes=indexes, rescale=_rescale_check(pairs, len(indexes)))


def tile_format_parse(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidParameter("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def tile_address_parse(*, z: int, x: int, y: int, fmt: str) -> TileAddress:
    tile_format_parse(fmt)
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidParameter("z", f"{z} is outside 0..{MAX_ZOOM}")
    return TileAddress(z=z, x=x, y=y, fmt=fmt)


def tile_params_parse(
    *, query: Mapping[str, Sequence[str]], sensor: SensorDisplay, band_count: int
) -> TileParams:
    """Validate ``preset`` | ``bands`` + ``rescale``, and ``tilesize``. Unknown query keys are ignored
    (cache busters); a known key given twice is an error."""
    preset_name = _single(query, "preset")
    bands = _single(query, "bands")
    tilesize_text = _single(query, "tilesize")
    rescale_texts = list(query.get("rescale", ()))
    if preset_name is not None and bands is not None:
        raise InvalidParameter("preset", "give either preset or bands, not both")

    carried: list[tuple[str, str]] = []
    if bands is not None:
        indexes = _band_indexes(bands.split(","), sensor.band_index, sensor_name=sensor.name)
        if not rescale_texts:
            raise InvalidParameter("rescale", "is required with bands (min,max once, or once per band)")
        rescale = _rescale_check(tuple(_rescale_parse(t) for t in rescale_texts), len(indexes))
        carried.append(("bands", ",".join(b.strip() for b in bands.split(","))))
    else:
        preset_name = preset_name if preset_name is not None else sensor.default_preset
        display = _preset_lookup(sensor, preset_name)
        indexes = display.indexes
        rescale = display.rescale
        if rescale_texts:
            rescale = _rescale_check(tuple(_rescale_parse(t) for t in rescale_texts), len(indexes))
        carried.append(("preset", preset_name))
    carried.extend(("rescale", text) for text in _rescale_texts(rescale, len(rescale_texts)))

    if max(indexes) > band_count:
        raise InvalidParameter(
            "bands" if bands is not None else "preset",
            f"needs band {max(indexes)} but the scene has {band_count} band(s)",
        )
    tilesize = _tilesize_parse(tilesize_text)
    if tilesize != DEFAULT_TILE_SIZE:
        carried.append(("tilesize", str(tilesize)))
    return TileParams(
        display=Display(indexes=indexes, rescale=rescale), tilesize=tilesize, query=tuple(carried)
    )


def _single(query: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = query.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter(key, "given more than once")
    return values[0]


def _preset_lookup(sensor: SensorDisplay, preset_name: str) -> Display:
    if not preset_name:
        raise InvalidParameter("preset", f"sensor {sensor.name} has no default preset; give preset or bands")
    display = sensor.presets.get(preset_name)
    if display is None:
        known = ", ".join(sorted(sensor.presets)) or "none"
        raise InvalidParameter(
            "preset", f"{preset_name!r} is not a preset of sensor {sensor.name} (known: {known})"
        )
    if isinstance(display, str):
        raise SensorMisconfigured(display)
    return display


def _band_indexes(
    names: Sequence[str], band_index: Mapping[str, int], *, sensor_name: str
) -> tuple[int, ...]:
    names = [name.strip() for name in names]
    if len(names) not in BAND_COUNTS:
        raise InvalidParameter("bands", f"give 1 or 3 band names, not {len(names)}")
    unknown = [name for name in names if name not in band_index]
    if unknown:
        where = f" of sensor {sensor_name}" if sensor_name else ""
        raise InvalidParameter(
            "bands", f"{unknown[0]!r} is not a band{where} (known: {', '.join(band_index)})"
        )
    return tuple(band_index[name] for name in names)


def _rescale_parse(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidParameter("rescale", f"{text!r} is not 'min,max'")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidParameter("rescale", f"{text!r} is not two numbers 'min,max'") from None
    return (low, high)


def _rescale_check(
    pairs: tuple[tuple[float, float], ...], band_count: int
) -> tuple[tuple[float, float], ...]:
    if len(pairs) not in (1, band_count):
        raise InvalidParameter(
            "rescale", f"give min,max once or once per band ({band_count}), not {len(pairs)} times"
        )
    for low, high in pairs:
        if not (math.isfinite(low) and math.isfinite(high)):
            raise InvalidParameter("rescale", "min and max must be finite numbers")
        if low >= high:
            raise InvalidParameter("rescale", f"min {low:g} must be below max {high:g}")
    return pairs * band_count if len(pairs) == 1 else pairs


def _rescale_texts(rescale: tuple[tuple[float, float], ...], given: int) -> list[str]:
    """The normalised rescale values to carry: once when the request gave it once, else once per band."""
    if given == 0:
        return []
    pairs = rescale[:1] if given == 1 else rescale
    return [f"{_number(low)},{_number(high)}" for low, high in pairs]


def _tilesize_parse(text: str | None) -> int:
    if text is None:
        return DEFAULT_TILE_SIZE
    if text not in {str(size) for size in TILE_SIZES}:
        raise InvalidParameter("tilesize", f"{text!r} is not one of {', '.join(map(str, TILE_SIZES))}")
    return int(text)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
