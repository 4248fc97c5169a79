"""Local STAC Items: the data asset's file and the properties ingest uses. Assets must be local files
beside the item (no URL, no /vsi path, nothing outside the item's folder tree)."""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pystac

from eolabel.archive.errors import StacError


@dataclass(frozen=True)
class StacAsset:
    item_id: str
    path: Path
    platform: str | None
    acquired: datetime | None
    properties: dict[str, Any]
    wavelengths_nm: list[float | None]
    band_names: list[str]


def looks_like_stac_item(path: Path) -> bool:
    if path.suffix.lower() != ".json":
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            head = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and head.get("type") == "Feature" and "stac_version" in head


def stac_read(path: Path) -> StacAsset:
    try:
        with open(path, encoding="utf-8") as handle:
            item = pystac.Item.from_dict(json.load(handle), preserve_dict=False)
    except (OSError, ValueError, KeyError, TypeError, pystac.STACError) as exc:
        raise StacError(f"{path.name}: not a readable STAC Item ({exc})") from exc
    asset = _data_asset(path, item)
    local = _local_asset_path(path, asset.href)
    props = dict(item.properties)
    bands = asset.extra_fields.get("eo:bands") or props.get("eo:bands") or []
    return StacAsset(
        item_id=item.id,
        path=local,
        platform=props.get("platform") or props.get("constellation"),
        acquired=item.datetime or (item.common_metadata.start_datetime if item.common_metadata else None),
        properties={k: v for k, v in props.items() if isinstance(v, str | int | float | bool | list)},
        wavelengths_nm=[_wavelength(b) for b in bands],
        band_names=[str(b.get("name", "")) for b in bands],
    )


def _data_asset(path: Path, item: pystac.Item) -> pystac.Asset:
    tiffs = {
        key: asset
        for key, asset in item.assets.items()
        if (asset.media_type or "").startswith("image/tiff") or asset.href.lower().endswith((".tif", ".tiff"))
    }
    data = {key: asset for key, asset in tiffs.items() if "data" in (asset.roles or [])}
    chosen = data or tiffs
    if len(chosen) != 1:
        raise StacError(
            f"{path.name}: expected one GeoTIFF data asset, found {len(chosen)} ({', '.join(sorted(chosen)) or 'none'});"
            " stack per-band assets into one file first"
        )
    return next(iter(chosen.values()))


def _local_asset_path(item_path: Path, href: str) -> Path:
    parsed = urlparse(href)
    if parsed.scheme not in ("", "file") or href.startswith("/vsi") or parsed.netloc:
        raise StacError(f"{item_path.name}: asset href {href!r} is not a local relative path")
    relative = Path(parsed.path)
    if relative.is_absolute():
        raise StacError(
            f"{item_path.name}: asset href {href!r} is absolute; only paths beside the item are read"
        )
    base = item_path.resolve().parent
    if (base / relative).is_symlink():
        raise StacError(f"{item_path.name}: asset {relative} is a symbolic link; only regular files are read")
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise StacError(f"{item_path.name}: asset href {href!r} leaves the item's folder")
    if not target.is_file():
        raise StacError(f"{item_path.name}: asset file {relative} does not exist")
    return target


def _wavelength(band: dict[str, Any]) -> float | None:
    value = band.get("center_wavelength")
    return float(value) * 1000.0 if isinstance(value, int | float) else None
