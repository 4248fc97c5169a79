"""Which registered sensor a file comes from: band descriptions, STAC/tag platform, dtype and resolution."""

import re
from collections.abc import Iterable
from typing import Any

from eolabel.archive.errors import SensorError
from eolabel.archive.ingest.raster import RasterInfo
from eolabel.archive.models import Sensor

GENERIC_DESCRIPTION = re.compile(r"^(band|b)?[\s_-]*\d+$", re.IGNORECASE)


def _norm(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def descriptions_match(sensor: Sensor, descriptions: Iterable[str | None]) -> bool | None:
    """True when every band description names the sensor's band (name or common name) in order,
    False when they contradict it, None when the file says nothing useful."""
    descs = [d for d in descriptions]
    if not descs or any(not d or GENERIC_DESCRIPTION.match(d.strip()) for d in descs):
        return None
    for desc, band in zip(descs, sensor.bands, strict=False):
        if _norm(desc) not in {_norm(band["name"]), _norm(band.get("common_name"))}:
            return False
    return len(descs) == len(sensor.bands)


def _score(sensor: Sensor, info: RasterInfo, platform: str | None) -> int | None:
    """A recognition score, or None when the sensor is excluded."""
    if len(sensor.bands) != info.count:
        return None
    match: dict[str, Any] = sensor.match or {}
    score = 0
    by_description = descriptions_match(sensor, info.descriptions)
    if by_description is False:
        return None
    if by_description:
        score += 100
    if platform and _norm(platform) in {_norm(p) for p in match.get("platforms", [])}:
        score += 50
    dtypes = match.get("dtypes")
    if dtypes:
        score += 10 if info.dtype in dtypes else -20
    if info.metre_resolution is not None:
        low, high = match.get("min_res_m"), match.get("max_res_m")
        inside = (low is None or info.metre_resolution >= low) and (
            high is None or info.metre_resolution <= high
        )
        score += 10 if inside else -30
    return score


def sensor_recognise(info: RasterInfo, *, platform: str | None = None) -> Sensor:
    """The single best sensor for a file, or a SensorError saying why there is none."""
    scored = []
    for sensor in Sensor.objects.all():
        score = _score(sensor, info, platform)
        if score is not None:
            scored.append((score, sensor))
    if not scored:
        described = ", ".join(d or "?" for d in info.descriptions)
        raise SensorError(
            f"{info.path.name}: no registered sensor has {info.count} band(s) matching ({described}); "
            "name one with --sensor or register one with --new-sensor"
        )
    scored.sort(key=lambda pair: -pair[0])
    best = [sensor.name for score, sensor in scored if score == scored[0][0]]
    if len(best) > 1:
        raise SensorError(f"{info.path.name}: ambiguous sensor ({', '.join(best)}); name one with --sensor")
    return scored[0][1]


def sensor_check(sensor: Sensor, info: RasterInfo) -> None:
    if len(sensor.bands) != info.count:
        raise SensorError(
            f"{info.path.name}: {info.count} band(s) but sensor {sensor.name} has {len(sensor.bands)}"
        )
